"""Signed X Account Activity API webhooks (a DM, a public mention), as X would send them; or, for
xMode polling, the same messages put into the local X sandbox for the poller to read."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from infra import topology
from infra.local.samples import SampleOptions, SignedRequest, signed_json
from shared.channels.x import SIGNATURE_HEADER, signature

PATH = "/webhooks/x"
SANDBOX_CONTROL = "/_sandbox/x/_control"  # infra/local/sandbox/x_control.py
OUR_ACCOUNT = "1478523690147852369"
CUSTOMER = "2244994945"
_X_EPOCH_MS = 1288834974657  # snowflake ids count milliseconds from here


def build_dm(options: SampleOptions) -> SignedRequest:
    """A direct message to our account; `--kind outbound` is one our account sent."""
    if options.kind not in (None, "outbound"):
        raise ValueError(f"unknown kind {options.kind!r}; this sample knows: outbound")
    now, customer, ours = _now_ms(), options.sender or CUSTOMER, options.recipient or OUR_ACCOUNT
    sender, recipient = (ours, customer) if options.kind == "outbound" else (customer, ours)
    event = {
        "type": "message_create",
        "id": options.message_id or _snowflake(now),
        "created_timestamp": str(now),
        "message_create": {
            "target": {"recipient_id": recipient},
            "sender_id": sender,
            "message_data": {"text": options.text, "entities": {"hashtags": [], "urls": [], "user_mentions": []}},
        },
    }
    return _signed(
        {"for_user_id": ours, "direct_message_events": [event], "users": _users(customer, ours)},
    )


def build_mention(options: SampleOptions) -> SignedRequest:
    """A public post mentioning our account."""
    now, customer, ours = _now_ms(), options.sender or CUSTOMER, options.recipient or OUR_ACCOUNT
    text = f"@ExampleShopHelp {options.text}"
    post = {
        "created_at": time.strftime("%a %b %d %H:%M:%S +0000 %Y", time.gmtime(now / 1000)),
        "id_str": options.message_id or _snowflake(now),
        "text": text,
        "truncated": False,
        "in_reply_to_status_id_str": None,
        "in_reply_to_user_id_str": None,
        "user": {"id_str": customer, "name": "Ann Lee", "screen_name": "annlee"},
        "entities": {
            "hashtags": [],
            "urls": [],
            "user_mentions": [{"screen_name": "ExampleShopHelp", "id_str": ours, "indices": [0, 16]}],
        },
        "timestamp_ms": str(now),
    }
    return _signed({"for_user_id": ours, "user_has_blocked": "false", "tweet_create_events": [post]})


def _users(customer: str, ours: str) -> dict[str, Any]:
    return {
        customer: {"id": customer, "name": "Ann Lee", "screen_name": "annlee"},
        ours: {"id": ours, "name": "Example Shop Support", "screen_name": "ExampleShopHelp"},
    }


def _now_ms() -> int:
    return int(time.time() * 1000)


def _snowflake(now_ms: int) -> str:
    return str(((now_ms - _X_EPOCH_MS) << 22) | secrets.randbits(22))


def _signed(payload: dict[str, Any]) -> SignedRequest:
    return signed_json(
        PATH, payload, SIGNATURE_HEADER, lambda body: signature(topology.local_secret("X_CONSUMER_SECRET"), body)
    )


def mention_in_sandbox(options: SampleOptions) -> SignedRequest:
    """`--mode polling`: the customer posts the mention; the X sandbox holds it until the poller reads it."""
    return _in_sandbox("mentions", {"text": options.text, "sender": options.sender, "id": options.message_id})


def dm_in_sandbox(options: SampleOptions) -> SignedRequest:
    """`--mode polling`: a DM to our account (`--kind outbound`: one our account sent), held by the X sandbox."""
    if options.kind not in (None, "outbound"):
        raise ValueError(f"unknown kind {options.kind!r}; this sample knows: outbound")
    customer, ours = options.sender or CUSTOMER, options.recipient or OUR_ACCOUNT
    sender, recipient = (ours, customer) if options.kind == "outbound" else (customer, ours)
    return _in_sandbox(
        "dm_events", {"text": options.text, "sender": sender, "recipient": recipient, "id": options.message_id}
    )


def _in_sandbox(action: str, payload: dict[str, Any]) -> SignedRequest:
    body = json.dumps({name: value for name, value in payload.items() if value is not None}).encode()
    return SignedRequest("POST", f"{SANDBOX_CONTROL}/{action}", body, {"Content-Type": "application/json"})
