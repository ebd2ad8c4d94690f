"""Stored change → events: pure, so every rule is testable on a stream record without AWS.

Events come from the table's stream, not from the request path, so an event is
published if and only if its change was stored. Which item a change touched is
read from its keys (the same builders `shared.store.keys` writes them with);
items of other kinds (dedupe markers, hints, thread keys, ...) yield nothing.
To emit an event for a new kind of item, add an `ItemKind` to `ITEM_KINDS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from pydantic import BaseModel

from shared.events.models import (
    EVENT_MODELS,
    CustomerErasedData,
    CustomerMergedData,
    CustomerUnmergedData,
    EventEnvelope,
    EventType,
    IdentitySuggestedData,
)
from shared.schema import Contact
from shared.store import keys
from shared.store.items import case_from_item, customer_from_item
from shared.store.records import CaseStatus

# Event ids are UUIDv5 of (stream record id, event type) in this namespace: a
# redelivered stream batch republishes the same ids, and consumers dedupe on them.
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:threadline:events")


class ChangeName(StrEnum):
    INSERT = "INSERT"
    MODIFY = "MODIFY"
    REMOVE = "REMOVE"


class MalformedChange(ValueError):
    """A stream record without what every record carries; the record fails and is retried."""


@dataclass(frozen=True)
class StoredChange:
    """One DynamoDB stream record, its images as plain Python values."""

    stream_event_id: str
    name: ChangeName
    at: datetime
    keys: Mapping[str, Any]
    old_image: Mapping[str, Any] | None = None
    new_image: Mapping[str, Any] | None = None

    @classmethod
    def from_record(cls, record: DynamoDBRecord) -> StoredChange:
        stream = record.dynamodb
        created = stream.approximate_creation_date_time if stream else None
        if not (record.event_id and record.event_name and stream and created is not None):
            raise MalformedChange("stream record lacks eventID, eventName or ApproximateCreationDateTime")
        return cls(
            stream_event_id=record.event_id,
            name=ChangeName(record.event_name.name),
            at=datetime.fromtimestamp(created, UTC),
            keys=stream.keys,
            old_image=_stored_attributes(stream.old_image, stream.keys),
            new_image=_stored_attributes(stream.new_image, stream.keys),
        )

    # Rules read what the images say rather than `name`: moto may stream a keys-only
    # image first, and a change is what was stored before and after, whatever it is called.
    @property
    def created(self) -> Mapping[str, Any] | None:
        """The item, when this change stored it where nothing was."""
        return self.new_image if self.old_image is None else None

    @property
    def modified(self) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
        """The item before and after, when this change rewrote a stored item."""
        if self.old_image is None or self.new_image is None:
            return None
        return self.old_image, self.new_image


def _stored_attributes(image: Mapping[str, Any], item_keys: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """None for an absent image, and for one that holds nothing but the keys: moto streams such an
    extra INSERT before the real one when UpdateItem creates an item (DynamoDB streams one)."""
    return image if any(name not in item_keys for name in image) else None


@dataclass(frozen=True)
class EventDraft:
    """An event before its envelope: what a rule decides."""

    type: EventType
    data: BaseModel
    customer_id: str | None
    case_id: str | None


Rule = Callable[[StoredChange, str], Sequence[EventDraft]]


@dataclass(frozen=True)
class ItemKind:
    """One kind of item, recognised by its keys' shape, and the rule that turns its changes into events."""

    name: str
    pattern: keys.Key  # the item's keys built with an empty id: {"PK": "CON#", "SK": "CON"}
    rule: Rule

    def item_id(self, item_keys: Mapping[str, Any]) -> str | None:
        """The id inside the partition key when the keys have this kind's shape, else None."""
        partition, sort = item_keys.get("PK"), item_keys.get("SK")
        if not isinstance(partition, str) or sort != self.pattern["SK"]:
            return None
        prefix = self.pattern["PK"]
        return partition[len(prefix) :] if partition.startswith(prefix) and len(partition) > len(prefix) else None


def _contact(image: Mapping[str, Any]) -> Contact:
    return Contact.model_validate_json(image["contact"])


def _contact_events(change: StoredChange, _contact_id: str) -> list[EventDraft]:
    if change.created is not None:
        contact = _contact(change.created)
        return [EventDraft(EventType.CONTACT_RECEIVED, contact, contact.customer_id, contact.case_id)]
    if change.modified is not None:
        before, after = (_contact(image) for image in change.modified)
        if after != before:  # a rewrite of the same contact (a retried save) is no change
            return [EventDraft(EventType.CONTACT_UPDATED, after, after.customer_id, after.case_id)]
    return []


def _profile_events(change: StoredChange, customer_id: str) -> list[EventDraft]:
    # A profile's later changes (its active case moving) are not events: case and
    # contact events carry them; merges are events of the merge log.
    if change.created is not None:
        return [
            EventDraft(
                EventType.CUSTOMER_CREATED, customer_from_item(customer_id, dict(change.created)), customer_id, None
            )
        ]
    return []


def _case_events(change: StoredChange, _case_id: str) -> list[EventDraft]:
    if change.created is not None:
        case = case_from_item(dict(change.created))
        return [EventDraft(EventType.CASE_OPENED, case, case.customer_id, case.case_id)]
    if change.modified is not None:
        before, after = (case_from_item(dict(image)) for image in change.modified)
        if after == before:
            return []
        closed = after.status is CaseStatus.CLOSED and before.status is not CaseStatus.CLOSED
        kind = EventType.CASE_CLOSED if closed else EventType.CASE_UPDATED
        return [EventDraft(kind, after, after.customer_id, after.case_id)]
    return []


def _erasure_events(change: StoredChange, customer_id: str) -> list[EventDraft]:
    # The tombstone holds ids only and is written once (conditionally): one event per erasure.
    if change.created is not None:
        data = CustomerErasedData(
            customer_id=customer_id, erased_at=datetime.fromisoformat(change.created["erased_at"])
        )
        return [EventDraft(EventType.CUSTOMER_ERASED, data, customer_id, None)]
    return []


def _merge_events(change: StoredChange, merge_id: str) -> list[EventDraft]:
    # The merge log moves applying → applied (the merge is done) → undoing → undone; only
    # arriving at `applied` and at `undone` are events, so a retried step emits nothing.
    if change.modified is None:
        return []
    before, after = change.modified
    if before.get("state") == after.get("state"):
        return []
    survivor = str(after["surviving_customer_id"])
    if after.get("state") == "applied":
        merged = CustomerMergedData(
            merge_id=merge_id,
            surviving_customer_id=survivor,
            merged_customer_id=after["merged_customer_id"],
            evidence=after["evidence"],
            merged_at=datetime.fromisoformat(after["merged_at"]),
        )
        return [EventDraft(EventType.CUSTOMER_MERGED, merged, survivor, None)]
    if after.get("state") == "undone":
        unmerged = CustomerUnmergedData(
            merge_id=merge_id,
            surviving_customer_id=survivor,
            restored_customer_id=after["merged_customer_id"],
            unmerged_at=datetime.fromisoformat(after["undone_at"]),
        )
        return [EventDraft(EventType.CUSTOMER_UNMERGED, unmerged, survivor, None)]
    return []


def _suggestion_events(change: StoredChange, _suggestion_id: str) -> list[EventDraft]:
    # One item per (contact, claimed identifier), written once: one event per suggestion.
    if change.created is None:
        return []
    item = change.created
    suggested = IdentitySuggestedData.model_validate(
        {name: item.get(name) for name in IdentitySuggestedData.model_fields}
    )
    return [EventDraft(EventType.IDENTITY_SUGGESTED, suggested, suggested.customer_id, suggested.case_id)]


ITEM_KINDS: tuple[ItemKind, ...] = (
    ItemKind("contact", keys.contact(""), _contact_events),
    ItemKind("customer profile", keys.profile(""), _profile_events),
    ItemKind("case", keys.case(""), _case_events),
    ItemKind("customer erasure", keys.erasure(""), _erasure_events),
    ItemKind("merge log", keys.merge_log(""), _merge_events),
    ItemKind("identity suggestion", {"PK": keys.SUGGESTION_PREFIX, "SK": "SUG"}, _suggestion_events),
)


def event_id(stream_event_id: str, event_type: EventType) -> uuid.UUID:
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{stream_event_id}/{event_type.value}")


def derive_events(change: StoredChange, kinds: Sequence[ItemKind] = ITEM_KINDS) -> list[EventEnvelope]:
    """The events one stored change yields: none for an item kind no rule knows."""
    for kind in kinds:
        item_id = kind.item_id(change.keys)
        if item_id is None:
            continue
        return [
            EVENT_MODELS[draft.type](
                event_id=event_id(change.stream_event_id, draft.type),
                type=draft.type,
                time=change.at,
                customer_id=draft.customer_id,
                case_id=draft.case_id,
                data=draft.data,
            )
            for draft in kind.rule(change, item_id)
        ]
    return []
