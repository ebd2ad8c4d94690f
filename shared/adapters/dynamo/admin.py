"""Store operations of the /v1 API that the processor never needs: filtered timelines, case status, erasure.

`AdminStore` is a `DynamoStore` (same client, table, item shapes and mechanics)
with the API's extra writes. They keep the processor's invariants
(docs/data-model.md): the profile's `active_case_id` only changes under a
condition, so a contact processed at the same time either sees the old active
case or the new one, never a half-written state. Erasure is not on the hot path:
it may Query the customer's GSI1 partition and GSI2 per case, never Scan.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamo import keys
from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.dynamo.cursors import decode_cursor, encode_cursor
from shared.adapters.dynamo.items import case_from_item, customer_from_item, links_from_item
from shared.adapters.dynamo.table import CASE_INDEX, CUSTOMER_INDEX, INDEXES
from shared.adapters.dynamo.table_client import Item, dump, is_condition_failure, load
from shared.model import thread_keys
from shared.model.contact import Contact
from shared.model.failures import ConditionFailed, InvalidCursor
from shared.model.records import (
    CaseChange,
    CaseRecord,
    CaseStatus,
    CustomerState,
    ErasureResult,
    LinkWrites,
    TimelineFilter,
)
from shared.model.times import sortable_time

# A filtered page reads at most this many raw pages; a sparse filter then answers a short
# page with a cursor instead of reading a long timeline in one request.
MAX_FILTER_READS = 8
FILTER_READ_SIZE = 200
LISTING_END = "~"  # appended to a listing's prefix, sorts after every `<prefix><time>#<id>` in it


@dataclass(frozen=True)
class _PartitionRead:
    items: list[Item]
    more: bool
    stopped_at: str | None = None  # set when the bounded read stopped before the partition's end


class AdminStore(DynamoStore):
    # --- reads ----------------------------------------------------------------------------

    def customer_state(self, customer_id: str) -> CustomerState:
        found = self._batch_get([keys.profile(customer_id), keys.erasure(customer_id)])
        profile = found.get(_pair(keys.profile(customer_id)))
        tombstone = found.get(_pair(keys.erasure(customer_id)))
        return CustomerState(
            profile=customer_from_item(customer_id, profile) if profile else None,
            erased_at=datetime.fromisoformat(tombstone["erased_at"]) if tombstone else None,
            absorbed=frozenset(profile.get("absorbed", ())) if profile else frozenset(),
        )

    def filtered_timeline(
        self,
        customer_id: str,
        where: TimelineFilter,
        *,
        limit: int,
        cursor: str | None,
        absorbed: Iterable[str] = (),
    ) -> tuple[list[Contact], str | None]:
        items, next_cursor = self._merged_listing(
            keys.TIMELINE_PREFIX, customer_id, where, limit=limit, cursor=cursor, absorbed=absorbed
        )
        return _contacts(items), next_cursor

    def merged_cases(
        self, customer_id: str, *, limit: int, cursor: str | None, absorbed: Iterable[str] = ()
    ) -> tuple[list[CaseRecord], str | None]:
        """Newest first: the customer's cases and those of customers merged into it."""
        items, next_cursor = self._merged_listing(
            keys.CASE_LISTING_PREFIX, customer_id, TimelineFilter(), limit=limit, cursor=cursor, absorbed=absorbed
        )
        return [case_from_item(item) for item in items], next_cursor

    def _merged_listing(
        self,
        prefix: str,
        customer_id: str,
        where: TimelineFilter,
        *,
        limit: int,
        cursor: str | None,
        absorbed: Iterable[str],
    ) -> tuple[list[Item], str | None]:
        """Newest first, over the customer's own listing and those of customers merged into it.

        The cursor is the position (`<prefix><time>#<id>`, e.g. `C#<time>#<contact_id>`) of the
        last item returned: one order for every partition, so a walk resumes exactly after it: no gap, no repeat,
        whatever arrives meanwhile. With a filter, each partition is read until `limit` items
        match or it ends (bounded by MAX_FILTER_READS; a page may then be short, never wrong).
        """
        partition_name, sort_name = INDEXES[CUSTOMER_INDEX]
        own_partition = keys.customer_partition(customer_id)
        start = decode_cursor(cursor, partition_attribute=partition_name, partition=own_partition)
        after = start.get(sort_name) if start else None
        if start and not (after and after.startswith(prefix)):
            raise InvalidCursor("cursor is not valid")
        found: list[Item] = []
        more = False
        unread_below = ""  # a filtered read that hit its bound left items at or below this position unread
        for partition in dict.fromkeys([customer_id, *absorbed]):
            read = self._listing_partition(prefix, partition, where, limit=limit, before=after)
            found += read.items
            more = more or read.more
            unread_below = max(unread_below, read.stopped_at or "")
        found = sorted((item for item in found if item[sort_name] >= unread_below), key=_position, reverse=True)
        page = found[:limit]
        if len(found) > limit:
            position = page[-1][sort_name]
        elif unread_below:
            position = unread_below  # a short page: resume where the bounded read stopped
        else:
            position = page[-1][sort_name] if page and more else None
        next_cursor = encode_cursor({partition_name: own_partition, sort_name: position}) if position else None
        return page, next_cursor

    def _listing_partition(
        self, prefix: str, customer_id: str, where: TimelineFilter, *, limit: int, before: str | None
    ) -> _PartitionRead:
        """Up to `limit` + 1 matching items of one customer's listing strictly before `before`."""
        partition_name, sort_name = INDEXES[CUSTOMER_INDEX]
        low = keys.timeline_sort(where.since, "") if where.since else prefix
        if before is not None and before < low:
            return _PartitionRead([], more=False)  # the walk is past `since` (and BETWEEN refuses low > high)
        values: dict[str, str] = {
            ":pk": keys.customer_partition(customer_id),
            ":low": low,
            ":high": before or prefix + LISTING_END,
        }
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": CUSTOMER_INDEX,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#pk": partition_name, "#sk": sort_name},
            "ScanIndexForward": False,
        }
        conditions = []
        if where.channel is not None:
            conditions.append("channel = :channel")
            values[":channel"] = where.channel.value
        if where.case_id is not None:
            conditions.append("case_id = :case")
            values[":case"] = where.case_id
        if conditions:
            request["FilterExpression"] = " AND ".join(conditions)
        request["ExpressionAttributeValues"] = dump(values)
        matched: list[Item] = []
        for _ in range(MAX_FILTER_READS):
            wanted = limit + 1 - len(matched)  # one more than a page: tells whether another page exists
            request["Limit"] = max(wanted, FILTER_READ_SIZE) if where.filters_items else wanted + 1
            response = self._client.query(**request)
            matched += [item for item in map(load, response.get("Items", [])) if item[sort_name] != before]
            if len(matched) > limit:
                return _PartitionRead(matched[: limit + 1], more=True)
            if "LastEvaluatedKey" not in response:
                return _PartitionRead(matched, more=False)
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return _PartitionRead(matched, more=True, stopped_at=str(load(request["ExclusiveStartKey"])[sort_name]))

    # --- cases ----------------------------------------------------------------------------

    def close_case(self, case_id: str, at: datetime) -> CaseChange | None:
        """Close the case; if it was its customer's active case, clear that so the next contact opens a new one."""
        change = self._set_case_status(case_id, CaseStatus.CLOSED, at)
        if change and change.case.customer_id:
            self._update_profile(
                change.case.customer_id,
                update="REMOVE active_case_id, active_case_at",
                condition="active_case_id = :case",
                values={":case": case_id},
            )
        return change

    def reopen_case(self, case_id: str, at: datetime) -> CaseChange | None:
        """Reopen the case and make it its customer's active case, with its last activity now."""
        change = self._set_case_status(case_id, CaseStatus.OPEN, at)
        if change and change.case.customer_id:
            # Only a live profile: never resurrect one that was merged away or erased meanwhile.
            self._update_profile(
                change.case.customer_id,
                update="SET active_case_id = :case, active_case_at = :at",
                condition="attribute_exists(PK) AND (attribute_not_exists(#status) OR #status = :active)",
                values={":case": case_id, ":at": sortable_time(at), ":active": "active"},
                names={"#status": "status"},
            )
        return change

    def _set_case_status(self, case_id: str, status: CaseStatus, at: datetime) -> CaseChange | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=dump(keys.case(case_id)),
                UpdateExpression="SET #status = :status, status_changed_at = :at",
                ConditionExpression="attribute_exists(PK) AND #status <> :status",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=dump({":status": status.value, ":at": sortable_time(at)}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            old: Mapping[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
            return CaseChange(case_from_item(load(old)), changed=False) if old else None
        return CaseChange(case_from_item(load(response["Attributes"])), changed=True)

    # --- erasure --------------------------------------------------------------------------

    def erase_customer(self, customer_id: str, at: datetime) -> ErasureResult:
        """Delete everything of the customer, leaving only the `CUS#<id>/ERASED` tombstone (ids only).

        Resumable: the tombstone is written first (reads answer 410 from then on, the
        stream turns it into `customer.erased` once), then the hashed markers of the
        customer's messages, then what is found through the contacts and cases, and the
        contacts, cases and identifiers themselves last: a sweep cut short leaves them
        to be found again, so repeating the request finishes it.
        """
        erased_at = self._write_tombstone(customer_id, at)
        found: dict[tuple[str, str], keys.Key] = {}  # deleted first: reachable only through what is below
        primary: dict[tuple[str, str], keys.Key] = {}  # deleted last: how a repeated sweep finds the rest
        own: list[Item] = list(self._partition(CUSTOMER_INDEX, keys.customer_partition(customer_id)))
        case_ids = [item["case_id"] for item in own if item.get("type") == "case"]
        contacts = [item for item in own if item.get("type") == "contact"]
        for case_id in case_ids:
            # Contacts of other customers that quoted this case's reference are theirs: they stay.
            contacts += [
                item
                for item in self._partition(CASE_INDEX, keys.case_partition(case_id))
                if item.get("customer_id") in (None, customer_id)
            ]
            case = self.get_case(case_id)
            if case:
                _add(found, keys.thread(thread_keys.case_reference(case.reference)))
        for item in own:
            _add(primary, {"PK": item["PK"], "SK": item["SK"]})
            if item["SK"].startswith(keys.DISPUTE_PREFIX):
                # The identifier is another customer's: only this customer's dispute of it goes.
                self._withdraw_dispute(keys.disputed_identifier(item), customer_id)
            elif item["PK"].startswith("IDN#"):
                _add(found, {"PK": item["PK"], "SK": "LAST"})
        gone: dict[tuple[str, str], Item] = {}
        for item in contacts:
            contact = Contact.model_validate_json(item["contact"])
            marker = keys.erased_message(contact.provider.value, contact.provider_message_id)
            gone[_pair(marker)] = {**marker, "type": "erased_message", "erased_at": sortable_time(erased_at)}
            _add(primary, keys.contact(contact.contact_id))
            _add(found, keys.message(contact.provider.value, contact.provider_message_id))
            if contact.delivery and contact.delivery.provider_message_id:  # a reply: the provider's id of it too
                _add(found, keys.message(contact.provider.value, contact.delivery.provider_message_id))
                _add(found, keys.thread(f"msg#{contact.delivery.provider_message_id}"))
            links = links_from_item(item) or LinkWrites()
            for thread_key in (*thread_keys.owned(contact), *links.thread_keys):
                _add(found, keys.thread(thread_key))
            for identifier in (*contact.customer_party.identifiers, *links.hint_identifiers):
                # A hint is only a guess: deleting another owner's costs it one round trip, no more.
                _add(found, keys.identifier_hint(identifier))
            for suggestion in links.suggested:
                _add(found, keys.suggestion(contact.contact_id, suggestion.item_key))
        for item in self._partition(None, keys.customer_partition(customer_id)):
            if item["SK"] != keys.erasure(customer_id)["SK"]:
                _add(primary, {"PK": item["PK"], "SK": item["SK"]})  # the profile and any merge log
        # Hashed markers first: from then on a redelivery of any of these messages is recognised and
        # skipped (docs/api.md, erasure), even if this sweep stops half way and is run again.
        self._batch_put(list(gone.values()))
        doomed = [key for pair, key in found.items() if pair not in primary]
        self._batch_delete(doomed)
        self._batch_delete(list(primary.values()))
        return ErasureResult(erased_at=erased_at, deleted_items=len(doomed) + len(primary))

    def _withdraw_dispute(self, identifier: keys.Key, customer_id: str) -> None:
        with contextlib.suppress(ConditionFailed):
            self._update(
                identifier,
                "DELETE disputed_by :customer",
                "attribute_exists(PK)",
                {":customer": {customer_id}},
            )

    def _write_tombstone(self, customer_id: str, at: datetime) -> datetime:
        item = {**keys.erasure(customer_id), "type": "erasure", "erased_at": sortable_time(at)}
        erased_before = self._put_if_absent(item)
        return datetime.fromisoformat(erased_before["erased_at"]) if erased_before else at


def _pair(key: keys.Key) -> tuple[str, str]:
    return key["PK"], key["SK"]


def _add(doomed: dict[tuple[str, str], keys.Key], key: keys.Key) -> None:
    doomed[_pair(key)] = key


def _position(item: Item) -> str:
    return str(item[INDEXES[CUSTOMER_INDEX][1]])


def _contacts(items: Iterable[Item]) -> list[Contact]:
    return [Contact.model_validate_json(item["contact"]) for item in items]
