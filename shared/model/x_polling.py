"""What the X poller, its store, its token vault and the X API adapter exchange (no I/O).

A cursor is where one stream (mentions, DM events) stands: the newest item read
and queued, and the walk in progress towards it. Tokens are the OAuth 2.0 user
context grant, as the vault stores it. docs/channels/x.md explains both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Stream(StrEnum):
    MENTIONS = "mentions"
    DM_EVENTS = "dm_events"


@dataclass(frozen=True)
class RateWindow:
    """What X's `x-rate-limit-*` headers said; None where a header was missing."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


@dataclass(frozen=True)
class StreamCursor:
    stream: Stream
    since_id: str | None = None  # newest item read and queued; every walk stops there
    walk_top: str | None = None  # newest item of the walk in progress: the next since_id once it ends
    walk_token: str | None = None  # the page the walk in progress resumes at
    version: int = 0  # the write it came from; every write is conditional on it
    caught_up_at: datetime | None = None  # the last time a walk reached since_id
    blocked_until: datetime | None = None  # no request before (rate limit reset, back-off)
    backoff_s: int = 0  # the current back-off after 429s and outages, doubled each time

    def blocked(self, now: datetime) -> bool:
        return self.blocked_until is not None and now < self.blocked_until

    @property
    def walking(self) -> bool:
        return self.walk_token is not None


@dataclass(frozen=True)
class PollingState:
    """Everything a run reads first, in one round trip."""

    cursors: dict[Stream, StreamCursor] = field(default_factory=dict)
    revoked_token_version: str | None = None  # the vault version X refused; polling waits for a new one

    def cursor(self, stream: Stream) -> StreamCursor:
        return self.cursors.get(stream, StreamCursor(stream))


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: bytes
    rate: RateWindow = RateWindow()


@dataclass(frozen=True)
class TokenGrant:
    """What `POST /2/oauth2/token` answered: X rotates the refresh token with every grant."""

    access_token: str
    expires_in_s: int
    refresh_token: str | None


@dataclass(frozen=True)
class OAuthTokens:
    refresh_token: str
    access_token: str | None = None
    expires_at: datetime | None = None

    def usable(self, now: datetime, margin: timedelta) -> bool:
        return self.access_token is not None and self.expires_at is not None and now + margin < self.expires_at

    def after(self, grant: TokenGrant, now: datetime) -> OAuthTokens:
        return OAuthTokens(
            refresh_token=grant.refresh_token or self.refresh_token,
            access_token=grant.access_token,
            expires_at=now + timedelta(seconds=grant.expires_in_s),
        )

    def serialize(self) -> str:
        expires_at = self.expires_at.astimezone(UTC).isoformat() if self.expires_at else None
        return json.dumps(
            {"refresh_token": self.refresh_token, "access_token": self.access_token, "expires_at": expires_at}
        )

    @classmethod
    def parse(cls, value: str) -> OAuthTokens:
        """Our JSON, or a bare refresh token: how an operator stores the first one (docs/channels/x.md)."""
        text = value.strip()
        if not text.startswith("{"):
            return cls(refresh_token=text)
        stored = json.loads(text)
        expires_at = stored.get("expires_at")
        return cls(
            refresh_token=str(stored["refresh_token"]),
            access_token=stored.get("access_token"),
            expires_at=datetime.fromisoformat(expires_at) if expires_at else None,
        )


@dataclass(frozen=True)
class StoredTokens:
    tokens: OAuthTokens
    version: str  # the vault's version id: a replacement is conditional on it
