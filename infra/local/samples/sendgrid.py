"""A SendGrid Inbound Parse POST (multipart/form-data), guarded by our `?token=`.

Parsed mode by default; `kind="raw"` sends the whole MIME message in `email`,
as SendGrid does when "POST the raw, full MIME message" is checked.
"""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from urllib.parse import urlencode

from infra import topology
from infra.local.samples import SampleOptions, SignedRequest
from infra.local.samples.email import DEFAULT_RECIPIENT, multipart_form, sample_email
from shared.channels.sendgrid import TOKEN_PARAMETER

PATH = "/webhooks/sendgrid"


def parsed_fields(raw: bytes, recipient: str = DEFAULT_RECIPIENT) -> list[tuple[str, str | bytes]]:
    """The fields SendGrid's parsed mode sends for a plain-text message."""
    message = message_from_bytes(raw, policy=policy.default)
    header_block = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    body = message.get_body(("plain",))
    return [
        ("headers", header_block),
        ("dkim", "{@example.net : pass}"),
        ("to", str(message["To"])),
        ("from", str(message["From"])),
        ("text", body.get_content() if body is not None else ""),
        ("sender_ip", "203.0.113.7"),
        ("envelope", json.dumps({"to": [recipient], "from": message["From"].addresses[0].addr_spec})),
        ("attachments", "0"),
        ("subject", str(message["Subject"])),
        ("charsets", json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "utf-8"})),
        ("SPF", "pass"),
        ("spam_score", "0.1"),
    ]


def raw_fields(raw: bytes, recipient: str = DEFAULT_RECIPIENT) -> list[tuple[str, str | bytes]]:
    message = message_from_bytes(raw, policy=policy.default)
    return [
        ("email", raw),
        ("to", str(message["To"])),
        ("from", str(message["From"])),
        ("subject", str(message["Subject"])),
        ("envelope", json.dumps({"to": [recipient], "from": message["From"].addresses[0].addr_spec})),
        ("charsets", json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"})),
        ("SPF", "pass"),
    ]


def form_request(fields: list[tuple[str, str | bytes]], token: str | None = None) -> SignedRequest:
    body, content_type = multipart_form(fields)
    secret = token if token is not None else topology.local_secret("SENDGRID_INBOUND_TOKEN")
    return SignedRequest(
        method="POST",
        path=PATH,
        body=body,
        headers={"Content-Type": content_type},
        query=urlencode({TOKEN_PARAMETER: secret}),
    )


def build(options: SampleOptions) -> SignedRequest:
    raw = sample_email(options)
    recipient = options.recipient or DEFAULT_RECIPIENT
    return form_request(raw_fields(raw, recipient) if options.kind == "raw" else parsed_fields(raw, recipient))
