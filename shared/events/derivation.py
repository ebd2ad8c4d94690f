"""Stored change → events: pure, so every rule is testable without AWS.

Events come from the table's stream, not from the request path, so an event is
published if and only if its change was stored. The stream adapter
(`shared.adapters.dynamo.stream`) decodes each record into a `StoredChange` of
one kind of record; changes of other items (dedupe markers, hints, thread keys,
...) never reach this module. To emit an event for a new kind of record, add a
`StoredKind` and a rule to `RULES`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from shared.model.contact import Contact, DeliveryStatus
from shared.model.events import (
    EVENT_MODELS,
    CustomerErasedData,
    CustomerMergedData,
    CustomerUnmergedData,
    EventEnvelope,
    EventType,
    IdentitySuggestedData,
)
from shared.model.records import (
    CaseRecord,
    CaseStatus,
    CustomerRecord,
    ErasureRecord,
    MergeLogRecord,
    MergeState,
    StoredChange,
    StoredKind,
    Suggestion,
)

# Event ids are UUIDv5 of (stream record id, event type) in this namespace: a
# redelivered stream batch republishes the same ids, and consumers dedupe on them.
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:threadline:events")


@dataclass(frozen=True)
class EventDraft:
    """An event before its envelope: what a rule decides."""

    type: EventType
    data: BaseModel
    customer_id: str | None
    case_id: str | None


Rule = Callable[[StoredChange], Sequence[EventDraft]]


def _contact_events(change: StoredChange) -> list[EventDraft]:
    after = change.after
    if not isinstance(after, Contact):
        return []
    if change.before is None:
        return [EventDraft(EventType.CONTACT_RECEIVED, after, after.customer_id, after.case_id)]
    if after != change.before:  # a rewrite of the same contact (a retried save) is no change
        updated = EventDraft(EventType.CONTACT_UPDATED, after, after.customer_id, after.case_id)
        before = change.before if isinstance(change.before, Contact) else None
        reply = _reply_event(before, after)
        return [updated, *([EventDraft(reply, after, after.customer_id, after.case_id)] if reply else [])]
    return []


_REACHED = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.READ})


def _reply_event(before: Contact | None, after: Contact) -> EventType | None:
    """A reply's delivery reaching sent, delivered (or read, which implies it) or failed: once each."""
    was = before.delivery.status if before is not None and before.delivery else None
    now = after.delivery.status if after.delivery else None
    if now is None or now == was:
        return None
    if now is DeliveryStatus.SENT:
        return EventType.REPLY_SENT
    if now in _REACHED and was not in _REACHED:
        return EventType.REPLY_DELIVERED
    if now is DeliveryStatus.FAILED:
        return EventType.REPLY_FAILED
    return None


def _customer_events(change: StoredChange) -> list[EventDraft]:
    # A profile's later changes (its active case moving) are not events: case and
    # contact events carry them; merges are events of the merge log.
    created = change.created
    if isinstance(created, CustomerRecord):
        return [EventDraft(EventType.CUSTOMER_CREATED, created, created.customer_id, None)]
    return []


def _case_events(change: StoredChange) -> list[EventDraft]:
    before, after = change.before, change.after
    if not isinstance(after, CaseRecord):
        return []
    if before is None:
        return [EventDraft(EventType.CASE_OPENED, after, after.customer_id, after.case_id)]
    if after == before:
        return []
    closed = (
        after.status is CaseStatus.CLOSED and isinstance(before, CaseRecord) and before.status is not CaseStatus.CLOSED
    )
    kind = EventType.CASE_CLOSED if closed else EventType.CASE_UPDATED
    return [EventDraft(kind, after, after.customer_id, after.case_id)]


def _erasure_events(change: StoredChange) -> list[EventDraft]:
    # The tombstone holds ids only and is written once (conditionally): one event per erasure.
    created = change.created
    if isinstance(created, ErasureRecord):
        data = CustomerErasedData(customer_id=created.customer_id, erased_at=created.erased_at)
        return [EventDraft(EventType.CUSTOMER_ERASED, data, created.customer_id, None)]
    return []


def _merge_events(change: StoredChange) -> list[EventDraft]:
    # The merge log moves applying → applied (the merge is done) → undoing → undone; only
    # arriving at `applied` and at `undone` are events, so a retried step emits nothing.
    before, after = change.before, change.after
    if not isinstance(before, MergeLogRecord) or not isinstance(after, MergeLogRecord) or before.state == after.state:
        return []
    survivor = after.surviving_customer_id
    if after.state == MergeState.APPLIED:
        merged = CustomerMergedData(
            merge_id=after.merge_id,
            surviving_customer_id=survivor,
            merged_customer_id=after.merged_customer_id,
            evidence=after.evidence,
            merged_at=after.merged_at,
        )
        return [EventDraft(EventType.CUSTOMER_MERGED, merged, survivor, None)]
    if after.state == MergeState.UNDONE and after.undone_at is not None:
        unmerged = CustomerUnmergedData(
            merge_id=after.merge_id,
            surviving_customer_id=survivor,
            restored_customer_id=after.merged_customer_id,
            unmerged_at=after.undone_at,
        )
        return [EventDraft(EventType.CUSTOMER_UNMERGED, unmerged, survivor, None)]
    return []


def _suggestion_events(change: StoredChange) -> list[EventDraft]:
    # One item per (contact, claimed identifier), written once: one event per suggestion.
    created = change.created
    if not isinstance(created, Suggestion):
        return []
    suggested = IdentitySuggestedData(
        contact_id=created.contact_id,
        customer_id=created.customer_id,
        identifier=created.identifier,
        candidate_customer_id=created.candidate_customer_id,
        case_id=created.case_id,
        evidence=created.evidence,
    )
    return [EventDraft(EventType.IDENTITY_SUGGESTED, suggested, suggested.customer_id, suggested.case_id)]


RULES: dict[StoredKind, Rule] = {
    StoredKind.CONTACT: _contact_events,
    StoredKind.CUSTOMER: _customer_events,
    StoredKind.CASE: _case_events,
    StoredKind.ERASURE: _erasure_events,
    StoredKind.MERGE_LOG: _merge_events,
    StoredKind.SUGGESTION: _suggestion_events,
}


def event_id(change_id: str, event_type: EventType) -> uuid.UUID:
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{change_id}/{event_type.value}")


def derive_events(change: StoredChange | None) -> list[EventEnvelope]:
    """The events one stored change yields: none for a change of no record (a marker, a key, a hint)."""
    if change is None:
        return []
    return [
        EVENT_MODELS[draft.type](
            event_id=event_id(change.change_id, draft.type),
            type=draft.type,
            time=change.at,
            customer_id=draft.customer_id,
            case_id=draft.case_id,
            data=draft.data,
        )
        for draft in RULES[change.kind](change)
    ]
