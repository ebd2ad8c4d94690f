"""SES event publishing (a configuration set's SNS destination) → delivery reports of our email replies.

The SNS Message is the event: `eventType` (Send, Delivery, Bounce, Complaint,
Reject, DeliveryDelay, ...), `mail.messageId` (SES's id, which SendEmail
answered) and `mail.tags` (ours: `contact_id`, the reply). A bounce or a reject
fails the reply; a complaint (the customer marked it as spam) is recorded on a
delivered reply without undoing its delivery.
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.ingest.errors import MalformedPayload
from shared.model.contact import DeliveryError, DeliveryStatus, Provider
from shared.model.delivery import COMPLAINT, CONTACT_ID, DeliveryReport

_STATUSES = {
    "Send": DeliveryStatus.SENT,
    "Delivery": DeliveryStatus.DELIVERED,
    "Bounce": DeliveryStatus.FAILED,
    "Reject": DeliveryStatus.FAILED,
    "Complaint": DeliveryStatus.FAILED,
}


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class _Mail(_Tolerant):
    timestamp: datetime
    message_id: str = Field(alias="messageId", min_length=1, max_length=256)
    tags: dict[str, list[str]] = {}


class _Bounce(_Tolerant):
    bounce_type: str = Field(default="Undetermined", alias="bounceType")
    bounce_sub_type: str = Field(default="General", alias="bounceSubType")


class _Reject(_Tolerant):
    reason: str = "rejected"


class _Event(_Tolerant):
    event_type: str = Field(alias="eventType")
    mail: _Mail
    bounce: _Bounce | None = None
    reject: _Reject | None = None


def is_event(message: str) -> bool:
    """Whether an SNS Message from an SES topic is an event of sent mail (not a receipt of inbound mail)."""
    try:
        body = json.loads(message)
    except ValueError:
        return False
    return isinstance(body, dict) and "eventType" in body


def report(message: str) -> DeliveryReport | None:
    """The report, or None for an event that says nothing about delivery (Open, Click, DeliveryDelay)."""
    try:
        event = _Event.model_validate_json(message)
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in issue["loc"]) for issue in error.errors()})
        raise MalformedPayload(f"not an SES event: {', '.join(fields)}") from None
    status = _STATUSES.get(event.event_type)
    if status is None:
        return None
    contact_id = next(iter(event.mail.tags.get("contact_id", [])), None)
    return DeliveryReport(
        provider=Provider.SES,
        provider_message_id=event.mail.message_id,
        contact_id=contact_id if contact_id and CONTACT_ID.match(contact_id) else None,
        status=status,
        error=_error(event) if status is DeliveryStatus.FAILED else None,
        occurred_at=event.mail.timestamp,
    )


def _error(event: _Event) -> DeliveryError:
    if event.event_type == "Complaint":
        return DeliveryError(code=COMPLAINT, message="the recipient marked the reply as spam")
    if event.bounce is not None:
        bounce = event.bounce
        code = f"bounce:{bounce.bounce_type}/{bounce.bounce_sub_type}"
        return DeliveryError(code=code[:64], message=f"{bounce.bounce_type} bounce ({bounce.bounce_sub_type})")
    reason = event.reject.reason if event.reject else "rejected"
    return DeliveryError(code="reject", message=f"SES rejected the message: {reason}"[:512])
