"""How a reply's delivery moves, pure: the sender's own outcomes and the providers' reports, in any order.

Statuses only move forward (queued → sending → sent → delivered → read), so a
late or repeated callback changes nothing. `failed` ends a delivery that had
not reached the customer; the one exception is our own `outcome_unknown`
(a send whose answer was lost): a later report that the provider did take the
message corrects it, because that is the truth the failure only guessed at.
"""

from __future__ import annotations

from datetime import datetime

from shared.model.contact import Contact, Delivery, DeliveryError, DeliveryStatus
from shared.model.delivery import COMPLAINT, OUTCOME_UNKNOWN, DeliveryReport

_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
}


_DELIVERED = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.READ})


def advanced(delivery: Delivery, status: DeliveryStatus) -> bool:
    """Whether `status` is news to a delivery that stands at `delivery.status`."""
    if delivery.status is DeliveryStatus.FAILED:
        unknown = delivery.error is not None and delivery.error.code == OUTCOME_UNKNOWN
        return unknown and status is not DeliveryStatus.FAILED and _RANK[status] >= _RANK[DeliveryStatus.SENT]
    if status is DeliveryStatus.FAILED:
        return _RANK[delivery.status] <= _RANK[DeliveryStatus.SENT]  # never after it reached the customer
    return _RANK[status] > _RANK[delivery.status]


def reported(contact: Contact, report: DeliveryReport) -> Contact | None:
    """The reply after a provider's report, or None when the report is no news."""
    delivery = contact.delivery
    if delivery is None:
        return None
    if report.error is not None and report.error.code == COMPLAINT and delivery.status in _DELIVERED:
        # It did reach the customer: the complaint is said on the delivery, which stays delivered.
        return (
            None
            if delivery.error == report.error
            else with_delivery(contact, delivery.model_copy(update={"error": report.error}))
        )
    if not advanced(delivery, report.status):
        return None
    failed = report.status is DeliveryStatus.FAILED
    return with_delivery(
        contact,
        delivery.model_copy(
            update={
                "status": report.status,
                "updated_at": max(delivery.updated_at, report.occurred_at),
                "provider_message_id": delivery.provider_message_id or report.provider_message_id,
                "error": report.error if failed else None,
            }
        ),
    )


def moved(contact: Contact, status: DeliveryStatus, now: datetime, **changes: object) -> Contact:
    """The sender's own step (sending, sent, failed, queued again for a retry)."""
    assert contact.delivery is not None
    return with_delivery(contact, contact.delivery.model_copy(update={"status": status, "updated_at": now, **changes}))


def with_delivery(contact: Contact, delivery: Delivery) -> Contact:
    return contact.model_copy(update={"delivery": delivery})


def unknown_outcome(reason: str) -> DeliveryError:
    message = f"the send began but its outcome is unknown ({reason}); not sent again to avoid a duplicate"
    return DeliveryError(code=OUTCOME_UNKNOWN, message=message[:512])
