"""Provider sandboxes: fake provider APIs that `threadline serve` mounts under `/_sandbox/<provider>/`.

A sandbox is what the code under test calls instead of the provider (the X
poller's base URL points at `/_sandbox/x` locally): it checks requests the way
the provider does, answers in the provider's shapes and keeps state, so a
local run exercises the same code path as a deployed one.

Adding one is a module in this package, nothing else: the registry imports
every module here that defines

    PROVIDER = "twilio"                              # the path segment it is mounted at
    def create(clock: Clock) -> SandboxApp: ...       # its state lives in the app it returns

and routes `/_sandbox/<PROVIDER>/<rest>` to `app.handle(request, "/<rest>")`.
Pure: no sockets (the unit tests call `handle` directly).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from infra.local.gateway import HttpRequest, HttpResponse, error_response

PREFIX = "/_sandbox/"
Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


class SandboxApp(Protocol):
    def handle(self, request: HttpRequest, path: str) -> HttpResponse:
        """Answer a request; `path` is what follows the mount point, e.g. `/2/dm_events`."""
        ...


class Sandboxes:
    def __init__(self, apps: Mapping[str, SandboxApp]) -> None:
        self._apps = dict(apps)

    @classmethod
    def discover(cls, clock: Clock = wall_clock) -> Sandboxes:
        """Every sandbox module of this package, each with fresh state."""
        apps = {}
        for module_info in pkgutil.iter_modules(__path__):
            module = importlib.import_module(f"{__name__}.{module_info.name}")
            provider = getattr(module, "PROVIDER", None)
            if isinstance(provider, str):
                apps[provider] = module.create(clock)
        return cls(apps)

    @property
    def providers(self) -> list[str]:
        return sorted(self._apps)

    def app(self, provider: str) -> SandboxApp:
        return self._apps[provider]

    @staticmethod
    def mounts(path: str) -> bool:
        return path.startswith(PREFIX)

    def handle(self, request: HttpRequest) -> HttpResponse:
        provider, _, rest = request.path.removeprefix(PREFIX).partition("/")
        app = self._apps.get(provider)
        if app is None:
            return error_response(404, "not_found", f"no sandbox for {provider!r}; one of: {', '.join(self.providers)}")
        return app.handle(request, "/" + rest)
