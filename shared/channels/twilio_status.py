"""Twilio's status callbacks of our outbound messages → delivery reports.

Twilio posts `MessageSid`, `MessageStatus` (queued, sending, sent, delivered,
undelivered, failed, read, ...) and, for a failure, `ErrorCode` to the
StatusCallback URL we gave it, signed with X-Twilio-Signature over that URL
(its `?reply=<contact id>` included) and the form. Statuses may arrive out of
order; the sender keeps only what moves a delivery forward.
"""

from __future__ import annotations

from shared.channels.twilio import required
from shared.ingest.errors import MalformedPayload
from shared.ingest.request import WebhookRequest
from shared.model.contact import DeliveryError, DeliveryStatus, Provider
from shared.model.delivery import CONTACT_ID, DeliveryReport

_STATUSES = {
    "accepted": DeliveryStatus.SENT,  # Twilio took it: our `sent` is "the provider has it"
    "scheduled": DeliveryStatus.SENT,
    "queued": DeliveryStatus.SENT,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}
UNSUBSCRIBED_RECIPIENT = "21610"


def parse(request: WebhookRequest) -> DeliveryReport | None:
    """The report, or None for a status that says nothing about delivery (an inbound `received`)."""
    sid, status = required(request.form, "MessageSid", "MessageStatus")
    delivery_status = _STATUSES.get(status.lower())
    if delivery_status is None:
        return None
    contact_id = request.query.get("reply")
    if contact_id is not None and not CONTACT_ID.match(contact_id):
        raise MalformedPayload("reply is not a contact id")
    code = (request.form.get("ErrorCode") or "").strip()
    error = None
    if delivery_status is DeliveryStatus.FAILED:
        message = (request.form.get("ErrorMessage") or f"Twilio reported {status.lower()}").strip()
        error = DeliveryError(code=code[:64] or status.lower(), message=message[:512])
    return DeliveryReport(
        provider=Provider.TWILIO,
        provider_message_id=sid[:256],
        contact_id=contact_id,
        status=delivery_status,
        error=error,
        occurred_at=request.received_at,
        opted_out=code == UNSUBSCRIBED_RECIPIENT,
    )
