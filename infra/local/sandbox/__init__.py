"""Provider sandboxes: fake provider APIs that `threadline serve` mounts under `/_sandbox/<provider>/`.

A sandbox is what the code under test calls instead of the provider (the X
poller's base URL points at `/_sandbox/x` locally): it checks requests the way
the provider does, answers in the provider's shapes and keeps state, so a
local run exercises the same code path as a deployed one.

Adding one is a module in this package, nothing else: the registry imports
every module here that defines

    PROVIDER = "twilio"                                     # the path segment it is mounted at
    def create(context: SandboxContext) -> SandboxApp: ...  # its state lives in the app it returns

and routes `/_sandbox/<PROVIDER>/<rest>` to `app.handle(request, "/<rest>")`.
A provider that calls webhooks back (Twilio's status callbacks, Meta's
statuses) hands them, signed as the provider signs them, to `context.webhooks`,
which posts them a moment later from another thread, as the provider would.
Pure: no sockets (the unit tests call `handle` directly and read the webhooks).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from infra import topology
from infra.local.gateway import HttpRequest, HttpResponse, error_response, json_response

PREFIX = "/_sandbox/"
Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


class Webhooks(Protocol):
    def post(self, url: str, headers: list[tuple[str, str]], body: bytes, *, after_s: float) -> None:
        """Deliver a provider's callback `after_s` seconds from now (never on the caller's thread)."""
        ...


@dataclass
class RecordedWebhooks:
    """Keeps the callbacks instead of posting them: the unit tests read them, `discover()` drops them."""

    posted: list[tuple[str, list[tuple[str, str]], bytes]] = field(default_factory=list)

    def post(self, url: str, headers: list[tuple[str, str]], body: bytes, *, after_s: float) -> None:
        self.posted.append((url, headers, body))


@dataclass(frozen=True)
class SandboxContext:
    clock: Clock = wall_clock
    webhooks: Webhooks = field(default_factory=RecordedWebhooks)  # a path without a host is the stack's own
    secret: Callable[[str], str] = topology.local_secret  # a provider secret, as the local stack holds it


@dataclass
class SentMessages:
    """What a sandbox took, in order, for `threadline outbox` (thread-safe: callers answer on many threads)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, *, at: datetime, to: str, message_id: str, kind: str, text: str, status: str) -> None:
        entry = {"at": at.isoformat(), "to": to, "id": message_id, "kind": kind, "text": text, "status": status}
        with self.lock:
            self.items.append(entry)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(item) for item in self.items]


ControlAction = Callable[[dict[str, Any]], None]


def controlled(
    request: HttpRequest, action: str, actions: Mapping[str, ControlAction], state: Callable[[], dict[str, Any]]
) -> HttpResponse:
    """A sandbox's own endpoints (`_control/<action>`): `GET state`, or a POSTed JSON object for an action."""
    if request.method == "GET" and action == "state":
        return json_response(200, state())
    if action not in actions:
        return error_response(404, "not_found", f"no control action {action!r}; one of: {', '.join(actions)}")
    try:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise TypeError("the body is not a JSON object")
        actions[action](body)
    except (ValueError, TypeError, KeyError) as error:
        return error_response(400, "bad_request", f"{action}: {error}")
    return json_response(200, {"done": action})


class SandboxApp(Protocol):
    def handle(self, request: HttpRequest, path: str) -> HttpResponse:
        """Answer a request; `path` is what follows the mount point, e.g. `/2/dm_events`."""
        ...

    def outbox(self) -> list[dict[str, Any]]:
        """What was sent through this provider, oldest first (`threadline outbox`)."""
        ...


class Sandboxes:
    def __init__(self, apps: Mapping[str, SandboxApp]) -> None:
        self._apps = dict(apps)

    @classmethod
    def discover(cls, context: SandboxContext | None = None) -> Sandboxes:
        """Every sandbox module of this package, each with fresh state."""
        apps = {}
        for module_info in pkgutil.iter_modules(__path__):
            module = importlib.import_module(f"{__name__}.{module_info.name}")
            provider = getattr(module, "PROVIDER", None)
            if isinstance(provider, str):
                apps[provider] = module.create(context or SandboxContext())
        return cls(apps)

    @property
    def providers(self) -> list[str]:
        return sorted(self._apps)

    def app(self, provider: str) -> SandboxApp:
        return self._apps[provider]

    def outbox(self) -> list[dict[str, Any]]:
        """Every message sent through a sandbox, each with its `provider`, oldest first."""
        sent = [{"provider": name, **message} for name, app in self._apps.items() for message in app.outbox()]
        return sorted(sent, key=lambda message: str(message.get("at", "")))

    @staticmethod
    def mounts(path: str) -> bool:
        return path.startswith(PREFIX)

    def handle(self, request: HttpRequest) -> HttpResponse:
        provider, _, rest = request.path.removeprefix(PREFIX).partition("/")
        app = self._apps.get(provider)
        if app is None:
            return error_response(404, "not_found", f"no sandbox for {provider!r}; one of: {', '.join(self.providers)}")
        return app.handle(request, "/" + rest)
