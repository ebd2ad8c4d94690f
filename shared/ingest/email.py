"""What the three email webhooks share between verification and the queue.

Email bodies are larger than other webhooks', so the request of an email route
is decoded against THREADLINE_MAX_EMAIL_BYTES instead of the general body limit
(`webhook_app(body_limit=email_body_limit)` in each email handler).
"""

from __future__ import annotations

import json

from shared.channels.email.contacts import Delivery, provider_message_id, to_contact
from shared.channels.email.limits import EmailLimits
from shared.channels.email.parsed import ParsedEmail
from shared.channels.email.storage import MailStore, store_parts
from shared.config import Settings
from shared.http import Response
from shared.ingest.app import WebhookResolver
from shared.model.contact import Contact
from shared.observability import logger, metrics


def email_limits(settings: Settings) -> EmailLimits:
    return EmailLimits(max_bytes=settings.max_email_bytes)


def email_body_limit(settings: Settings) -> int:
    """Email routes decode their requests against THREADLINE_MAX_EMAIL_BYTES."""
    return settings.max_email_bytes


def acknowledged(status: str, **details: object) -> Response:
    return Response(status_code=200, content_type="application/json", body=json.dumps({"status": status, **details}))


def email_contact(
    parsed: ParsedEmail,
    delivery: Delivery,
    store: MailStore | None,
    *,
    raw_storage_key: str | None = None,
    keep_attachment_bytes: bool = True,
) -> Contact:
    """Store the bytes (when a bucket is configured), then build the contact that names them."""
    message_id = provider_message_id(parsed, delivery)
    attachments = store_parts(
        parsed,
        provider=delivery.provider,
        provider_message_id=message_id,
        store=store,
        raw_storage_key=raw_storage_key,
        keep_attachment_bytes=keep_attachment_bytes,
    )
    return to_contact(parsed, delivery, attachments)


def queue_email(app: WebhookResolver, contact: Contact, parsed: ParsedEmail, *, channel: str) -> Response:
    """Queue the contact and answer 200; the log names signals and counts, never addresses or text."""
    app.enqueue([contact], channel=channel)
    if parsed.cut_off:
        metrics.add_metric(name="EmailCutOff", unit="Count", value=1)
    logger.info(
        "email accepted",
        extra={
            "channel": channel,
            "automated": parsed.automated,
            "attachments": len(parsed.attachments),
            "cut_off": parsed.cut_off,
            "threaded": bool(parsed.headers.in_reply_to or parsed.headers.references),
            "case_references": len(parsed.case_references),
        },
    )
    return acknowledged("queued", contact_id=contact.contact_id)


def drop_email(reason: str, *, channel: str) -> Response:
    """Acknowledge a message we will not store (SES would otherwise retry it): logged and counted."""
    logger.warning("email dropped", extra={"channel": channel, "reason": reason})
    metrics.add_metric(name="EmailDropped", unit="Count", value=1)
    return acknowledged("dropped", reason=reason)
