"""The X sandbox's own endpoints (`/_sandbox/x/_control/...`): what X's users and X itself would do.

`POST mentions` and `POST dm_events` are a customer writing to the support
account (`threadline send x-mention|x-dm --mode polling`); `POST rate_limits`
shrinks a window or forces the next answers (429, 503); `POST revoke` is the
account withdrawing the app; `POST grants` is an operator authorizing it again;
`GET state` tells what happened (requests per endpoint, posts, events).
"""

from __future__ import annotations

import json
from typing import Any

from infra.local.gateway import HttpRequest, HttpResponse, error_response, json_response
from infra.local.sandbox.x_state import ACCOUNT_ID, CUSTOMER_ID, XWorld


def control(world: XWorld, request: HttpRequest, action: str) -> HttpResponse:
    if request.method == "GET" and action == "state":
        with world.lock:
            return json_response(
                200,
                {
                    "account_id": ACCOUNT_ID,
                    "posts": len(world.posts),
                    "dm_events": len(world.dm_events),
                    "requests": dict(world.requests),
                },
            )
    if request.method != "POST":
        return error_response(405, "method_not_allowed", "control actions are POSTed (GET state)")
    try:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise TypeError("not an object")
        return _act(world, action, body)
    except (ValueError, TypeError, KeyError) as error:
        return error_response(400, "bad_request", f"{action}: {error}")


def _act(world: XWorld, action: str, body: dict[str, Any]) -> HttpResponse:
    if action == "mentions":
        post = world.add_post(
            str(body.get("sender") or CUSTOMER_ID),
            str(body["text"]),
            post_id=_optional(body, "id"),
            in_reply_to=_optional(body, "in_reply_to"),
        )
        return json_response(201, {"id": post.id})
    if action == "dm_events":
        sender = str(body.get("sender") or CUSTOMER_ID)
        recipient = str(body.get("recipient") or (ACCOUNT_ID if sender != ACCOUNT_ID else CUSTOMER_ID))
        message = world.add_dm(sender, recipient, str(body["text"]), event_id=_optional(body, "id"))
        return json_response(201, {"id": message.id})
    if action == "rate_limits":
        endpoint = str(body["endpoint"])
        if "limit" in body:
            world.set_limit(endpoint, int(body["limit"]))
        if "fail_next" in body:
            world.fail_next(endpoint, int(body["fail_next"]), int(body.get("count", 1)))
        return json_response(200, {"endpoint": endpoint})
    if action == "revoke":
        world.revoke()
        return json_response(200, {"revoked": True})
    if action == "grants":
        world.grant(str(body["refresh_token"]), int(body["expires_in"]) if "expires_in" in body else None)
        return json_response(201, {"granted": True})
    return error_response(404, "not_found", f"no control action {action!r}")


def _optional(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not str(value).isdigit():
        raise ValueError(f"{name} must be a numeric X id")
    return str(value) if value is not None else None
