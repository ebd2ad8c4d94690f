"""SendGrid Inbound Parse (multipart/form-data) → a parsed email, in raw or parsed mode.

SendGrid does not sign Inbound Parse requests, so the route is guarded by a
secret token of ours (SENDGRID_INBOUND_TOKEN) that the configured URL carries,
either as `?token=` or as the password of basic auth (`https://u:TOKEN@host/...`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from shared.channels.email.contacts import Delivery
from shared.channels.email.formdata import FormData, form_data
from shared.channels.email.limits import EmailLimits
from shared.channels.email.parsed import AttachmentPart, ParsedEmail, attachment_part
from shared.channels.email.posted import PostedFields, parse_posted
from shared.ingest.request import WebhookRequest
from shared.ingest.signatures import require_match
from shared.model.contact import Provider

TOKEN_PARAMETER = "token"  # noqa: S105 - the name of the query parameter, not a token
RAW_FIELD = "email"  # present when "POST the raw, full MIME message" is checked
_HEADER_FIELDS = (("from", "From"), ("to", "To"), ("cc", "Cc"), ("subject", "Subject"))


def _basic_auth_password(authorization: str | None) -> str | None:
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


def verify(request: WebhookRequest, token: str) -> None:
    """401 without a token, 403 with a wrong one; compared in constant time."""
    presented = request.query.get(TOKEN_PARAMETER) or _basic_auth_password(request.header("authorization"))
    require_match(presented, token, header=TOKEN_PARAMETER)


def _charsets(form: FormData) -> dict[str, str]:
    declared = form.json("charsets")
    if not isinstance(declared, dict):
        return {}
    return {str(name): str(charset) for name, charset in declared.items()}


def _header_block(form: FormData, charsets: dict[str, str]) -> bytes:
    """The original header block; without one, the decoded From/To/Cc/Subject fields SendGrid sent."""
    headers = form.fields.get("headers")
    if headers:
        return headers
    lines = []
    for field, header in _HEADER_FIELDS:
        value = form.text(field, charsets.get(field, "utf-8"))
        if value:
            lines.append(f"{header}: {' '.join(value.split())}")
    return "\r\n".join(lines).encode("utf-8")


def _attachments(form: FormData) -> list[AttachmentPart]:
    info: Any = form.json("attachment-info")
    described = info if isinstance(info, dict) else {}
    parts = []
    for name, upload in form.files.items():
        meta = described.get(name)
        meta = meta if isinstance(meta, dict) else {}
        parts.append(
            attachment_part(
                upload.payload,
                str(meta.get("type") or upload.content_type),
                str(meta.get("filename") or upload.filename or "") or None,
                str(meta.get("content-id") or "") or None,
            )
        )
    return parts


def _envelope_recipient(form: FormData) -> str | None:
    envelope = form.json("envelope")
    recipients = envelope.get("to") if isinstance(envelope, dict) else None
    return str(recipients[0]) if isinstance(recipients, list) and recipients else None


def _posted_fields(form: FormData) -> PostedFields:
    charsets = _charsets(form)
    return PostedFields(
        _header_block(form, charsets),
        form.text("text", charsets.get("text", "utf-8")),
        form.text("html", charsets.get("html", "utf-8")),
        _attachments(form),
    )


def parse(request: WebhookRequest, limits: EmailLimits) -> tuple[ParsedEmail, Delivery]:
    form = form_data(request)
    parsed, fallback_id = parse_posted(form.fields.get(RAW_FIELD), lambda: _posted_fields(form), limits)
    delivery = Delivery(
        provider=Provider.SENDGRID,
        received_at=request.received_at,
        fallback_message_id=fallback_id,
        envelope_recipient=_envelope_recipient(form),
    )
    return parsed, delivery
