"""`LocalStack`: `threadline serve` in a subprocess, and what a test needs to talk to it."""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra import topology
from infra.local.client import HttpResult, StackClient, StackUnavailable
from infra.local.moto_backend import client as moto_client
from infra.local.samples import SampleOptions, SignedRequest, samples

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60
RUNNING: list[LocalStack] = []  # read by conftest to print their logs when a test fails
_numbers = itertools.count(random.randrange(1_000_000))  # noqa: S311


def unique_phone() -> str:
    """A valid US number no other test of this session uses."""
    return f"+1415{2_000_000 + next(_numbers) % 8_000_000:07d}"


def unique_sid() -> str:
    return "SM" + uuid.uuid4().hex


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stack_environment(port: int, events_file: Path, overrides: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without anything that would change the stack's behaviour, plus overrides."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("THREADLINE_", "POWERTOOLS_", "AWS_"))
        and name not in topology.secrets()
        and not name.endswith("_SECRET_ARN")
    }
    return {
        **inherited,
        "PYTHONUNBUFFERED": "1",
        "THREADLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "THREADLINE_EVENTS_FILE": str(events_file),
        **overrides,
    }


class LocalStack:
    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = StackClient(self.url, api_key=topology.API_KEY.local_default)
        self._overrides = dict(overrides or {})
        self.events_file = Path(tempfile.gettempdir()) / f"threadline-events-{self.port}.jsonl"
        self._log = tempfile.NamedTemporaryFile(prefix="threadline-stack-", suffix=".log", delete=False)  # noqa: SIM115
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> LocalStack:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "infra.local.cli", "serve", "--port", str(self.port), "--log-level", "INFO"],
            cwd=REPO,
            env=_stack_environment(self.port, self.events_file, self._overrides),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        RUNNING.append(self)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"the stack exited with {self._process.returncode}:\n{self.log_text()}")
            try:
                self.client.status()
                return self
            except StackUnavailable:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the stack did not start in {STARTUP_TIMEOUT_S} s:\n{self.log_text()}"
                    ) from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()  # `serve` shuts down cleanly on SIGTERM
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self in RUNNING:
            RUNNING.remove(self)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)
        self.events_file.unlink(missing_ok=True)

    def log_text(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")

    # --- talking to it -------------------------------------------------------------------

    def sample(self, name: str, **options: Any) -> SignedRequest:
        """A request signed for this stack's public URL."""
        return samples()[name](SampleOptions(public_url=self.url, **options))

    def send(self, signed: SignedRequest) -> HttpResult:
        return self.client.send(signed)

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> HttpResult:
        return self.client.request("POST", path, body=body, headers=headers)

    def api_get(self, path: str, **query: Any) -> HttpResult:
        return self.client.api_get(path, **query)

    def inject(self, source_value: str, payload: Any) -> HttpResult:
        return self.client.inject(source_value, payload)

    def status(self) -> dict[str, Any]:
        return self.client.status()

    def wait_idle(self, timeout: float = 30) -> dict[str, Any]:
        return self.client.wait_idle(timeout)

    def boto3(self, service: str) -> Any:
        """A client of the stack's embedded AWS (moto), e.g. to put a message straight on the queue."""
        return moto_client(service, self.status()["moto_endpoint"])

    # --- what tests ask most -------------------------------------------------------------

    def customer_of(self, phone: str) -> dict[str, Any] | None:
        result = self.api_get("/v1/customers", identifier=f"phone:{phone}")
        assert result.status == 200, result.text
        items: list[dict[str, Any]] = result.json()["items"]
        return items[0] if items else None

    def all_items(self, path: str, key: str | None = None, **query: Any) -> list[dict[str, Any]]:
        """Every item of a paginated list, following next_cursor."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            result = self.api_get(path, cursor=cursor, **query)
            assert result.status == 200, result.text
            page = result.json()[key] if key else result.json()
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items
