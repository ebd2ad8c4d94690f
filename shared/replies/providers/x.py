"""X API v2 on the support account's behalf: a DM, or a public reply to the customer's post.

- DM: `POST /2/dm_conversations/with/{participant_id}/messages` with `{"text"}`;
  X answers 201 `{"data": {"dm_conversation_id", "dm_event_id"}}`.
- Public reply: `POST /2/tweets` with `{"text", "reply": {"in_reply_to_tweet_id"}}`;
  X answers 201 `{"data": {"id", "text", "edit_history_tweet_ids"}}`.

Both take the OAuth 2.0 user token the X poller keeps fresh (`shared.polling.tokens`):
one token store, one refresh protocol, whichever function asks first. A 401
gets one more try with a refreshed token. X has no idempotency key, and no
field that would carry our id back: a send whose answer is lost stays
`outcome_unknown` (docs/decisions.md).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Protocol

from shared.model.contact import Contact, DeliveryError, IdentifierKind, Visibility
from shared.model.delivery import Refused, RetryLater
from shared.replies.couriers import ProviderRequest, json_answer


class UserTokens(Protocol):
    """The support account's OAuth 2.0 access token (`shared.polling.tokens.AccessTokens` behind it)."""

    def current(self, now: datetime) -> str: ...
    def after_unauthorized(self, rejected: str, now: datetime) -> str: ...


class XMessages:
    def __init__(self, base_url: str, tokens: UserTokens) -> None:
        self._base_url = base_url
        self._tokens = tokens
        self._token: str | None = None  # the token of the request in flight
        self._refreshed: str | None = None  # a token refreshed after a 401, for the one more try

    def request(self, contact: Contact, now: datetime) -> ProviderRequest:
        self._token, self._refreshed = self._refreshed or self._tokens.current(now), None
        if contact.content.visibility is Visibility.PUBLIC:
            url = f"{self._base_url}/2/tweets"
            body: dict[str, object] = {"text": contact.content.text}
            if contact.thread.in_reply_to:
                body["reply"] = {"in_reply_to_tweet_id": contact.thread.in_reply_to}
        else:
            user_id = next(i.value for i in contact.recipient.identifiers if i.kind is IdentifierKind.X)
            url = f"{self._base_url}/2/dm_conversations/with/{user_id}/messages"
            body = {"text": contact.content.text}
        return ProviderRequest(
            method="POST",
            url=url,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
            body=json.dumps(body).encode(),
        )

    @staticmethod
    def accepted_id(body: bytes) -> str | None:
        data = json_answer(body).get("data")
        if not isinstance(data, dict):
            return None
        found = data.get("dm_event_id") or data.get("id")
        return found if isinstance(found, str) else None

    @staticmethod
    def refusal(status: int, body: bytes, retry_after_s: int) -> Refused | RetryLater:
        answer = json_answer(body)
        errors = answer.get("errors")
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        detail = str(answer.get("detail") or first.get("message") or answer.get("title") or f"HTTP {status}")
        return Refused(DeliveryError(code=f"x_{status}", message=detail[:512]))

    def reauthorized(self, now: datetime) -> bool:
        if self._token is None:
            return False
        self._refreshed = self._tokens.after_unauthorized(self._token, now)
        return self._refreshed != self._token
