"""Runs the topology's functions in this process, one invocation at a time, as Lambda would call them."""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from infra.local.gateway import ACCOUNT_ID, REGION
from infra.topology import FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]


class LocalLambdaContext:
    """The Lambda context attributes handlers and Powertools read."""

    function_version = "$LATEST"
    identity = None
    client_context = None

    def __init__(self, spec: FunctionSpec) -> None:
        self.function_name = spec.name
        self.memory_limit_in_mb = spec.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{spec.name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + spec.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _discard_unpublished_metrics() -> None:
    """With POWERTOOLS_METRICS_DISABLED, Powertools keeps metrics it does not print; drop them after each call."""
    from aws_lambda_powertools import Metrics

    Metrics().clear_metrics()


class FunctionInvoker:
    """Imports each handler module on first use, after the local environment is in place.

    Every function shares this process's Powertools logger, metrics and
    resolver state, which Lambda never runs concurrently; so invocations take
    turns, as if all functions shared one warm execution environment.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[str, Handler] = {}

    def _handler(self, spec: FunctionSpec) -> Handler:
        if spec.name not in self._handlers:
            module = importlib.import_module(spec.module)
            self._handlers[spec.name] = module.lambda_handler
        return self._handlers[spec.name]

    def invoke(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        with self._lock:
            handler = self._handler(spec)
            try:
                return handler(event, LocalLambdaContext(spec))
            finally:
                _discard_unpublished_metrics()
