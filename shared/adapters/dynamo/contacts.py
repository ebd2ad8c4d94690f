"""The DynamoDB adapter: conditional single-item writes and key lookups, nothing else.

No transactions on the hot path: races are settled by conditions on one item
(DESIGN.md section 3), and every write is idempotent because ids are derived
from the provider's message id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamo import keys
from shared.adapters.dynamo.items import (
    active_case_of,
    case_from_item,
    case_item,
    contact_item,
    customer_from_item,
    hint_from_item,
    identifier_item,
    identity_from_item,
    suggestion_item,
    thread_hit_from_item,
    versioned_from_item,
)
from shared.adapters.dynamo.table import CASE_INDEX, CUSTOMER_INDEX
from shared.adapters.dynamo.table_client import Item, TableClient, dump, is_condition_failure, load
from shared.model import thread_keys
from shared.model.contact import Contact, Identifier
from shared.model.records import (
    ActiveCase,
    CaseRecord,
    CustomerRecord,
    IdentityRecord,
    LinkWrites,
    Lookup,
    VersionedContact,
)
from shared.model.times import sortable_time

MAX_IDENTIFIERS = 100


class DynamoStore(TableClient):
    # --- hot path -------------------------------------------------------------------------

    def lookup(self, contact: Contact, identifiers: Sequence[Identifier], thread_keys: Sequence[str]) -> Lookup:
        marker = keys.message(contact.provider.value, contact.provider_message_id)
        wanted = [marker]
        for identifier in identifiers:
            wanted += [keys.identifier(identifier), keys.identifier_hint(identifier)]
        wanted += [keys.thread(thread_key) for thread_key in thread_keys]
        stored = keys.contact(contact.contact_id)
        if contact.revision is not None:
            # Where every report of an object mints the same contact id (Connect's come
            # from ContactId and InitiationTimestamp), this saves the merge a GetItem.
            wanted.append(stored)
        found = self._batch_get(wanted)

        def get(key: keys.Key) -> Item | None:
            return found.get((key["PK"], key["SK"]))

        owners, hints, threads = {}, {}, {}
        for identifier in identifiers:
            if owner := get(keys.identifier(identifier)):
                owners[identifier.key] = str(owner["customer_id"])
            if (hint_item := get(keys.identifier_hint(identifier))) and (hint := hint_from_item(hint_item)):
                hints[identifier.key] = hint
        for thread_key in thread_keys:
            if thread := get(keys.thread(thread_key)):
                threads[thread_key] = thread_hit_from_item(thread_key, thread)
        marker_item, stored_item = get(marker), get(stored)
        return Lookup(
            duplicate_of=str(marker_item["contact_id"]) if marker_item else None,
            owners=owners,
            hints=hints,
            threads=threads,
            stored=versioned_from_item(stored_item) if stored_item else None,
        )

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
        return versioned_from_item(item) if item else None

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
            return versioned_from_item(load(error.response["Item"]))  # type: ignore[typeddict-item]
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
                ":at": sortable_time(at),
                ":window_start": sortable_time(window_start),
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
                ":at": sortable_time(at),
                ":window_start": sortable_time(window_start),
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
            ExpressionAttributeValues=dump({":at": sortable_time(at), ":on": "active"}),
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
            values={":case": case_id, ":at": sortable_time(at), ":active": "active"},
            names={"#status": "status"},
        )

    def save(self, contact: Contact, writes: LinkWrites) -> None:
        """The last round trip: the contact, its marker, its thread keys and any case it opened."""
        marker = {**keys.message(contact.provider.value, contact.provider_message_id), "contact_id": contact.contact_id}
        self._batch_put([contact_item(contact), marker, *self._link_items(contact, writes)])

    def save_links(self, contact: Contact, writes: LinkWrites) -> None:
        """What `save` writes besides the contact and its marker, for a contact written by `put_versioned`."""
        items = self._link_items(contact, writes)
        if items:
            self._batch_put(items)

    @staticmethod
    def _link_items(contact: Contact, writes: LinkWrites) -> list[Item]:
        items: list[Item] = [suggestion_item(suggestion) for suggestion in writes.suggested]
        if contact.case_id:
            items += [
                {**keys.thread(key), "case_id": contact.case_id, "customer_id": contact.customer_id}
                for key in writes.thread_keys
            ]
        opened = writes.opened_case
        if opened:
            items.append(case_item(opened))
            items.append(
                {
                    **keys.thread(thread_keys.case_reference(opened.reference)),
                    "case_id": opened.case_id,
                    "customer_id": opened.customer_id,
                }
            )
        if writes.hint_identifier and contact.customer_id and contact.case_id:
            items.append(
                {
                    **keys.identifier_hint(writes.hint_identifier),
                    "customer_id": contact.customer_id,
                    "case_id": contact.case_id,
                    "at": sortable_time(contact.occurred_at),
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
