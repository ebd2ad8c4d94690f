"""Merge, undo and verified-attach writes: conditional single-item writes, no transactions.

A merge is rare, so it may take several round trips; each write is conditional
on what the merge read, so a racing processor or a second merge fails a
condition instead of being overwritten (docs/identity.md, "Merge protocol").
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.adapters.dynamo import keys
from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.dynamo.items import identifier_item
from shared.adapters.dynamo.table import CUSTOMER_INDEX
from shared.adapters.dynamo.table_client import Item
from shared.model.contact import Assurance, Identifier, IdentifierKind
from shared.model.failures import ConditionFailed
from shared.model.records import OwnedIdentifier, Profile

MAX_LISTED = 100


class DynamoIdentityStore(DynamoStore):
    # --- reads ----------------------------------------------------------------------------

    def identifiers(self, customer_id: str) -> list[OwnedIdentifier]:
        items = self._query_customer(customer_id, keys.IDENTIFIER_LISTING_PREFIX)
        return [
            OwnedIdentifier(
                Identifier(kind=IdentifierKind(i["kind"]), value=i["value"], assurance=Assurance(i["assurance"])),
                i["customer_id"],
                i.get("merged_by"),
            )
            for i in items
        ]

    def identifier_owner(self, identifier: Identifier) -> OwnedIdentifier | None:
        item = self._get(keys.identifier(identifier))
        if not item:
            return None
        stored = Identifier(kind=identifier.kind, value=identifier.value, assurance=Assurance(item["assurance"]))
        return OwnedIdentifier(stored, item["customer_id"], item.get("merged_by"))

    def merge_log(self, merge_id: str) -> Item | None:
        return self._get(keys.merge_log(merge_id))

    # --- identifiers ----------------------------------------------------------------------

    def attach(self, identifier: Identifier, customer_id: str, at: datetime) -> str:
        """Attach an unowned identifier at its assurance, or raise it on the owner's item; returns the owner."""
        if self._put_if_absent(identifier_item(identifier, customer_id, at)) is None:
            return customer_id
        owner = self.identifier_owner(identifier)
        if owner and owner.customer_id == customer_id:
            self.set_assurance(identifier, customer_id, identifier.assurance)
        return owner.customer_id if owner else customer_id

    def set_assurance(self, identifier: Identifier, customer_id: str, assurance: Assurance) -> None:
        self._update(
            keys.identifier(identifier),
            "SET assurance = :assurance",
            "customer_id = :owner",
            {":assurance": assurance.value, ":owner": customer_id},
        )

    def settle_dispute(self, identifier: Identifier, owner: str) -> None:
        """A CRM vouched for the owner: the identifier finds its owner again, whoever else verified it."""
        self._update(keys.identifier(identifier), "REMOVE disputed_by", "customer_id = :owner", {":owner": owner})

    def repoint(self, identifier: Identifier, source: str, target: str, merge_id: str | None) -> None:
        """Move an identifier item between customers, only if `source` still owns it."""
        update = "SET customer_id = :target, GSI1PK = :partition, assurance = :assurance"
        values = {
            ":target": target,
            ":source": source,
            ":partition": keys.customer_partition(target),
            ":assurance": identifier.assurance.value,
        }
        if merge_id:
            update += ", merged_by = :merge"
            values[":merge"] = merge_id
        else:
            update += " REMOVE merged_by"
        self._update(keys.identifier(identifier), update, "customer_id = :source", values)

    # --- profiles -------------------------------------------------------------------------

    def mark_merged(self, merged: str, survivor: str, merge_id: str) -> None:
        self._update(
            keys.profile(merged),
            "SET #status = :merged, merged_into = :survivor, merge_id = :merge",
            "attribute_exists(PK) AND (attribute_not_exists(merged_into) OR merge_id = :merge)",
            {":merged": "merged", ":survivor": survivor, ":merge": merge_id},
            names={"#status": "status"},
        )

    def absorb(self, survivor: Profile, merged: str, active: tuple[str, str] | None) -> None:
        """Add `merged` to the survivor and set its active case, only if nothing moved it since it was read."""
        values: dict[str, Any] = {":merged": {merged}}
        if survivor.active is None:
            condition = "attribute_not_exists(active_case_id) AND attribute_not_exists(merged_into)"
        else:
            condition = "active_case_id = :seen_case AND active_case_at = :seen AND attribute_not_exists(merged_into)"
            values |= {":seen_case": survivor.active[0], ":seen": survivor.active[1]}
        update = "ADD absorbed :merged"
        if active is not None:
            update = "SET active_case_id = :case, active_case_at = :at " + update
            values |= {":case": active[0], ":at": active[1]}
        self._update(keys.profile(survivor.customer_id), update, condition, values)

    def restore_profile(self, merged: Profile, merge_id: str) -> None:
        """Undo `mark_merged`: the profile as the merge log recorded it."""
        values: dict[str, Any] = {":merge": merge_id, ":status": merged.status}
        update = "SET #status = :status REMOVE merged_into, merge_id"
        if merged.active is not None:
            update = "SET #status = :status, active_case_id = :case, active_case_at = :at REMOVE merged_into, merge_id"
            values |= {":case": merged.active[0], ":at": merged.active[1]}
        self._update(keys.profile(merged.customer_id), update, "merge_id = :merge", values, names={"#status": "status"})

    def release(
        self, survivor: str, merged: str, restore_to: tuple[str, str] | None, set_by_merge: tuple[str, str] | None
    ) -> None:
        """Undo `absorb`; the active case goes back only if no contact moved it since the merge set it."""
        self._update(keys.profile(survivor), "DELETE absorbed :merged", "attribute_exists(PK)", {":merged": {merged}})
        if restore_to and set_by_merge and restore_to != set_by_merge:
            # If the survivor wrote since, its newer activity stands.
            with contextlib.suppress(ConditionFailed):
                self._update(
                    keys.profile(survivor),
                    "SET active_case_id = :case, active_case_at = :at",
                    "active_case_id = :merge_case AND active_case_at = :merge_at",
                    {
                        ":case": restore_to[0],
                        ":at": restore_to[1],
                        ":merge_case": set_by_merge[0],
                        ":merge_at": set_by_merge[1],
                    },
                )

    # --- cases ----------------------------------------------------------------------------

    def relate_case(self, case_id: str, related_to: str | None, merge_id: str) -> None:
        if related_to:
            update, values = "SET related_case_id = :related, related_by = :merge", {":related": related_to}
            condition = "attribute_exists(PK)"
        else:
            update, values = "REMOVE related_case_id, related_by", {}
            condition = "related_by = :merge"
        self._update(keys.case(case_id), update, condition, {**values, ":merge": merge_id})

    # --- the merge log --------------------------------------------------------------------

    def put_merge_log(self, merge_id: str, survivor: str, log: Mapping[str, Any], at: str) -> None:
        item = {
            **keys.merge_log(merge_id),
            **log,
            "type": "merge",
            "GSI1PK": keys.customer_partition(survivor),
            "GSI1SK": keys.merge_listing_sort(at, merge_id),
        }
        if self._put_if_absent(item) is not None:
            raise ConditionFailed("merge log exists")

    def set_merge_state(self, merge_id: str, state: str, expected: str, extra: Mapping[str, Any]) -> None:
        # Already in `state` counts as done: an SDK retry of this very write must not fail the step.
        update = "SET #state = :state" + "".join(f", {name} = :{name}" for name in extra)
        values = {":state": state, ":expected": expected, **{f":{name}": value for name, value in extra.items()}}
        condition = "#state IN (:expected, :state)"
        self._update(keys.merge_log(merge_id), update, condition, values, names={"#state": "state"})

    # --- mechanics ------------------------------------------------------------------------

    def _query_customer(self, customer_id: str, prefix: str) -> list[Item]:
        return list(self._partition(CUSTOMER_INDEX, keys.customer_partition(customer_id), prefix))
