"""One HTTP exchange with a provider's REST API (X, Twilio, Meta Graph), over urllib.

Base URLs are configuration: the provider's own when deployed, the local
sandbox (`/_sandbox/<provider>`) under `threadline serve`. A connection that
never opened is `ProviderUnreachable` (nothing was sent); a request that went
out without an answer is `ProviderNoAnswer` (the provider may have acted on it),
because a sender must tell the two apart to never send a message twice.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Protocol

from shared.model.failures import ProviderNoAnswer, ProviderUnreachable

TIMEOUT_S = 10
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a page of 100 posts with every expansion is well under 1 MB


class Transport(Protocol):
    """One HTTP exchange: (status, lower-cased headers, body). The tests plug a sandbox in here."""

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]: ...


def require_https(base_url: str, provider: str) -> str:
    """A provider base URL: https, or plain http to this machine only (the local sandbox)."""
    if not base_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ValueError(f"the {provider} API base URL must be https (plain http only for the local sandbox)")
    return base_url.rstrip("/")


class UrllibTransport:
    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self._timeout_s = timeout_s
        # The configured base URL is the only destination; an environment proxy is still honoured.
        self._opener = urllib.request.build_opener()

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))  # noqa: S310
        try:
            with self._opener.open(request, timeout=self._timeout_s) as response:
                return response.status, _lower(response.headers.items()), response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, _lower(error.headers.items()), error.read(MAX_ANSWER_BYTES)
        except urllib.error.URLError as error:
            if isinstance(error.reason, ConnectionRefusedError | socket.gaierror):
                raise ProviderUnreachable("the provider cannot be reached") from error
            raise ProviderNoAnswer("the provider did not answer") from error
        except (TimeoutError, OSError) as error:
            raise ProviderNoAnswer("the provider did not answer") from error


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}
