"""Signed Meta webhooks (Messenger, Instagram, WhatsApp Cloud API), as Meta would send them."""

from __future__ import annotations

import time
import uuid
from typing import Any

from infra import topology
from infra.local.samples import SampleOptions, SignedRequest, signed_json
from shared.channels.meta import SIGNATURE_HEADER, signature

PATH = "/webhooks/meta"
PAGE_ID = "104918573726198"
PSID = "6745183492837465"
INSTAGRAM_ACCOUNT_ID = "17841405309211844"
INSTAGRAM_SCOPED_ID = "5347283912873645"
WHATSAPP_BUSINESS_ACCOUNT_ID = "102290129340398"
WHATSAPP_PHONE_NUMBER_ID = "106540352242922"
CUSTOMER_PHONE = "+14155550123"
BUSINESS_PHONE = "+14155559999"


def build_messenger(options: SampleOptions) -> SignedRequest:
    """A Messenger message; `--kind echo` is the page's own reply to that person."""
    return _signed(_messaging("page", options, account=PAGE_ID, scoped_id=PSID))


def build_instagram(options: SampleOptions) -> SignedRequest:
    """An Instagram DM; `--kind echo` is the account's own reply."""
    return _signed(_messaging("instagram", options, account=INSTAGRAM_ACCOUNT_ID, scoped_id=INSTAGRAM_SCOPED_ID))


def build_whatsapp(options: SampleOptions) -> SignedRequest:
    """A WhatsApp text from a phone number; `--kind status` is a delivery status (a report for the sender)."""
    _require_kind(options, "status")
    wa_id = "".join(char for char in options.sender or CUSTOMER_PHONE if char.isdigit())
    message_id = options.message_id or "wamid." + uuid.uuid4().hex.upper()
    now = str(int(time.time()))
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": (options.recipient or BUSINESS_PHONE).lstrip("+"),
            "phone_number_id": WHATSAPP_PHONE_NUMBER_ID,
        },
    }
    if options.kind == "status":
        value["statuses"] = [{"id": message_id, "status": "delivered", "timestamp": now, "recipient_id": wa_id}]
    else:
        value["contacts"] = [{"profile": {"name": "Ann Lee"}, "wa_id": wa_id}]
        value["messages"] = [
            {"from": wa_id, "id": message_id, "timestamp": now, "type": "text", "text": {"body": options.text}}
        ]
    return _signed(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": WHATSAPP_BUSINESS_ACCOUNT_ID, "changes": [{"value": value, "field": "messages"}]}],
        }
    )


def _messaging(product: str, options: SampleOptions, *, account: str, scoped_id: str) -> dict[str, Any]:
    _require_kind(options, "echo")
    account = options.recipient or account
    person = options.sender or scoped_id
    now = int(time.time() * 1000)
    message: dict[str, Any] = {"mid": options.message_id or "m_" + uuid.uuid4().hex, "text": options.text}
    if options.kind == "echo":
        sender, recipient = account, person
        message["is_echo"] = True
    else:
        sender, recipient = person, account
    event = {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": now, "message": message}
    return {"object": product, "entry": [{"id": account, "time": now, "messaging": [event]}]}


def _require_kind(options: SampleOptions, *kinds: str) -> None:
    if options.kind is not None and options.kind not in kinds:
        raise ValueError(f"unknown kind {options.kind!r}; this sample knows: {', '.join(kinds)}")


def _signed(payload: dict[str, Any]) -> SignedRequest:
    return signed_json(
        PATH, payload, SIGNATURE_HEADER, lambda body: signature(topology.local_secret("META_APP_SECRET"), body)
    )
