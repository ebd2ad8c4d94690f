"""The table's stream, decoded: which stored record a change touched, before and after.

Which item a change touched is read from its keys (the same builders `keys`
writes them with); items of other kinds (dedupe markers, hints, thread keys, ...)
decode to None. The events use case (`shared.events.derivation`) only ever sees
the decoded `StoredChange`, never an item.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from shared.adapters.dynamo import keys
from shared.adapters.dynamo.items import case_from_item, customer_from_item
from shared.model.contact import Contact, Identifier
from shared.model.records import (
    ErasureRecord,
    MergeLogRecord,
    StoredChange,
    StoredKind,
    StoredRecord,
    Suggestion,
)


class ChangeName(StrEnum):
    INSERT = "INSERT"
    MODIFY = "MODIFY"
    REMOVE = "REMOVE"


class MalformedChange(ValueError):
    """A stream record without what every record carries; the record fails and is retried."""


@dataclass(frozen=True)
class RawChange:
    """One DynamoDB stream record, its images as plain Python values."""

    stream_event_id: str
    name: ChangeName
    at: datetime
    keys: Mapping[str, Any]
    old_image: Mapping[str, Any] | None = None
    new_image: Mapping[str, Any] | None = None

    @classmethod
    def from_record(cls, record: DynamoDBRecord) -> RawChange:
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


def _stored_attributes(image: Mapping[str, Any], item_keys: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """None for an absent image, and for one that holds nothing but the keys: moto streams such an
    extra INSERT before the real one when UpdateItem creates an item (DynamoDB streams one)."""
    return image if any(name not in item_keys for name in image) else None


def _contact(_: str, item: Mapping[str, Any]) -> Contact:
    return Contact.model_validate_json(item["contact"])


def _merge_log(merge_id: str, item: Mapping[str, Any]) -> MergeLogRecord:
    undone = item.get("undone_at")
    return MergeLogRecord(
        merge_id=merge_id,
        state=str(item.get("state")),
        surviving_customer_id=str(item["surviving_customer_id"]),
        merged_customer_id=str(item["merged_customer_id"]),
        evidence=str(item["evidence"]),
        merged_at=datetime.fromisoformat(item["merged_at"]),
        undone_at=datetime.fromisoformat(undone) if undone else None,
    )


def _suggestion(_: str, item: Mapping[str, Any]) -> Suggestion:
    return Suggestion(
        contact_id=item["contact_id"],
        customer_id=item.get("customer_id"),
        identifier=Identifier.model_validate(item["identifier"]),
        candidate_customer_id=item.get("candidate_customer_id"),
        case_id=item.get("case_id"),
        evidence=item["evidence"],
    )


@dataclass(frozen=True)
class _Layout:
    """One kind of item, recognised by its keys' shape, and how to read it back."""

    kind: StoredKind
    pattern: keys.Key  # the item's keys built with an empty id: {"PK": "CON#", "SK": "CON"}
    read: Callable[[str, Mapping[str, Any]], StoredRecord]

    def item_id(self, item_keys: Mapping[str, Any]) -> str | None:
        """The id inside the partition key when the keys have this kind's shape, else None."""
        partition, sort = item_keys.get("PK"), item_keys.get("SK")
        if not isinstance(partition, str) or sort != self.pattern["SK"]:
            return None
        prefix = self.pattern["PK"]
        return partition[len(prefix) :] if partition.startswith(prefix) and len(partition) > len(prefix) else None


LAYOUTS: tuple[_Layout, ...] = (
    _Layout(StoredKind.CONTACT, keys.contact(""), _contact),
    _Layout(StoredKind.CUSTOMER, keys.profile(""), lambda cid, item: customer_from_item(cid, dict(item))),
    _Layout(StoredKind.CASE, keys.case(""), lambda _, item: case_from_item(dict(item))),
    _Layout(
        StoredKind.ERASURE,
        keys.erasure(""),
        lambda cid, item: ErasureRecord(cid, datetime.fromisoformat(item["erased_at"])),
    ),
    _Layout(StoredKind.MERGE_LOG, keys.merge_log(""), _merge_log),
    _Layout(StoredKind.SUGGESTION, {"PK": keys.SUGGESTION_PREFIX, "SK": "SUG"}, _suggestion),
)


def decode(change: RawChange) -> StoredChange | None:
    """The stored record a change touched, before and after; None for items no event is about."""
    for layout in LAYOUTS:
        item_id = layout.item_id(change.keys)
        if item_id is None:
            continue
        return StoredChange(
            change_id=change.stream_event_id,
            at=change.at,
            kind=layout.kind,
            before=layout.read(item_id, change.old_image) if change.old_image is not None else None,
            after=layout.read(item_id, change.new_image) if change.new_image is not None else None,
        )
    return None
