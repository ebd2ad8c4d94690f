"""Powertools Logger, Metrics and X-Ray tracing shared by every entry point.

Service name, log level and namespace come from the POWERTOOLS_* variables the
stack sets per function. Logs carry ids and counts, never message content,
phone numbers or addresses.

Tracing is Powertools' Tracer, made only where tracing is on. `Tracer()` loads
the X-Ray SDK, and with it botocore, even when tracing is disabled: a third of
a webhook's cold start (docs/benchmarks.md). Whether it is on is Powertools'
own rule (POWERTOOLS_TRACE_DISABLED, or not running on Lambda), decided once,
when the first handler is decorated; off, the decorators hand the function back
as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast, overload

from aws_lambda_powertools import Logger, Metrics, Tracer

Traced = TypeVar("Traced", bound=Callable[..., Any])

logger = Logger()
metrics = Metrics(namespace="Threadline")


class Tracing:
    """`capture_lambda_handler` and `capture_method` of a Tracer that exists only when tracing is on."""

    @functools.cached_property
    def tracer(self) -> Tracer | None:
        # Powertools' own test, so "on" means here exactly what it means to Tracer().
        return None if Tracer._is_tracer_disabled() else Tracer()

    def capture_lambda_handler(self, handler: Traced) -> Traced:
        """A `## <handler>` subsegment per invocation, with the cold start and the service as annotations."""
        if self.tracer is None:
            return handler
        return cast(Traced, self.tracer.capture_lambda_handler(handler))

    @overload
    def capture_method(self, method: Traced) -> Traced: ...

    @overload
    def capture_method(
        self, method: None = None, *, capture_error: bool | None = None
    ) -> Callable[[Traced], Traced]: ...

    def capture_method(
        self, method: Traced | None = None, *, capture_error: bool | None = None
    ) -> Traced | Callable[[Traced], Traced]:
        """A `## <module>.<name>` subsegment per call; `capture_error=False` keeps the error out of the trace
        (None: POWERTOOLS_TRACER_CAPTURE_ERROR decides, as in Powertools)."""

        def decorate(function: Traced) -> Traced:
            if self.tracer is None:
                return function
            return self.tracer.capture_method(capture_error=capture_error)(function)

        return decorate if method is None else decorate(method)


tracer = Tracing()
