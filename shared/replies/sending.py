"""The sender's use cases: send a queued reply once, apply a provider's report, record a consent change.

The send path writes state before the provider call and after it
(docs/decisions.md, "Replies: at most once"):

1. `queued → sending` (attempts + 1), conditional on the version read;
2. the provider call;
3. `sending → sent` with the provider's id (or `failed`, or back to `queued`
   for a throttled or 5xx answer, which the queue retries after Retry-After);
4. the provider's id as a look-up key (status callbacks, echoes of our message).

A crash between 1 and 3 leaves `sending`: the redelivery does not call the
provider again, which could send twice (Twilio, Meta, X and SES take no
idempotency key). It records `failed` with `outcome_unknown` instead; a status
callback that names the reply (each provider hands back the correlation we
gave it) corrects that when the message did go out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from shared.model.contact import Contact, DeliveryError, DeliveryStatus, IdentifierKind
from shared.model.delivery import Accepted, ConsentChange, DeliveryReport, Refused, RetryLater, SendOutcome, Unknown
from shared.model.failures import StoreContention
from shared.model.records import VersionedContact
from shared.replies.delivery import moved, reported, unknown_outcome
from shared.replies.ports import Courier, Couriers, ReplyStore

MAX_WRITE_ATTEMPTS = 5


class Sent(Enum):
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the crash case: recorded as failed, outcome_unknown
    ALREADY = "already"  # a repeated queue message: nothing to do


class ReplyMissing(LookupError):
    """The queue names a reply that is not stored (yet): the record fails and is retried."""


class ThrottledRetry(RuntimeError):
    """The provider did not take the message (429 or 5xx): retry after `after_s` (the queue's visibility)."""

    def __init__(self, reason: str, after_s: int) -> None:
        super().__init__(f"{reason}; retry in {after_s} s")
        self.after_s = after_s


@dataclass(frozen=True)
class Applied:
    contact_id: str | None
    changed: bool


def _now() -> datetime:
    return datetime.now(UTC)


class Sender:
    def __init__(self, store: ReplyStore, couriers: Couriers, *, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._couriers = couriers
        self._clock = clock

    # --- sending ------------------------------------------------------------------------

    def send(self, contact_id: str) -> Sent:
        stored = self._store.get_reply(contact_id)
        if stored is None or stored.contact.delivery is None:
            raise ReplyMissing(contact_id)
        delivery = stored.contact.delivery
        if delivery.status is DeliveryStatus.SENDING:
            # An earlier attempt died between its two writes (step 1 done, step 3 not).
            error = unknown_outcome("an earlier attempt stopped after it began")
            self._settle(stored, lambda c: moved(c, DeliveryStatus.FAILED, self._clock(), error=error))
            return Sent.UNKNOWN
        if delivery.status is not DeliveryStatus.QUEUED:
            if delivery.provider_message_id:  # step 4 again: the repair of a crash after step 3
                self._store.record_provider_id(stored.contact, delivery.provider_message_id, _post_key(stored.contact))
            return Sent.ALREADY
        courier = self._courier(stored.contact)  # a courier that cannot be built fails before anything is written
        now = self._clock()
        sending = moved(stored.contact, DeliveryStatus.SENDING, now, attempts=delivery.attempts + 1)
        if self._store.put_reply(sending, stored.version) is not None:
            return Sent.ALREADY  # another delivery of this message is sending it
        outcome = courier.send(sending, now)
        return self._record(VersionedContact(sending, stored.version + 1), outcome)

    def _courier(self, contact: Contact) -> Courier:
        courier = self._couriers.get(contact.provider.value)
        if courier is None:
            raise LookupError(f"no courier for {contact.provider.value}")
        return courier

    def _record(self, sending: VersionedContact, outcome: SendOutcome) -> Sent:
        now = self._clock()
        if isinstance(outcome, Accepted):
            sent = self._settle(
                sending,
                lambda c: reported(c, _report(c, DeliveryStatus.SENT, now, outcome.provider_message_id)),
            )
            self._store.record_provider_id(sent, outcome.provider_message_id, _post_key(sent, outcome))
            return Sent.SENT
        if isinstance(outcome, RetryLater):
            error = DeliveryError(code="retrying", message=outcome.reason[:512])
            self._settle(sending, lambda c: moved(c, DeliveryStatus.QUEUED, now, error=error))
            raise ThrottledRetry(outcome.reason, outcome.after_s)
        if isinstance(outcome, Refused):
            self._settle(sending, lambda c: reported(c, _report(c, DeliveryStatus.FAILED, now, error=outcome.error)))
            if outcome.opted_out and (phone := _phone(sending.contact)):
                self._store.set_consent(ConsentChange(phone=phone, opted_out=True, at=now, reason=outcome.error.code))
            return Sent.FAILED
        assert isinstance(outcome, Unknown)
        self._settle(sending, lambda c: moved(c, DeliveryStatus.FAILED, now, error=unknown_outcome(outcome.reason)))
        return Sent.UNKNOWN

    def _settle(self, stored: VersionedContact, change: Callable[[Contact], Contact | None]) -> Contact:
        """Apply `change` to the stored reply, re-reading when a status callback wrote in between."""
        current: VersionedContact | None = stored
        for _ in range(MAX_WRITE_ATTEMPTS):
            assert current is not None
            after = change(current.contact)
            if after is None:
                return current.contact  # a callback got there first with as much or more
            conflict = self._store.put_reply(after, current.version)
            if conflict is None:
                return after
            current = conflict
        raise StoreContention(f"reply {stored.contact.contact_id} kept changing")

    # --- reports and consent ---------------------------------------------------------------

    def apply_report(self, report: DeliveryReport) -> Applied:
        contact_id = report.contact_id
        if contact_id is None and report.provider_message_id:
            contact_id = self._store.find_reply(report.provider.value, report.provider_message_id)
        if contact_id is None:
            # Not one of ours (a message an agent sent from the provider's own inbox or app), or a Messenger
            # delivery that overtook step 4: dropped and counted. Every other report names its reply.
            return Applied(None, changed=False)
        stored = self._store.get_reply(contact_id)
        if stored is None:
            return Applied(None, changed=False)
        before = stored.contact
        if report.provider_message_id and before.delivery and not before.delivery.provider_message_id:
            # The send died before step 4, so this report is the first to name the provider's id: its key is
            # written before the status, so a crash in between leaves the report to redo both.
            self._store.record_provider_id(before, report.provider_message_id, _post_key(before, report))
        after = self._settle(stored, lambda c: reported(c, report))
        if report.opted_out and (phone := _phone(after)):
            self._store.set_consent(ConsentChange(phone=phone, opted_out=True, at=report.occurred_at, reason="report"))
        return Applied(contact_id, changed=after != before)

    def change_consent(self, change: ConsentChange) -> None:
        self._store.set_consent(change)


def _report(
    contact: Contact,
    status: DeliveryStatus,
    at: datetime,
    provider_message_id: str | None = None,
    error: DeliveryError | None = None,
) -> DeliveryReport:
    return DeliveryReport(
        provider=contact.provider,
        provider_message_id=provider_message_id,
        contact_id=contact.contact_id,
        status=status,
        error=error,
        occurred_at=at,
    )


def _phone(contact: Contact) -> str | None:
    return next((i.value for i in contact.recipient.identifiers if i.kind is IdentifierKind.PHONE), None)


def _post_key(contact: Contact, outcome: Accepted | DeliveryReport | None = None) -> str | None:
    """A public X reply is a post: its id is the thread key the customer's answer to it quotes."""
    stored_id = contact.delivery.provider_message_id if contact.delivery else None
    provider_id = outcome.provider_message_id if outcome else stored_id
    if contact.content.visibility.value == "public" and provider_id:
        return f"msg#{provider_id}"
    return None
