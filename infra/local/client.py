"""A small HTTP client for a running stack (local or deployed): the CLI and the integration tests use it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from infra.local.samples import SignedRequest

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class StackUnavailable(RuntimeError):
    """The URL does not answer, or it is not a local stack (no /_local/status)."""


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class StackClient:
    def __init__(self, base_url: str, *, api_key: str | None = None, timeout_s: float = 15) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout_s = timeout_s
        # A proxy from the environment must not intercept calls to this machine.
        handlers = [urllib.request.ProxyHandler({})] if urlsplit(self.base_url).hostname in LOOPBACK_HOSTS else []
        self._opener = urllib.request.build_opener(*handlers)

    def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None, query: str = ""
    ) -> HttpResult:
        url = self.base_url + path + (f"?{query}" if query else "")
        request = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})  # noqa: S310
        try:
            with self._opener.open(request, timeout=self._timeout_s) as response:
                return HttpResult(response.status, _lower(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return HttpResult(error.code, _lower(error.headers.items()), error.read())

    def send(self, signed: SignedRequest) -> HttpResult:
        return self.request(signed.method, signed.path, body=signed.body, headers=signed.headers, query=signed.query)

    def post_json(self, path: str, payload: Any) -> HttpResult:
        body = json.dumps(payload).encode()
        return self.request("POST", path, body=body, headers={"Content-Type": "application/json"})

    def api_headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key} if self._api_key is not None else {}

    def api_get(self, path: str, **query: Any) -> HttpResult:
        headers = self.api_headers()
        pairs = {name: value for name, value in query.items() if value is not None}
        return self.request("GET", path, headers=headers, query=urlencode(pairs))

    def inject(self, source_value: str, payload: Any) -> HttpResult:
        return self.post_json(f"/_local/inject/{source_value}", payload)

    def status(self) -> dict[str, Any]:
        try:
            result = self.request("GET", "/_local/status")
        except OSError as error:
            raise StackUnavailable(f"{self.base_url} does not answer ({error})") from error
        if result.status != 200:
            raise StackUnavailable(f"{self.base_url} is not a local stack (/_local/status answered {result.status})")
        status: dict[str, Any] = result.json()
        return status

    def wait_idle(self, timeout_s: float = 30) -> dict[str, Any]:
        """Until nothing is queued, in flight or being processed; waiting, never a timed assertion."""
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.status()
            if status["idle"]:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"stack not idle after {timeout_s} s: {status['queue']}")
            time.sleep(0.05)


def _lower(items: Any) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in items}
