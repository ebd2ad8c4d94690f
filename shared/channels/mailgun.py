"""Mailgun routes (`forward()` to our URL) → a parsed email, from `body-mime` or parsed fields.

Mailgun signs each POST in its body: `signature` = hex HMAC-SHA256 of
`timestamp + token` with the webhook signing key. A timestamp more than 5
minutes off is refused, and so is a token this container has seen before
(`TokenLedger`; a replay reaching another container is still stored only once,
because the processor dedupes by Message-ID).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from shared.channels.email.contacts import Delivery
from shared.channels.email.formdata import FormData, form_data
from shared.channels.email.limits import EmailLimits
from shared.channels.email.parsed import AttachmentPart, ParsedEmail, attachment_part
from shared.channels.email.posted import PostedFields, parse_posted
from shared.ingest.errors import InvalidSignature
from shared.ingest.request import WebhookRequest
from shared.ingest.signatures import hmac_hex, require_match
from shared.model.contact import Provider

MAX_CLOCK_SKEW = timedelta(minutes=5)
RAW_FIELD = "body-mime"  # sent when the route's URL ends in `mime`
MAX_REMEMBERED_TOKENS = 10_000


def compute_signature(signing_key: str, timestamp: str, token: str) -> str:
    return hmac_hex(signing_key, (timestamp + token).encode())


def _signed_fields(form: FormData) -> tuple[str, str, str | None]:
    return form.text("timestamp") or "", form.text("token") or "", form.text("signature")


def verify(request: WebhookRequest, signing_key: str) -> None:
    """The signature first (so an unsigned request learns nothing), then the clock."""
    timestamp, token, signature = _signed_fields(form_data(request))
    require_match(signature, compute_signature(signing_key, timestamp, token), header="signature")
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), tz=request.received_at.tzinfo)
    except (ValueError, OverflowError, OSError) as error:
        raise InvalidSignature("timestamp is not a number of seconds") from error
    if abs(request.received_at - signed_at) > MAX_CLOCK_SKEW:
        raise InvalidSignature("timestamp is more than 5 minutes off")


class TokenLedger:
    """Tokens of verified requests this container accepted, oldest forgotten first.

    A token is remembered only once its mail is queued, so Mailgun's retry of a
    request we failed (a 503) is not mistaken for a replay.
    """

    def __init__(self, capacity: int = MAX_REMEMBERED_TOKENS) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def refuse_reused(self, request: WebhookRequest) -> None:
        if _signed_fields(form_data(request))[1] in self._seen:
            raise InvalidSignature("token was already used")

    def remember(self, request: WebhookRequest) -> None:
        self._seen[_signed_fields(form_data(request))[1]] = None
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)


def _header_block(form: FormData) -> bytes:
    pairs: Any = form.json("message-headers")
    lines = [
        f"{pair[0]}: {' '.join(str(pair[1]).split())}"
        for pair in (pairs if isinstance(pairs, list) else [])
        if isinstance(pair, list) and len(pair) == 2 and str(pair[0]).strip()
    ]
    return "\r\n".join(lines).encode("utf-8")


def _attachments(form: FormData) -> list[AttachmentPart]:
    content_ids: Any = form.json("content-id-map")
    by_field = {str(field): str(cid) for cid, field in content_ids.items()} if isinstance(content_ids, dict) else {}
    return [
        attachment_part(upload.payload, upload.content_type, upload.filename, by_field.get(name))
        for name, upload in form.files.items()
        if name.startswith("attachment-")
    ]


def _posted_fields(form: FormData) -> PostedFields:
    return PostedFields(_header_block(form), form.text("body-plain"), form.text("body-html"), _attachments(form))


def parse(request: WebhookRequest, limits: EmailLimits) -> tuple[ParsedEmail, Delivery]:
    form = form_data(request)
    parsed, fallback_id = parse_posted(form.fields.get(RAW_FIELD), lambda: _posted_fields(form), limits)
    delivery = Delivery(
        provider=Provider.MAILGUN,
        received_at=request.received_at,
        fallback_message_id=fallback_id,
        envelope_recipient=(form.text("recipient") or "").split(",")[0].strip() or None,
    )
    return parsed, delivery
