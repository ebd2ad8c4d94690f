"""In-memory stand-ins of the replies' ports (the store keeps the adapter's conditions, couriers are scripted),
and the outbound contact the courier tests send."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.model import identifiers, minted
from shared.model.contact import (
    Assurance,
    Channel,
    Contact,
    Content,
    Delivery,
    DeliveryStatus,
    Direction,
    Identifier,
    Party,
    Provider,
)
from shared.model.delivery import ConsentChange, OutboundMessage, SendOutcome
from shared.model.records import CaseRecord, LinkWrites, VersionedContact


@dataclass
class InMemoryReplyStore:
    cases: dict[str, CaseRecord] = field(default_factory=dict)
    contacts: list[Contact] = field(default_factory=list)  # the case timelines' inbound contacts
    owners: dict[str, str] = field(default_factory=dict)  # identifier key → customer id
    markers: dict[tuple[str, str], str] = field(default_factory=dict)
    replies: dict[str, VersionedContact] = field(default_factory=dict)
    threads: dict[str, str] = field(default_factory=dict)  # thread key → case id
    consent: dict[str, ConsentChange] = field(default_factory=dict)
    active_case: dict[str, str] = field(default_factory=dict)  # customer → case a reply made active
    fail_put: Callable[[Contact], None] | None = None  # a crash injected before a write lands

    def get_case(self, case_id: str) -> CaseRecord | None:
        return self.cases.get(case_id)

    def latest_inbound(self, case_id: str, channel: Channel | None) -> Contact | None:
        found = [
            c
            for c in self.contacts
            if c.case_id == case_id and c.direction is Direction.INBOUND and channel in (None, c.channel)
        ]
        return max(found, key=lambda c: c.occurred_at, default=None)

    def identifier_owner(self, identifier: Identifier) -> str | None:
        return self.owners.get(identifier.key)

    def opted_out(self, phone: str) -> bool:
        change = self.consent.get(phone)
        return bool(change and change.opted_out)

    def claim_message(self, contact: Contact) -> str:
        key = (contact.provider.value, contact.provider_message_id)
        return self.markers.setdefault(key, contact.contact_id)

    def get_reply(self, contact_id: str) -> VersionedContact | None:
        return self.replies.get(contact_id)

    def save_reply(self, contact: Contact, writes: LinkWrites) -> None:
        for key in writes.thread_keys:
            assert contact.case_id is not None
            self.threads[key] = contact.case_id
        self.replies.setdefault(contact.contact_id, VersionedContact(contact, 1))
        assert contact.customer_id is not None
        assert contact.case_id is not None
        self.active_case[contact.customer_id] = contact.case_id

    def put_reply(self, contact: Contact, expected_version: int) -> VersionedContact | None:
        if self.fail_put is not None:
            self.fail_put(contact)
        stored = self.replies[contact.contact_id]
        if stored.version != expected_version:
            return stored
        self.replies[contact.contact_id] = VersionedContact(contact, expected_version + 1)
        return None

    def record_provider_id(self, contact: Contact, provider_message_id: str, thread_key: str | None) -> None:
        self.markers[(contact.provider.value, provider_message_id)] = contact.contact_id
        if thread_key:
            assert contact.case_id is not None
            self.threads[thread_key] = contact.case_id

    def find_reply(self, provider: str, provider_message_id: str) -> str | None:
        return self.markers.get((provider, provider_message_id))

    def set_consent(self, change: ConsentChange) -> None:
        known = self.consent.get(change.phone)
        if known is None or known.at <= change.at:
            self.consent[change.phone] = change


@dataclass
class RecordingQueue:
    sent: list[OutboundMessage] = field(default_factory=list)

    def send(self, messages: Sequence[OutboundMessage]) -> None:
        self.sent.extend(messages)


@dataclass
class ScriptedCourier:
    """Answers each send with the next scripted outcome, and counts what reached the provider."""

    outcomes: list[SendOutcome]
    sends: list[Contact] = field(default_factory=list)
    crash: BaseException | None = None  # raised instead of answering (the function dies mid-call)

    def send(self, contact: Contact, now: datetime) -> SendOutcome:
        self.sends.append(contact)
        if self.crash is not None:
            raise self.crash
        return self.outcomes.pop(0)


REPLY_TIME = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def phone_party(value: str) -> Party:
    return Party(identifiers=(identifiers.phone(value, "US", Assurance.CHANNEL),))


def outbound(channel: Channel, provider: Provider, sender: Party, recipient: Party, **fields: Any) -> Contact:
    """A reply as the sender hands it to a courier: `sending`, text unless given, at REPLY_TIME."""
    fields.setdefault("delivery", Delivery(status=DeliveryStatus.SENDING, updated_at=REPLY_TIME))
    fields.setdefault("content", Content(text="It ships today."))
    return Contact(
        contact_id=minted.contact_id(provider.value, "reply:1", REPLY_TIME),
        channel=channel,
        provider=provider,
        direction=Direction.OUTBOUND,
        provider_message_id="reply:1",
        occurred_at=REPLY_TIME,
        received_at=REPLY_TIME,
        sender=sender,
        recipient=recipient,
        **fields,
    )
