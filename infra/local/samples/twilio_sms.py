"""A signed Twilio Messaging webhook, as Twilio would send it."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from infra import topology
from infra.local.samples import SampleOptions, SignedRequest
from shared.channels.twilio import SIGNATURE_HEADER, compute_signature

PATH = "/webhooks/twilio/sms"


def build(options: SampleOptions) -> SignedRequest:
    sid = options.message_id or "SM" + uuid.uuid4().hex
    form = [
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", options.text),
        ("To", options.recipient or "+14155559999"),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", "AC" + "0" * 32),
        ("From", options.sender or "+14155550123"),
        ("ApiVersion", "2010-04-01"),
    ]
    signature = compute_signature(
        topology.local_secret("TWILIO_AUTH_TOKEN"), options.public_url.rstrip("/") + PATH, form
    )
    return SignedRequest(
        method="POST",
        path=PATH,
        body=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", SIGNATURE_HEADER: signature},
    )
