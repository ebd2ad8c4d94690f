"""A fake X API v2 at `/_sandbox/x`: the mentions timeline, DM events and the OAuth 2.0 token endpoint.

It refuses what X refuses (a missing or expired Bearer token, an unknown query
parameter or field, `max_results` out of range, a spent refresh token), pages
newest first with opaque tokens, sends `x-rate-limit-*` headers and answers 429
once a window is spent. Shapes follow X's OpenAPI document (xdevplatform/xdk).
`/_sandbox/x/_control/...` is the sandbox's own: `threadline send x-mention
--mode polling` posts there, and tests set limits, force failures or revoke.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from infra.local.gateway import HttpRequest, HttpResponse, json_response
from infra.local.sandbox import SandboxContext, x_writes
from infra.local.sandbox.x_control import control
from infra.local.sandbox.x_requests import (
    DM_PARAMETERS,
    MENTIONS_PARAMETERS,
    Invalid,
    checked_query,
    listed,
    page_size,
)
from infra.local.sandbox.x_state import CLIENT_ID, DirectMessage, Post, RateWindow, XWorld

PROVIDER = "x"


def create(context: SandboxContext) -> XSandbox:
    return XSandbox(XWorld(context.clock))


class XSandbox:
    def __init__(self, world: XWorld) -> None:
        self.world = world

    def handle(self, request: HttpRequest, path: str) -> HttpResponse:
        if path.startswith("/_control/"):
            return control(self.world, request, path.removeprefix("/_control/"))
        if path == "/2/oauth2/token" and request.method == "POST":
            return self._token(request)
        parts = path.strip("/").split("/")
        if request.method == "GET" and len(parts) == 4 and parts[:2] == ["2", "users"] and parts[3] == "mentions":
            return self._read(request, "mentions", lambda query: self._mentions(parts[2], query))
        if request.method == "GET" and path == "/2/dm_events":
            return self._read(request, "dm_events", self._dm_events)
        dm = len(parts) == 5 and parts[:3] == ["2", "dm_conversations", "with"] and parts[4] == "messages"
        if request.method == "POST" and (dm or parts == ["2", "tweets"]):
            return self._write(request, parts)
        return _problem(404, "Not Found Error", "about:blank", "Sorry, that page does not exist")

    def outbox(self) -> list[dict[str, Any]]:
        return x_writes.outbox(self.world)

    def _write(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        bearer = (request.header("authorization") or "").removeprefix("Bearer ").strip()
        user_id = self.world.user_of(bearer) if bearer else None
        if user_id is None:
            return _problem(401, "Unauthorized", "about:blank", "Unauthorized")
        endpoint = "tweets" if parts == ["2", "tweets"] else "dm_conversations"
        status, window = self.world.admit(endpoint)
        if status != 200:
            title = "Too Many Requests" if status == 429 else "Service Unavailable"
            return _with_rate(_problem(status, title, "about:blank", title), window)
        return _with_rate(x_writes.write(self.world, request, parts, user_id), window)

    # --- the shared checks of a read ----------------------------------------------------------

    def _read(
        self, request: HttpRequest, endpoint: str, answer: Callable[[dict[str, str]], dict[str, Any]]
    ) -> HttpResponse:
        bearer = (request.header("authorization") or "").removeprefix("Bearer ").strip()
        if not bearer or self.world.user_of(bearer) is None:
            return _problem(401, "Unauthorized", "about:blank", "Unauthorized")
        status, window = self.world.admit(endpoint)
        if status != 200:
            title = "Too Many Requests" if status == 429 else "Service Unavailable"
            return _with_rate(_problem(status, title, "about:blank", title), window)
        parameters = DM_PARAMETERS if endpoint == "dm_events" else MENTIONS_PARAMETERS
        try:
            query = checked_query(request.raw_query, parameters)
            return _with_rate(json_response(200, answer(query)), window)
        except Invalid as error:
            invalid = {"errors": [{"message": str(error)}], "title": "Invalid Request"}
            body = {**invalid, "detail": "One or more parameters to your request was invalid."}
            body["type"] = "https://api.twitter.com/2/problems/invalid-request"
            return _with_rate(json_response(400, body), window)

    def _token(self, request: HttpRequest) -> HttpResponse:
        self.world.count("oauth2/token")
        expected = base64.b64encode(f"{CLIENT_ID}:{self.world.client_secret}".encode()).decode()
        if request.header("authorization") != f"Basic {expected}":
            return json_response(
                401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"}
            )
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        if (request.header("content-type") or "").split(";")[0] != "application/x-www-form-urlencoded":
            return json_response(400, {"error": "invalid_request", "error_description": "Missing required parameter"})
        if form.get("grant_type") != "refresh_token":
            return json_response(400, {"error": "unsupported_grant_type", "error_description": "grant_type"})
        granted = self.world.refresh(form.get("refresh_token", ""))
        if granted is None:
            return json_response(
                400, {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
            )
        access, refresh, expires_in = granted
        return json_response(
            200,
            {
                "token_type": "bearer",
                "expires_in": expires_in,
                "access_token": access,
                "scope": "tweet.read users.read dm.read offline.access",
                "refresh_token": refresh,
            },
        )

    # --- the two timelines --------------------------------------------------------------------

    def _mentions(self, user_id: str, query: dict[str, str]) -> dict[str, Any]:
        if not user_id.isdigit():
            raise Invalid(f"The `id` query parameter value [{user_id}] does not match ^[0-9]{{1,19}}$")
        size = page_size(query, 5, 100, default=10)
        since = int(query.get("since_id", "0"))
        with self.world.lock:
            posts = sorted(
                (p for p in self.world.posts if user_id in p.mentions and int(p.id) > since),
                key=lambda p: int(p.id),
                reverse=True,
            )
            page, next_token = _page(posts, query.get("pagination_token"), size, token_base=36)
            parents = [p for p in self.world.posts if p.id in {post.in_reply_to for post in page}]
            users = {p.author_id for p in [*page, *parents]} | {m for p in page for m in p.mentions}
            fields, expansions = listed(query, "tweet.fields"), listed(query, "expansions")
            body: dict[str, Any] = {"data": [self._post(p, fields) for p in page]} if page else {}
            includes: dict[str, Any] = {}
            if page and "author_id" in expansions:
                includes["users"] = self._users(users)
            if parents and "referenced_tweets.id" in expansions:
                includes["tweets"] = [self._post(p, fields) for p in parents]
            if includes:
                body["includes"] = includes
            meta: dict[str, Any] = {"result_count": len(page)}
            if page:
                meta |= {"newest_id": page[0].id, "oldest_id": page[-1].id}
            return {**body, "meta": meta | ({"next_token": next_token} if next_token else {})}

    def _dm_events(self, query: dict[str, str]) -> dict[str, Any]:
        size = page_size(query, 1, 100, default=100)
        with self.world.lock:
            events = sorted(self.world.dm_events, key=lambda event: int(event.id), reverse=True)
            page, next_token = _page(events, query.get("pagination_token"), size, token_base=32)
            fields = listed(query, "dm_event.fields")
            body: dict[str, Any] = {"data": [self._dm(event, fields) for event in page]} if page else {}
            if page and "sender_id" in listed(query, "expansions"):
                body["includes"] = {"users": self._users({event.sender_id for event in page})}
            meta: dict[str, Any] = {"result_count": len(page)}
            return {**body, "meta": meta | ({"next_token": next_token} if next_token else {})}

    def _post(self, post: Post, fields: set[str]) -> dict[str, Any]:
        """A post with X's default fields and the requested ones: a field not asked for is not sent."""
        mentions, offset = [], 0
        for user_id in post.mentions:  # X prefixes a reply with the @handles it answers
            handle = self.world.users[user_id][1]
            mentions.append({"start": offset, "end": offset + len(handle) + 1, "username": handle, "id": user_id})
            offset += len(handle) + 2
        optional = {
            "author_id": post.author_id,
            "created_at": _iso(post.created_ms, seconds_only=True),  # v2 states post times to the second
            "conversation_id": post.in_reply_to or post.id,
            "entities": {"mentions": mentions} if mentions else None,
            "in_reply_to_user_id": post.in_reply_to_user,
            "referenced_tweets": [{"type": "replied_to", "id": post.in_reply_to}] if post.in_reply_to else None,
        }
        text = " ".join([*(f"@{mention['username']}" for mention in mentions), post.text])
        return {
            "id": post.id,
            "edit_history_tweet_ids": [post.id],
            "text": text,
            **{name: value for name, value in optional.items() if name in fields and value is not None},
        }

    @staticmethod
    def _dm(event: DirectMessage, fields: set[str]) -> dict[str, Any]:
        optional = {
            "sender_id": event.sender_id,
            "dm_conversation_id": event.conversation_id,
            "created_at": _iso(event.created_ms, seconds_only=False),
        }
        return {
            "id": event.id,
            "event_type": "MessageCreate",
            "text": event.text,
            **{name: value for name, value in optional.items() if name in fields},
        }

    def _users(self, user_ids: set[str]) -> list[dict[str, str]]:
        return [
            {"id": user_id, "name": self.world.users[user_id][0], "username": self.world.users[user_id][1]}
            for user_id in sorted(user_ids)
            if user_id in self.world.users
        ]


def _page(items: Sequence[Any], token: str | None, size: int, *, token_base: int) -> tuple[list[Any], str | None]:
    """A page below the token's id (ids, not offsets: items added meanwhile never shift a page)."""
    below = _decode_token(token, token_base) if token else None
    remaining = [item for item in items if below is None or int(item.id) < below]
    page = remaining[:size]
    more = len(remaining) > size
    return page, _encode_token(int(page[-1].id), token_base) if more else None


def _encode_token(below: int, base: int) -> str:
    if base == 36:  # mentions: a base36 token (PaginationToken36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"
        text = ""
        while below:
            below, digit = divmod(below, 36)
            text = digits[digit] + text
        return text or "0"
    return base64.b32encode(below.to_bytes(10, "big")).decode()  # DM events: base32, 16 characters


def _decode_token(token: str, base: int) -> int:
    try:
        if base == 36:
            return int(token, 36)
        return int.from_bytes(base64.b32decode(token + "=" * (-len(token) % 8)), "big")
    except ValueError as error:
        raise Invalid(f"The `pagination_token` query parameter value [{token}] is not valid") from error


def _iso(millis: int, *, seconds_only: bool) -> str:
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    fraction = "000" if seconds_only else f"{millis % 1000:03d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z"


def _problem(status: int, title: str, kind: str, detail: str) -> HttpResponse:
    return json_response(status, {"title": title, "type": kind, "status": status, "detail": detail})


def _with_rate(response: HttpResponse, window: RateWindow) -> HttpResponse:
    response.headers.extend(
        [
            ("x-rate-limit-limit", str(window.limit)),
            ("x-rate-limit-remaining", str(window.remaining)),
            ("x-rate-limit-reset", str(int(window.reset_at.timestamp()))),
        ]
    )
    return response
