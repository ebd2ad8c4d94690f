"""How each record is laid out as an item of the single table, and read back (docs/data-model.md)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shared.adapters.dynamo import keys
from shared.model.contact import Contact, Identifier
from shared.model.records import (
    ActiveCase,
    CaseHint,
    CaseRecord,
    CustomerRecord,
    IdentityRecord,
    LinkWrites,
    Suggestion,
    ThreadHit,
    VersionedContact,
)
from shared.model.times import sortable_time

if TYPE_CHECKING:
    # For annotations only: table_client loads boto3, which the events function's stream
    # decoding (its only use of this module at import) does not need.
    from shared.adapters.dynamo.table_client import Item


def active_case_of(item: Item | None) -> ActiveCase:
    merged_into = item.get("merged_into") if item else None
    latest = datetime.fromisoformat(item["latest_at"]) if item and item.get("latest_at") else None
    if not item or "active_case_id" not in item:
        return ActiveCase(case_id=None, last_activity=None, merged_into=merged_into, latest_at=latest)
    return ActiveCase(
        case_id=item["active_case_id"],
        last_activity=datetime.fromisoformat(item["active_case_at"]),
        merged_into=merged_into,
        latest_at=latest,
    )


def identifier_item(identifier: Identifier, customer_id: str, at: datetime, claimed_by: str | None = None) -> Item:
    """The `IDN#` item that says who owns an identifier, and lists it under its customer (GSI1).

    `claimed_by` names the contact that attached it, so a redelivery of that contact
    does not mistake its own earlier, unfinished claim for a customer it already had.
    """
    return {
        "claimed_by": claimed_by,
        **keys.identifier(identifier),
        "customer_id": customer_id,
        "kind": identifier.kind.value,
        "value": identifier.value,
        "assurance": identifier.assurance.value,
        "first_seen": sortable_time(at),
        "GSI1PK": keys.customer_partition(customer_id),
        "GSI1SK": keys.identifier_listing_sort(identifier),
    }


def contact_item(contact: Contact, links: LinkWrites | None = None) -> Item:
    """The contact, and what it linked (`links`): a redelivery rewrites exactly that after a crash."""
    item: Item = {
        **keys.contact(contact.contact_id),
        "type": "contact",
        "contact": contact.model_dump_json(exclude_none=True),
        "links": links.model_dump_json(exclude_defaults=True) if links is not None else None,
        "customer_id": contact.customer_id,
        "case_id": contact.case_id,
        "channel": contact.channel.value,
        "occurred_at": sortable_time(contact.occurred_at),
    }
    if contact.customer_id:
        item["GSI1PK"] = keys.customer_partition(contact.customer_id)
        item["GSI1SK"] = keys.timeline_sort(contact.occurred_at, contact.contact_id)
    if contact.case_id:
        item["GSI2PK"] = keys.case_partition(contact.case_id)
        item["GSI2SK"] = keys.timeline_sort(contact.occurred_at, contact.contact_id)
    return item


def links_from_item(item: Item) -> LinkWrites | None:
    links = item.get("links")
    return LinkWrites.model_validate_json(links) if links else None


def suggestion_item(suggestion: Suggestion) -> Item:
    return {
        **keys.suggestion(suggestion.contact_id, suggestion.item_key),
        "type": "suggestion",
        "contact_id": suggestion.contact_id,
        "customer_id": suggestion.customer_id,
        "identifier": suggestion.identifier.model_dump(mode="json"),
        "candidate_customer_id": suggestion.candidate_customer_id,
        "case_id": suggestion.case_id,
        "evidence": suggestion.evidence,
    }


def case_item(record: CaseRecord) -> Item:
    item: Item = {
        **keys.case(record.case_id),
        "type": "case",
        **record.model_dump(mode="json"),
    }
    if record.customer_id:
        item["GSI1PK"] = keys.customer_partition(record.customer_id)
        item["GSI1SK"] = keys.case_listing_sort(record.opened_at, record.case_id)
    return item


def customer_from_item(customer_id: str, item: Item) -> CustomerRecord:
    active = active_case_of(item)
    return CustomerRecord(
        customer_id=customer_id,
        status=item.get("status", "active"),
        created_at=datetime.fromisoformat(item["created_at"]),
        active_case_id=active.case_id,
        active_case_at=active.last_activity,
    )


def case_from_item(item: Item) -> CaseRecord:
    return CaseRecord.model_validate({name: item.get(name) for name in CaseRecord.model_fields})


def identity_from_item(item: Item) -> IdentityRecord:
    return IdentityRecord.model_validate(
        {
            "identifier": {"kind": item["kind"], "value": item["value"], "assurance": item["assurance"]},
            "customer_id": item["customer_id"],
            "assurance": item["assurance"],
            "first_seen": item["first_seen"],
            "contested_with": sorted(set(item.get("disputed_by", ())) - {item["customer_id"]}),
        }
    )


def versioned_from_item(item: Item) -> VersionedContact:
    return VersionedContact(Contact.model_validate_json(item["contact"]), int(item.get("version", 0)))


def thread_hit_from_item(thread_key: str, item: Item) -> ThreadHit:
    return ThreadHit(thread_key, item["case_id"], item.get("customer_id"))


def hint_from_item(item: Item) -> CaseHint | None:
    if "customer_id" not in item or "case_id" not in item:
        return None
    return CaseHint(item["customer_id"], item["case_id"], datetime.fromisoformat(item["at"]))
