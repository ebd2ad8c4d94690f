"""What the X sandbox remembers: accounts, posts, DM events, OAuth grants and rate-limit windows.

Thread-safe (the local server answers on many threads while the poller runs).
Tokens behave as X's do (docs.x.com, OAuth 2.0 Authorization Code Flow with
PKCE): an access token lasts `access_lifetime`, every refresh rotates the
refresh token and the spent one is refused ("Value passed for the token was
invalid."). Rate limits are 15-minute windows per endpoint and user, as X's
`x-rate-limit-*` headers describe them.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from infra import topology
from infra.local.sandbox import Clock
from shared.channels.x_contacts import SNOWFLAKE_EPOCH_MS

ACCOUNT_ID = "1478523690147852369"  # the support account the local stack polls (THREADLINE_X_USER_ID's default)
ACCOUNT = ("Example Shop Support", "ExampleShopHelp")
CUSTOMER_ID = "2244994945"
CUSTOMER = ("Ann Lee", "annlee")
CLIENT_ID = "dev-x-client-id"
WINDOW = timedelta(minutes=15)
DEFAULT_LIMITS = {"mentions": 300, "dm_events": 300}  # per user and 15 minutes (docs.x.com, rate limits)


@dataclass(frozen=True)
class Post:
    id: str
    author_id: str
    text: str
    created_ms: int
    mentions: tuple[str, ...] = ()
    in_reply_to: str | None = None  # the post it replies to
    in_reply_to_user: str | None = None


@dataclass(frozen=True)
class DirectMessage:
    id: str
    sender_id: str
    recipient_id: str
    text: str
    created_ms: int

    @property
    def conversation_id(self) -> str:
        first, second = sorted((self.sender_id, self.recipient_id), key=int)
        return f"{first}-{second}"


@dataclass
class RateWindow:
    limit: int
    remaining: int
    reset_at: datetime


@dataclass
class _Failures:
    status: int = 0
    count: int = 0


@dataclass
class XWorld:
    clock: Clock
    client_secret: str = topology.X_OAUTH2_CLIENT_SECRET.local_default
    access_lifetime: timedelta = timedelta(hours=2)
    users: dict[str, tuple[str, str]] = field(default_factory=lambda: {ACCOUNT_ID: ACCOUNT, CUSTOMER_ID: CUSTOMER})
    posts: list[Post] = field(default_factory=list)
    dm_events: list[DirectMessage] = field(default_factory=list)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # unspent refresh token → user id
    access_tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # token → user id, expiry
    limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    windows: dict[str, RateWindow] = field(default_factory=dict)
    failures: dict[str, _Failures] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)  # answered requests by endpoint, 429s included
    lock: threading.RLock = field(default_factory=threading.RLock)
    _sequence: int = 0

    def __post_init__(self) -> None:
        # The grant `threadline serve` starts with: the local default of X_OAUTH2_TOKENS.
        self.refresh_tokens[topology.X_OAUTH2_TOKENS.local_default] = ACCOUNT_ID

    # --- content ------------------------------------------------------------------------

    def new_id(self) -> tuple[str, int]:
        """A snowflake id for now, and its millisecond: ids sort by time, as X's do."""
        with self.lock:
            now_ms = int(self.clock().timestamp() * 1000)
            self._sequence = (self._sequence + 1) % (1 << 22)
            return str(((now_ms - SNOWFLAKE_EPOCH_MS) << 22) | self._sequence), now_ms

    def add_post(
        self, author_id: str, text: str, *, post_id: str | None = None, in_reply_to: str | None = None
    ) -> Post:
        with self.lock:
            new_id, created_ms = self.new_id()
            parent = next((post for post in self.posts if post.id == in_reply_to), None)
            # A post to us mentions us; a reply mentions the author it answers (as X prefixes "@handle").
            mentioned = {ACCOUNT_ID, *([parent.author_id] if parent else [])} - {author_id}
            post = Post(
                id=post_id or new_id,
                author_id=author_id,
                text=text,
                created_ms=created_ms,
                mentions=tuple(sorted(mentioned)),
                in_reply_to=parent.id if parent else None,
                in_reply_to_user=parent.author_id if parent else None,
            )
            self.posts.append(post)
            self.users.setdefault(author_id, (f"User {author_id}", f"user{author_id}"))
            return post

    def add_dm(self, sender_id: str, recipient_id: str, text: str, *, event_id: str | None = None) -> DirectMessage:
        with self.lock:
            new_id, created_ms = self.new_id()
            message = DirectMessage(event_id or new_id, sender_id, recipient_id, text, created_ms)
            self.dm_events.append(message)
            for user_id in (sender_id, recipient_id):
                self.users.setdefault(user_id, (f"User {user_id}", f"user{user_id}"))
            return message

    # --- OAuth 2.0 ----------------------------------------------------------------------

    def grant(self, refresh_token: str, expires_in: int | None = None) -> None:
        """Accept `refresh_token` as a fresh grant of the account (an operator re-authorized the app)."""
        with self.lock:
            self.refresh_tokens[refresh_token] = ACCOUNT_ID
            if expires_in is not None:
                self.access_lifetime = timedelta(seconds=expires_in)

    def refresh(self, refresh_token: str) -> tuple[str, str, int] | None:
        """(access token, new refresh token, expires_in) for an unspent refresh token, else None."""
        with self.lock:
            user_id = self.refresh_tokens.pop(refresh_token, None)
            if user_id is None:
                return None
            access, rotated = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
            self.access_tokens[access] = (user_id, self.clock() + self.access_lifetime)
            self.refresh_tokens[rotated] = user_id
            return access, rotated, int(self.access_lifetime.total_seconds())

    def user_of(self, access_token: str) -> str | None:
        with self.lock:
            user_id, expires_at = self.access_tokens.get(access_token, (None, self.clock()))
            return user_id if user_id is not None and self.clock() < expires_at else None

    def revoke(self) -> None:
        """The account withdrew the app's access: every token stops working."""
        with self.lock:
            self.refresh_tokens.clear()
            self.access_tokens.clear()

    # --- rate limits --------------------------------------------------------------------

    def count(self, endpoint: str) -> None:
        with self.lock:
            self.requests[endpoint] = self.requests.get(endpoint, 0) + 1

    def fail_next(self, endpoint: str, status: int, count: int = 1) -> None:
        with self.lock:
            self.failures[endpoint] = _Failures(status, count)

    def set_limit(self, endpoint: str, limit: int) -> None:
        with self.lock:
            self.limits[endpoint] = limit
            self.windows.pop(endpoint, None)

    def admit(self, endpoint: str) -> tuple[int, RateWindow]:
        """Count a request: (status to answer, the window after it). 429 once the window is spent."""
        with self.lock:
            now = self.clock()
            window = self.windows.get(endpoint)
            if window is None or now >= window.reset_at:
                limit = self.limits.get(endpoint, 300)
                window = self.windows[endpoint] = RateWindow(limit, limit, now + WINDOW)
            self.count(endpoint)
            forced = self.failures.get(endpoint)
            if forced and forced.count > 0:
                forced.count -= 1
                return forced.status, window
            if window.remaining <= 0:
                return 429, window
            window.remaining -= 1
            return 200, window
