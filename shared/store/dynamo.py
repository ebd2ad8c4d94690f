"""The DynamoDB adapter: conditional single-item writes and key lookups, nothing else.

No transactions on the hot path: races are settled by conditions on one item
(DESIGN.md section 3), and every write is idempotent because ids are derived
from the provider's message id.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from shared.config import get_settings
from shared.identity.suggestions import Suggestion
from shared.linking import ActiveCase, ThreadHit, reference_key
from shared.schema import Contact, Identifier
from shared.store import keys
from shared.store.items import (
    active_case_of,
    case_from_item,
    case_item,
    contact_item,
    customer_from_item,
    identifier_item,
    identity_from_item,
    suggestion_item,
)
from shared.store.records import CaseRecord, CustomerRecord, IdentityRecord
from shared.store.table import CASE_INDEX, CUSTOMER_INDEX
from shared.store.table_client import Item, TableClient, dump, is_condition_failure, load

if TYPE_CHECKING:
    pass

MAX_IDENTIFIERS = 100


@dataclass(frozen=True)
class VersionedContact:
    """A contact that later reports merge into (a call), with the version its item holds.

    Every write of such an item is conditional on the version it read, so two
    processors merging into one call never overwrite each other (docs/channels/telephony.md).
    """

    contact: Contact
    version: int

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> VersionedContact:
        return cls(Contact.model_validate_json(item["contact"]), int(item.get("version", 0)))


class Lookup:
    """What one BatchGetItem found for a contact: the first round trip of the hot path."""

    def __init__(self, items: Mapping[tuple[str, str], Item]) -> None:
        self._items = items

    def get(self, key: keys.Key) -> Item | None:
        return self._items.get((key["PK"], key["SK"]))

    def duplicate_of(self, contact: Contact) -> str | None:
        marker = self.get(keys.message(contact.provider.value, contact.provider_message_id))
        return marker["contact_id"] if marker else None

    def versioned(self, contact_id: str) -> VersionedContact | None:
        """The stored contact, when the look-up fetched it (see `DynamoStore.lookup`)."""
        item = self.get(keys.contact(contact_id))
        return VersionedContact.from_item(item) if item else None

    def owners(self, identifiers: Iterable[Identifier]) -> dict[str, str]:
        found = {}
        for identifier in identifiers:
            item = self.get(keys.identifier(identifier))
            if item:
                found[identifier.key] = item["customer_id"]
        return found

    def thread_hits(self, thread_keys: Iterable[str]) -> dict[str, ThreadHit]:
        hits = {}
        for thread_key in thread_keys:
            item = self.get(keys.thread(thread_key))
            if item:
                hits[thread_key] = ThreadHit(thread_key, item["case_id"], item.get("customer_id"))
        return hits

    def hint(self, identifier: Identifier | None, customer_id: str) -> ActiveCase:
        """The case this identifier last wrote to: a guess that saves a round trip, never a truth."""
        item = self.get(keys.identifier_hint(identifier)) if identifier else None
        if not item or item.get("customer_id") != customer_id:
            return ActiveCase(case_id=None, last_activity=None)
        return ActiveCase(case_id=item["case_id"], last_activity=datetime.fromisoformat(item["at"]))


class DynamoStore(TableClient):
    # --- hot path -------------------------------------------------------------------------

    def lookup(self, contact: Contact, identifiers: Sequence[Identifier], thread_keys: Sequence[str]) -> Lookup:
        wanted = [keys.message(contact.provider.value, contact.provider_message_id)]
        for identifier in identifiers:
            wanted += [keys.identifier(identifier), keys.identifier_hint(identifier)]
        wanted += [keys.thread(thread_key) for thread_key in thread_keys]
        if contact.revision is not None:
            # Where every report of an object mints the same contact id (Connect's come
            # from ContactId and InitiationTimestamp), this saves the merge a GetItem.
            wanted.append(keys.contact(contact.contact_id))
        return Lookup(self._batch_get(wanted))

    def claim_message(self, contact: Contact) -> str:
        """Make `contact` the one stored under its provider message id; returns the owner's contact id.

        Reports of one call mint different contact ids (Twilio gives no call start
        time), so this conditional marker settles which one names the call.
        """
        item = {**keys.message(contact.provider.value, contact.provider_message_id), "contact_id": contact.contact_id}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=dump(item),
                ConditionExpression="attribute_not_exists(PK) OR contact_id = :contact",
                ExpressionAttributeValues={":contact": {"S": contact.contact_id}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return str(load(error.response["Item"])["contact_id"])  # type: ignore[typeddict-item]
        return contact.contact_id

    def get_versioned(self, contact_id: str) -> VersionedContact | None:
        item = self._get(keys.contact(contact_id))
        return VersionedContact.from_item(item) if item else None

    def put_versioned(self, contact: Contact, expected_version: int | None) -> VersionedContact | None:
        """Write the contact as version `expected + 1` (or 1 when new). None when written, else what is stored."""
        version = (expected_version or 0) + 1
        request: dict[str, Any] = {
            "TableName": self._table,
            "Item": dump({**contact_item(contact), "version": version}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if expected_version is None:
            request["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            request["ConditionExpression"] = "version = :expected"
            request["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        try:
            self._client.put_item(**request)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return VersionedContact.from_item(load(error.response["Item"]))  # type: ignore[typeddict-item]
        return None

    def claim_identifier(self, identifier: Identifier, customer_id: str, at: datetime) -> str:
        """Attach an unowned identifier; returns its owner, which may be a faster racer."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=dump(identifier_item(identifier, customer_id, at)),
                ConditionExpression="attribute_not_exists(PK) OR customer_id = :customer",
                ExpressionAttributeValues={":customer": {"S": customer_id}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return str(load(error.response["Item"])["customer_id"])  # type: ignore[typeddict-item]
        return customer_id

    def count_identifiers(self, customer_id: str, kind: str, *, up_to: int) -> int:
        """How many identifiers of `kind` the customer owns, counting no further than `up_to`."""
        response = self._client.query(
            TableName=self._table,
            IndexName=CUSTOMER_INDEX,
            KeyConditionExpression="GSI1PK = :pk AND begins_with(GSI1SK, :kind)",
            ExpressionAttributeValues=dump(
                {":pk": keys.customer_partition(customer_id), ":kind": f"{keys.IDENTIFIER_LISTING_PREFIX}{kind}#"}
            ),
            Select="COUNT",
            Limit=up_to,
        )
        return int(response.get("Count", 0))

    def continue_case(self, customer_id: str, case_id: str, at: datetime, window_start: datetime) -> ActiveCase | None:
        """Move the active case's last activity to `at`. None when done, else the profile as it is."""
        return self._update_profile(
            customer_id,
            update="SET active_case_at = :at",
            condition=(
                "active_case_id = :case AND active_case_at BETWEEN :window_start AND :at"
                " AND attribute_not_exists(merged_into)"
            ),
            values={
                ":case": case_id,
                ":at": keys.sortable_time(at),
                ":window_start": keys.sortable_time(window_start),
            },
        )

    def open_case(self, customer_id: str, case_id: str, at: datetime, window_start: datetime) -> ActiveCase | None:
        """Make `case_id` the active case unless an open case is still in the window."""
        return self._update_profile(
            customer_id,
            update=(
                "SET active_case_id = :case, active_case_at = :at, "
                "created_at = if_not_exists(created_at, :at), #status = if_not_exists(#status, :active)"
            ),
            condition=(
                "(attribute_not_exists(active_case_id) OR active_case_at < :window_start OR active_case_id = :case)"
                " AND attribute_not_exists(merged_into)"
            ),
            values={
                ":case": case_id,
                ":at": keys.sortable_time(at),
                ":window_start": keys.sortable_time(window_start),
                ":active": "active",
            },
            names={"#status": "status"},
        )

    def ensure_profile(self, customer_id: str, at: datetime) -> None:
        """A new customer whose first contact went to another customer's case still needs a profile."""
        self._client.update_item(
            TableName=self._table,
            Key=dump(keys.profile(customer_id)),
            UpdateExpression="SET created_at = if_not_exists(created_at, :at), #status = if_not_exists(#status, :on)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=dump({":at": keys.sortable_time(at), ":on": "active"}),
        )

    def follow_thread(self, customer_id: str, case_id: str, at: datetime) -> None:
        """A reply on a case's thread makes that case the customer's most recently active one."""
        self._update_profile(
            customer_id,
            update=(
                "SET active_case_id = :case, active_case_at = :at, "
                "created_at = if_not_exists(created_at, :at), #status = if_not_exists(#status, :active)"
            ),
            condition=(
                "(attribute_not_exists(active_case_at) OR active_case_at <= :at) AND attribute_not_exists(merged_into)"
            ),
            values={":case": case_id, ":at": keys.sortable_time(at), ":active": "active"},
            names={"#status": "status"},
        )

    def save(
        self,
        contact: Contact,
        *,
        opened_case: CaseRecord | None,
        thread_keys: Sequence[str],
        hint_identifier: Identifier | None,
        suggested: Sequence[Suggestion] = (),
    ) -> None:
        """The last round trip: the contact, its marker, its thread keys and any case it opened."""
        items: list[Item] = [contact_item(contact)]
        items.append(
            {
                **keys.message(contact.provider.value, contact.provider_message_id),
                "contact_id": contact.contact_id,
            }
        )
        self._batch_put(items + self._link_items(contact, opened_case, thread_keys, hint_identifier, suggested))

    def save_links(
        self,
        contact: Contact,
        *,
        opened_case: CaseRecord | None,
        thread_keys: Sequence[str],
        hint_identifier: Identifier | None,
        suggested: Sequence[Suggestion] = (),
    ) -> None:
        """What `save` writes besides the contact and its marker, for a contact written by `put_versioned`."""
        items = self._link_items(contact, opened_case, thread_keys, hint_identifier, suggested)
        if items:
            self._batch_put(items)

    @staticmethod
    def _link_items(
        contact: Contact,
        opened_case: CaseRecord | None,
        thread_keys: Sequence[str],
        hint_identifier: Identifier | None,
        suggested: Sequence[Suggestion] = (),
    ) -> list[Item]:
        items: list[Item] = [suggestion_item(suggestion) for suggestion in suggested]
        if contact.case_id:
            items += [
                {**keys.thread(key), "case_id": contact.case_id, "customer_id": contact.customer_id}
                for key in thread_keys
            ]
        if opened_case:
            items.append(case_item(opened_case))
            items.append(
                {
                    **keys.thread(reference_key(opened_case.reference)),
                    "case_id": opened_case.case_id,
                    "customer_id": opened_case.customer_id,
                }
            )
        if hint_identifier and contact.customer_id and contact.case_id:
            items.append(
                {
                    **keys.identifier_hint(hint_identifier),
                    "customer_id": contact.customer_id,
                    "case_id": contact.case_id,
                    "at": keys.sortable_time(contact.occurred_at),
                }
            )
        return items

    # --- reads for the API ----------------------------------------------------------------

    def get_contact(self, contact_id: str) -> Contact | None:
        item = self._get(keys.contact(contact_id))
        return Contact.model_validate_json(item["contact"]) if item else None

    def find_contact_id(self, provider: str, provider_message_id: str) -> str | None:
        item = self._get(keys.message(provider, provider_message_id))
        return str(item["contact_id"]) if item else None

    def get_customer(self, customer_id: str) -> CustomerRecord | None:
        item = self._get(keys.profile(customer_id))
        return customer_from_item(customer_id, item) if item else None

    def find_identity(self, identifier: Identifier) -> IdentityRecord | None:
        item = self._get(keys.identifier(identifier))
        return identity_from_item(item) if item else None

    def customer_identities(self, customer_id: str) -> list[IdentityRecord]:
        items, _ = self._query(
            CUSTOMER_INDEX,
            keys.customer_partition(customer_id),
            keys.IDENTIFIER_LISTING_PREFIX,
            limit=MAX_IDENTIFIERS,
        )
        return [identity_from_item(item) for item in items]

    def get_case(self, case_id: str) -> CaseRecord | None:
        item = self._get(keys.case(case_id))
        return case_from_item(item) if item else None

    def case_contacts(self, case_id: str, *, limit: int, cursor: str | None) -> tuple[list[Contact], str | None]:
        items, next_key = self._query(
            CASE_INDEX, keys.case_partition(case_id), keys.TIMELINE_PREFIX, limit=limit, cursor=cursor
        )
        return [Contact.model_validate_json(item["contact"]) for item in items], next_key

    # --- mechanics ------------------------------------------------------------------------

    def _update_profile(
        self,
        customer_id: str,
        *,
        update: str,
        condition: str,
        values: Mapping[str, str],
        names: Mapping[str, str] | None = None,
    ) -> ActiveCase | None:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": dump(keys.profile(customer_id)),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": dump(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if names:
            request["ExpressionAttributeNames"] = dict(names)
        try:
            self._client.update_item(**request)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            old: Mapping[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
            return active_case_of(load(old) if old else None)
        return None


@functools.cache
def get_store() -> DynamoStore:
    """The process-wide store; created on first use, never at import time."""
    return DynamoStore(boto3.client("dynamodb"), get_settings().table_name)
