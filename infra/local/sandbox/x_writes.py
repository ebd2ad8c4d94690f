"""What the X sandbox accepts as writes on the support account's behalf: a DM and a post (a reply).

`POST /2/dm_conversations/with/{participant_id}/messages` with `{"text"}` answers
201 `{"data": {"dm_conversation_id", "dm_event_id"}}`; `POST /2/tweets` with
`{"text", "reply": {"in_reply_to_tweet_id"}}` answers 201 `{"data": {"id", "text",
"edit_history_tweet_ids"}}` (X's OpenAPI document). X refuses a body that is not
JSON, a missing or empty text, a post over 280 characters and a reply to a post
it does not know, each with a problem body.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from infra.local.gateway import HttpRequest, HttpResponse, json_response
from infra.local.sandbox.x_state import ACCOUNT_ID, XWorld

MAX_POST = 280


def write(world: XWorld, request: HttpRequest, parts: list[str], user_id: str) -> HttpResponse:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return _invalid("Request body is not valid JSON")
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text:
        return _invalid("$.text: is missing but it is required")
    if parts == ["2", "tweets"]:
        return _post(world, body, text, user_id)
    participant = parts[3]
    if not participant.isdigit() or participant == user_id:
        return _invalid(f"The `participant_id` path parameter value [{participant}] is not valid")
    message = world.add_dm(user_id, participant, text)
    return json_response(201, {"data": {"dm_conversation_id": message.conversation_id, "dm_event_id": message.id}})


def _post(world: XWorld, body: dict[str, Any], text: str, user_id: str) -> HttpResponse:
    if len(text) > MAX_POST:
        return _forbidden("Your Tweet text is too long.")
    reply = body.get("reply")
    in_reply_to = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
    if in_reply_to is not None and not any(post.id == in_reply_to for post in world.posts):
        return _forbidden("You attempted to reply to a Tweet that is deleted or not visible to you.")
    post = world.add_post(user_id, text, in_reply_to=in_reply_to)
    return json_response(201, {"data": {"id": post.id, "text": text, "edit_history_tweet_ids": [post.id]}})


def outbox(world: XWorld) -> list[dict[str, Any]]:
    """The support account's own DMs and posts: what our replies sent."""
    with world.lock:
        dms = [
            {"at": _iso(m.created_ms), "to": m.recipient_id, "id": m.id, "kind": "dm", "text": m.text}
            for m in world.dm_events
            if m.sender_id == ACCOUNT_ID
        ]
        posts = [
            {"at": _iso(p.created_ms), "to": p.in_reply_to_user, "id": p.id, "kind": "post", "text": p.text}
            for p in world.posts
            if p.author_id == ACCOUNT_ID
        ]
    return [{**message, "status": "sent"} for message in dms + posts]


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, tz=UTC).isoformat()


def _invalid(detail: str) -> HttpResponse:
    body = {"errors": [{"message": detail}], "title": "Invalid Request", "detail": detail}
    return json_response(400, {**body, "type": "https://api.twitter.com/2/problems/invalid-request"})


def _forbidden(detail: str) -> HttpResponse:
    return json_response(403, {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": detail})
