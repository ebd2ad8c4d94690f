"""In-memory stand-ins for the X poller's ports, and the X sandbox as its API (no sockets).

The store and the vault keep the same conditions as their adapters
(`tests/component/test_x_polling_contract.py` runs one suite against both). X
itself is the local sandbox (`infra/local/sandbox/x.py`), reached through
`SandboxTransport`, so the poller's HTTP client, the sandbox and the poller
are tested together.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from infra.local.gateway import HttpRequest
from infra.local.sandbox import SandboxApp
from infra.local.sandbox.x import XSandbox
from infra.local.sandbox.x_state import XWorld
from shared.adapters.token_vault import successor_version
from shared.ingest.message import ContactMessage
from shared.model.failures import ConditionFailed
from shared.model.x_polling import OAuthTokens, PollingState, StoredTokens, Stream, StreamCursor

SANDBOX_URL = "http://127.0.0.1/_sandbox/x"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def x_sandbox(clock: Clock) -> XSandbox:
    return XSandbox(XWorld(clock))


class SandboxTransport:
    """`shared.adapters.https.Transport` answered by a sandbox in this process (X's unless told otherwise)."""

    def __init__(self, sandbox: SandboxApp, mount: str = "/_sandbox/x") -> None:
        self.sandbox = sandbox
        self.mount = mount

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        request = HttpRequest(method=method, target=target, headers=list(headers.items()), body=body or b"")
        response = self.sandbox.handle(request, parts.path.removeprefix(self.mount))
        return response.status, {name.lower(): value for name, value in response.headers}, response.body


@dataclass
class InMemoryPollingStore:
    cursors: dict[tuple[str, Stream], StreamCursor] = field(default_factory=dict)
    revoked: dict[str, str] = field(default_factory=dict)
    refresh_claims: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    budgets: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # requests, resources
    saves: int = 0  # successful cursor writes
    before_save: Callable[[StreamCursor], None] | None = None  # a test's crash or pause, just before a write
    lock: threading.Lock = field(default_factory=threading.Lock)

    def state(self, account_id: str, streams: Iterable[Stream]) -> PollingState:
        with self.lock:
            found = {s: self.cursors[(account_id, s)] for s in streams if (account_id, s) in self.cursors}
            return PollingState(cursors=found, revoked_token_version=self.revoked.get(account_id))

    def save_cursor(self, account_id: str, cursor: StreamCursor) -> StreamCursor:
        if self.before_save is not None:
            self.before_save(cursor)
        with self.lock:
            current = self.cursors.get((account_id, cursor.stream))
            if (current.version if current else 0) != cursor.version:
                raise ConditionFailed(f"the {cursor.stream.value} cursor moved since it was read")
            saved = replace(cursor, version=cursor.version + 1)
            self.cursors[(account_id, cursor.stream)] = saved
            self.saves += 1
            return saved

    def take_request(self, account_id: str, month: str, *, request_cap: int, resource_cap: int, now: datetime) -> bool:
        with self.lock:
            counters = self.budgets.setdefault((account_id, month), [0, 0])
            if counters[0] >= request_cap or counters[1] >= resource_cap:
                return False
            counters[0] += 1
            return True

    def add_resources(self, account_id: str, month: str, count: int) -> None:
        with self.lock:
            self.budgets.setdefault((account_id, month), [0, 0])[1] += count

    def budget(self, account_id: str, month: str) -> tuple[int, int]:
        requests, resources = self.budgets.get((account_id, month), [0, 0])
        return requests, resources

    def claim_refresh(self, account_id: str, token_version: str, until: datetime, *, now: datetime) -> bool:
        with self.lock:
            held = self.refresh_claims.get(account_id)
            if held is not None and held[0] == token_version and now <= held[1]:
                return False
            self.refresh_claims[account_id] = (token_version, until)
            return True

    def mark_revoked(self, account_id: str, token_version: str, now: datetime) -> None:
        with self.lock:
            self.revoked[account_id] = token_version

    def cursor(self, account_id: str, stream: Stream) -> StreamCursor:
        return self.cursors.get((account_id, stream), StreamCursor(stream))


@dataclass
class InMemoryTokenVault:
    """Versions as Secrets Manager keeps them: each replacement's id derives from the version it replaces."""

    versions: list[StoredTokens] = field(default_factory=list)
    after_read: Callable[[], None] | None = None  # a test's pause, to make two refreshers read the same version
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def holding(cls, value: str) -> InMemoryTokenVault:
        return cls([StoredTokens(OAuthTokens.parse(value), str(uuid.uuid4()))])

    def read(self) -> StoredTokens:
        with self.lock:
            current = self.versions[-1]
        if self.after_read is not None:
            self.after_read()
        return current

    def replace(self, previous: StoredTokens, tokens: OAuthTokens) -> StoredTokens:
        version = successor_version(previous.version)
        with self.lock:
            existing = next((stored for stored in self.versions if stored.version == version), None)
            if existing is not None and existing.tokens != tokens:
                raise ConditionFailed("another refresher replaced the tokens first")
            stored = StoredTokens(tokens, version)
            if existing is None:
                self.versions.append(stored)
            return stored

    def put(self, value: str) -> StoredTokens:
        """An operator's put-secret-value: a new version, whatever the current one is."""
        with self.lock:
            self.versions.append(StoredTokens(OAuthTokens.parse(value), str(uuid.uuid4())))
            return self.versions[-1]


@dataclass
class RecordingQueue:
    """The ingest queue: durable once `send` returns; `before_send` lets a test hold or fail a run there."""

    messages: list[ContactMessage] = field(default_factory=list)
    before_send: Callable[[], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, messages: Sequence[ContactMessage]) -> None:
        if self.before_send is not None:
            self.before_send()
        with self.lock:
            self.messages.extend(messages)

    @property
    def provider_ids(self) -> list[str]:
        return [message.contact.provider_message_id for message in self.messages]
