"""The DynamoDB adapter: conditional single-item writes and key lookups, nothing else.

No transactions on the hot path: races are settled by conditions on one item
(DESIGN.md section 3), and every write is idempotent because ids are derived
from the provider's message id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
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
    links_from_item,
    suggestion_item,
    thread_hit_from_item,
    versioned_from_item,
)
from shared.adapters.dynamo.table import CASE_INDEX, CUSTOMER_INDEX
from shared.adapters.dynamo.table_client import Item, TableClient, dump, is_condition_failure, load
from shared.model import minted, thread_keys
from shared.model.contact import Contact, Identifier
from shared.model.failures import ConditionFailed
from shared.model.records import (
    ActiveCase,
    CaseRecord,
    CaseStatus,
    CustomerRecord,
    IdentityRecord,
    LinkWrites,
    Lookup,
    Profile,
    StoredContact,
    VersionedContact,
)
from shared.model.times import sortable_time

MAX_IDENTIFIERS = 100


class DynamoStore(TableClient):
    # --- hot path -------------------------------------------------------------------------

    def lookup(self, contact: Contact, identifiers: Sequence[Identifier], thread_keys: Sequence[str]) -> Lookup:
        """One BatchGetItem: everything the hot path decides on, and what tells a redelivery apart.

        Besides the identifiers, their hints and the quoted keys, it reads the
        contact's own item (a redelivery after a crash finds it), the case the
        contact would open (so a repair never overwrites a case an agent closed
        since) and the hashed marker an erasure leaves.
        """
        marker = keys.message(contact.provider.value, contact.provider_message_id)
        stored = keys.contact(contact.contact_id)
        candidate_case = keys.case(minted.case_id(contact.contact_id))
        erased = keys.erased_message(contact.provider.value, contact.provider_message_id)
        wanted = [marker, stored, candidate_case, erased]
        for identifier in identifiers:
            wanted += [keys.identifier(identifier), keys.identifier_hint(identifier)]
        wanted += [keys.thread(thread_key) for thread_key in thread_keys]
        found = self._batch_get(wanted)

        def get(key: keys.Key) -> Item | None:
            return found.get((key["PK"], key["SK"]))

        owners: dict[str, str] = {}
        own_claims: dict[str, str] = {}
        merged_by: dict[str, str] = {}
        contested: dict[str, frozenset[str]] = {}
        hints, threads = {}, {}
        for identifier in identifiers:
            # An identifier this very contact claimed on an earlier, unfinished delivery is not yet known to it.
            if owner := get(keys.identifier(identifier)):
                mine = owner.get("claimed_by") == contact.contact_id
                (own_claims if mine else owners)[identifier.key] = str(owner["customer_id"])
                if owner.get("merged_by"):
                    merged_by[identifier.key] = str(owner["merged_by"])
                if disputed := set(owner.get("disputed_by", ())) - {owner["customer_id"]}:
                    contested[identifier.key] = frozenset(disputed)
            if (hint_item := get(keys.identifier_hint(identifier))) and (hint := hint_from_item(hint_item)):
                hints[identifier.key] = hint
        for thread_key in thread_keys:
            # A key this very contact wrote on an earlier, unfinished delivery names nothing to it yet.
            if (thread := get(keys.thread(thread_key))) and thread.get("by") != contact.contact_id:
                threads[thread_key] = thread_hit_from_item(thread_key, thread)
        marker_item, stored_item = get(marker), get(stored)
        return Lookup(
            duplicate_of=str(marker_item["contact_id"]) if marker_item else None,
            owners=owners,
            hints=hints,
            threads=threads,
            stored=versioned_from_item(stored_item) if stored_item else None,
            stored_links=links_from_item(stored_item) if stored_item else None,
            candidate_case_exists=get(candidate_case) is not None,
            erased=get(erased) is not None,
            own_claims=own_claims,
            merged_by=merged_by,
            contested=contested,
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

    def claim_identifier(self, identifier: Identifier, customer_id: str, by: Contact) -> str:
        """Attach an unowned identifier; returns its owner, which may be a faster racer."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=dump(identifier_item(identifier, customer_id, by.occurred_at, claimed_by=by.contact_id)),
                # Never over a disputed item: the dispute would be lost, and it is ours already.
                ConditionExpression=(
                    "attribute_not_exists(PK) OR (customer_id = :customer AND attribute_not_exists(disputed_by))"
                ),
                ExpressionAttributeValues={":customer": {"S": customer_id}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return str(load(error.response["Item"])["customer_id"])  # type: ignore[typeddict-item]
        return customer_id

    def contest_identifier(self, identifier: Identifier, customer_id: str) -> None:
        """`customer_id` verified an identifier another customer owns: from now on it finds neither.

        Listed under the contesting customer first, then added to the owner's item, so
        erasing that customer always finds the dispute to take back. Gone owner: nothing to contest.
        """
        dispute = {
            **keys.identifier_dispute(identifier, customer_id),
            "type": "identifier_dispute",
            "GSI1PK": keys.customer_partition(customer_id),
            "GSI1SK": keys.DISPUTE_PREFIX + identifier.key,
        }
        self._client.put_item(TableName=self._table, Item=dump(dispute))
        with contextlib.suppress(ConditionFailed):
            self._update(
                keys.identifier(identifier),
                "ADD disputed_by :customer",
                "attribute_exists(PK)",
                {":customer": {customer_id}},
            )

    def hand_over_identifier(self, identifier: Identifier, from_customer: str, to_customer: str) -> None:
        """A claim made for a customer that lost its creation race moves to the winner (only if still ours)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=dump(keys.identifier(identifier)),
                UpdateExpression="SET customer_id = :to, GSI1PK = :partition",
                ConditionExpression="customer_id IN (:from, :to)",
                ExpressionAttributeValues=dump(
                    {":from": from_customer, ":to": to_customer, ":partition": keys.customer_partition(to_customer)}
                ),
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def active_case(self, customer_id: str) -> ActiveCase:
        """The profile's active case, read consistently (for contacts that may not open one)."""
        return active_case_of(self._get(keys.profile(customer_id)))

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

    # The profile's active case moves only under a condition, and only forward in provider time:
    # `latest_at` is the newest contact that moved it, and an older one fails the condition (it is late).
    _IN_TIME = "(attribute_not_exists(latest_at) OR latest_at <= :at) AND attribute_not_exists(merged_into)"
    _MOVED = "latest_at = :at, latest_contact = :contact"

    def continue_case(
        self, customer_id: str, case_id: str, contact: Contact, window_start: datetime
    ) -> ActiveCase | None:
        """Move the active case's last activity to the contact's time. None when done, else the profile as it is."""
        return self._update_profile(
            customer_id,
            update=f"SET active_case_at = :at, {self._MOVED}",
            condition=f"active_case_id = :case AND active_case_at BETWEEN :window_start AND :at AND {self._IN_TIME}",
            values={
                ":case": case_id,
                ":at": sortable_time(contact.occurred_at),
                ":window_start": sortable_time(window_start),
                ":contact": contact.contact_id,
            },
        )

    def keep_case(self, customer_id: str, case_id: str, contact: Contact) -> ActiveCase | None:
        """Join the active case whose activity is already later than the contact (an agent reopened it, a merge
        chose it), without moving it back in time. None when done, else the profile as it is."""
        return self._update_profile(
            customer_id,
            update=f"SET {self._MOVED}",
            condition=f"active_case_id = :case AND active_case_at > :at AND {self._IN_TIME}",
            values={":case": case_id, ":at": sortable_time(contact.occurred_at), ":contact": contact.contact_id},
        )

    def open_case(self, customer_id: str, case_id: str, contact: Contact, window_start: datetime) -> ActiveCase | None:
        """Make `case_id` the active case unless an open case is still in the window."""
        return self._update_profile(
            customer_id,
            update=(
                f"SET active_case_id = :case, active_case_at = :at, {self._MOVED}, "
                "created_at = if_not_exists(created_at, :at), #status = if_not_exists(#status, :active)"
            ),
            condition=(
                "(attribute_not_exists(active_case_id) OR active_case_at < :window_start OR active_case_id = :case)"
                f" AND {self._IN_TIME}"
            ),
            values={
                ":case": case_id,
                ":at": sortable_time(contact.occurred_at),
                ":window_start": sortable_time(window_start),
                ":active": "active",
                ":contact": contact.contact_id,
            },
            names={"#status": "status"},
        )

    def note_latest(self, customer_id: str, contact: Contact, window_start: datetime) -> ActiveCase | None:
        """A contact that joins no case is still the customer's latest: an older one arriving after it is late."""
        return self._update_profile(
            customer_id,
            update=(
                f"SET {self._MOVED}, created_at = if_not_exists(created_at, :at), "
                "#status = if_not_exists(#status, :active)"
            ),
            condition=f"(attribute_not_exists(active_case_id) OR active_case_at < :window_start) AND {self._IN_TIME}",
            values={
                ":at": sortable_time(contact.occurred_at),
                ":window_start": sortable_time(window_start),
                ":contact": contact.contact_id,
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

    def follow_thread(self, customer_id: str, case_id: str, contact: Contact) -> ActiveCase | None:
        """A reply on a case's thread makes that case the customer's most recently active one (None when done)."""
        return self._update_profile(
            customer_id,
            update=(
                f"SET active_case_id = :case, active_case_at = :at, {self._MOVED}, "
                "created_at = if_not_exists(created_at, :at), #status = if_not_exists(#status, :active)"
            ),
            condition=self._IN_TIME,
            values={
                ":case": case_id,
                ":at": sortable_time(contact.occurred_at),
                ":active": "active",
                ":contact": contact.contact_id,
            },
            names={"#status": "status"},
        )

    # --- the late path (shared.linking.timeline): rare, so it may take several round trips ---------------------

    def profile(self, customer_id: str) -> Profile | None:
        item = self._get(keys.profile(customer_id))
        return Profile.from_item(customer_id, item) if item else None

    def recent_contacts(self, customer_ids: Sequence[str], since: datetime) -> list[StoredContact]:
        """Every contact of these customers from `since` on (their GSI1 timelines), with what each linked."""
        found = []
        for customer_id in customer_ids:
            for item in self._between(
                CUSTOMER_INDEX,
                keys.customer_partition(customer_id),
                keys.timeline_sort(since, ""),
                keys.TIMELINE_PREFIX + "~",
            ):
                found.append(StoredContact(versioned_from_item(item).contact, links_from_item(item) or LinkWrites()))
        return found

    def cases_of(self, case_ids: Iterable[str]) -> dict[str, CaseRecord]:
        found = self._batch_get([keys.case(case_id) for case_id in case_ids])
        return {record.case_id: record for record in map(case_from_item, found.values())}

    def relink(self, contact: Contact, writes: LinkWrites, was: str | None) -> None:
        """Move a stored contact to another case, only if it is still where it was read (else `ConditionFailed`)."""
        item = contact_item(contact, writes)
        values: dict[str, Any] = {":contact": item["contact"], ":links": item["links"]}
        update = "SET contact = :contact, links = :links"
        if contact.case_id:
            update += ", case_id = :case, GSI2PK = :gsi2pk, GSI2SK = :gsi2sk"
            values |= {":case": contact.case_id, ":gsi2pk": item["GSI2PK"], ":gsi2sk": item["GSI2SK"]}
        else:
            update += " REMOVE case_id, GSI2PK, GSI2SK"
        condition = "attribute_not_exists(case_id)" if was is None else "case_id = :was"
        if was is not None:
            values[":was"] = was
        try:
            self._client.update_item(
                TableName=self._table,
                Key=dump(keys.contact(contact.contact_id)),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=dump(values),
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            raise ConditionFailed("CON") from error
        items = self._link_items(contact, writes.model_copy(update={"hint_identifiers": ()}), with_case=False)
        if items:
            self._batch_put(items)
        if writes.opened_case:
            self.open_case_record(writes.opened_case)

    def open_case_record(self, record: CaseRecord) -> None:
        """The record of a case a re-linked contact opens now: written if absent, opened again if it was merged."""
        self._put_if_absent(case_item(record))
        self._client.update_item(
            TableName=self._table,
            Key=dump(keys.case(record.case_id)),
            UpdateExpression="SET #status = :open REMOVE merged_into",
            ConditionExpression="#status = :open OR #status = :merged",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=dump({":open": CaseStatus.OPEN.value, ":merged": CaseStatus.MERGED.value}),
        )

    def retire_case(self, case_id: str, into: str) -> None:
        """A case every contact of which joined `into`: marked merged into it, and its reference leads there."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=dump(keys.case(case_id)),
                UpdateExpression="SET #status = :merged, merged_into = :into",
                ConditionExpression="#status = :open OR (#status = :merged AND merged_into = :into)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=dump(
                    {":merged": CaseStatus.MERGED.value, ":open": CaseStatus.OPEN.value, ":into": into}
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            raise ConditionFailed("CASE") from error
        record = case_from_item(load(response["Attributes"]))
        reference = keys.thread(thread_keys.case_reference(record.reference))
        self._batch_put([{**reference, "case_id": into, "customer_id": record.customer_id, "by": record.opened_by}])

    def set_active(
        self,
        customer_id: str,
        seen: Profile,
        active: tuple[str, datetime] | None,
        latest: tuple[datetime, str] | None,
        first_seen: datetime | None = None,
    ) -> None:
        """The active case a replay decided, only if the profile is still as `seen` (else `ConditionFailed`).

        `first_seen` moves the customer's creation time back to a late contact's: which of two
        customers is the older (the one a merge keeps) must not depend on arrival order.
        """
        values: dict[str, Any] = {}
        conditions = ["attribute_not_exists(merged_into)"]
        for name, value in (("latest_contact", seen.latest_contact), ("active_case_id", seen.active_case_id)):
            if value is None:
                conditions.append(f"attribute_not_exists({name})")
            else:
                conditions.append(f"{name} = :seen_{name}")
                values[f":seen_{name}"] = value
        sets, removes = [], []
        if active is None:
            removes += ["active_case_id", "active_case_at"]
        else:
            sets += ["active_case_id = :case", "active_case_at = :at"]
            values |= {":case": active[0], ":at": sortable_time(active[1])}
        if latest is not None:
            sets += ["latest_at = :latest", "latest_contact = :latest_contact"]
            values |= {":latest": sortable_time(latest[0]), ":latest_contact": latest[1]}
        if first_seen is not None and sortable_time(first_seen) < seen.created_at:
            sets.append("created_at = :first_seen")
            values[":first_seen"] = sortable_time(first_seen)
        update = (f"SET {', '.join(sets)} " if sets else "") + (f"REMOVE {', '.join(removes)}" if removes else "")
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": dump(keys.profile(customer_id)),
            "UpdateExpression": update.strip(),
            "ConditionExpression": " AND ".join(conditions),
        }
        if values:
            request["ExpressionAttributeValues"] = dump(values)
        try:
            self._client.update_item(**request)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            raise ConditionFailed("CUS") from error

    def save(self, contact: Contact, writes: LinkWrites) -> None:
        """The last round trip: the contact (with its links), its marker, and everything it links, in one batch."""
        self._batch_put([contact_item(contact, writes), self._marker(contact), *self._link_items(contact, writes)])

    def repair(self, contact: Contact, writes: LinkWrites, case_stored: bool) -> None:
        """A redelivery of a stored contact: its batch again, but never over a case record that exists."""
        items = self._link_items(contact, writes, with_case=not case_stored)
        self._batch_put([contact_item(contact, writes), self._marker(contact), *items])

    def save_links(self, contact: Contact, writes: LinkWrites, case_stored: bool | None) -> None:
        """A call's links, written before the version that names them (see the port for the case record)."""
        items = self._link_items(contact, writes, with_case=case_stored is False)
        if items:
            self._batch_put(items)
        if writes.opened_case and case_stored is None:
            self._put_if_absent(case_item(writes.opened_case))

    @staticmethod
    def _marker(contact: Contact) -> Item:
        return {**keys.message(contact.provider.value, contact.provider_message_id), "contact_id": contact.contact_id}

    @staticmethod
    def _link_items(contact: Contact, writes: LinkWrites, *, with_case: bool = True) -> list[Item]:
        items: list[Item] = [suggestion_item(suggestion) for suggestion in writes.suggested]
        owner = writes.case_owner
        if contact.case_id:
            items += [
                {**keys.thread(key), "case_id": contact.case_id, "customer_id": owner, "by": contact.contact_id}
                for key in writes.thread_keys
            ]
        opened = writes.opened_case
        if opened:
            if with_case:
                items.append(case_item(opened))
            reference = keys.thread(thread_keys.case_reference(opened.reference))
            items.append(
                {**reference, "case_id": opened.case_id, "customer_id": opened.customer_id, "by": contact.contact_id}
            )
        if contact.customer_id and contact.case_id:
            items += [
                {
                    **keys.identifier_hint(identifier),
                    "customer_id": contact.customer_id,
                    "case_id": contact.case_id,
                    "at": sortable_time(contact.occurred_at),
                }
                for identifier in writes.hint_identifiers
            ]
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
        old = self._update_or_old(keys.profile(customer_id), update, condition, values, names)
        return None if old is None else active_case_of(old or None)
