"""A signed Mailgun route forward: parsed fields by default, `kind="mime"` for `body-mime`."""

from __future__ import annotations

import json
import secrets
import time
from email import message_from_bytes, policy
from urllib.parse import urlencode

from infra import topology
from infra.local.samples import SampleOptions, SignedRequest
from infra.local.samples.email import DEFAULT_RECIPIENT, sample_email
from shared.channels.mailgun import compute_signature

PATH = "/webhooks/mailgun"
MIME_PATH = "/webhooks/mailgun/mime"


def signed(
    fields: list[tuple[str, str]], signing_key: str | None = None, at: float | None = None
) -> list[tuple[str, str]]:
    """The fields plus timestamp, a fresh 50-character token and the signature over both."""
    timestamp = str(int(at if at is not None else time.time()))
    token = secrets.token_hex(25)
    key = signing_key if signing_key is not None else topology.local_secret("MAILGUN_SIGNING_KEY")
    return [
        *fields,
        ("timestamp", timestamp),
        ("token", token),
        ("signature", compute_signature(key, timestamp, token)),
    ]


def parsed_fields(raw: bytes, recipient: str = DEFAULT_RECIPIENT) -> list[tuple[str, str]]:
    message = message_from_bytes(raw, policy=policy.default)
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    return [
        ("recipient", recipient),
        ("sender", message["From"].addresses[0].addr_spec),
        ("from", str(message["From"])),
        ("subject", str(message["Subject"])),
        ("body-plain", text),
        ("stripped-text", text),
        ("message-headers", json.dumps([[name, str(value)] for name, value in message.items()])),
        ("Message-Id", str(message["Message-ID"])),
        ("attachment-count", "0"),
    ]


def mime_fields(raw: bytes, recipient: str = DEFAULT_RECIPIENT) -> list[tuple[str, str]]:
    return [("recipient", recipient), ("body-mime", raw.decode("utf-8", "replace"))]


def form_request(fields: list[tuple[str, str]]) -> SignedRequest:
    """Posted where Mailgun would: the `mime` route when the fields carry the whole message."""
    return SignedRequest(
        method="POST",
        path=MIME_PATH if any(name == "body-mime" for name, _ in fields) else PATH,
        body=urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def build(options: SampleOptions) -> SignedRequest:
    raw = sample_email(options)
    recipient = options.recipient or DEFAULT_RECIPIENT
    fields = mime_fields(raw, recipient) if options.kind == "mime" else parsed_fields(raw, recipient)
    return form_request(signed(fields))
