"""The verified-merge use case (DESIGN.md rule 3): attach, merge, undo, resolve.

The /v1 API and the app channel call these; the pure decisions live in
`shared.linking.merge_plan`, the conditional writes in `shared.adapters.dynamo.identity`.
A merge keeps one surviving id (the older customer), points the other profile
at it (`merged_into`), repoints the other's identifier items, keeps both
customers' cases (the older open case stays the active one, the other is marked
related) and logs everything it changed so `undo_merge` restores it exactly.
Contacts are not rewritten: reads follow the merge (docs/identity.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.linking import merge_plan
from shared.linking.ports import IdentityStore
from shared.model.contact import Assurance, Identifier, IdentifierKind
from shared.model.failures import ConditionFailed
from shared.model.records import Profile
from shared.model.times import sortable_time

MAX_MERGE_CHAIN = 16  # a merged id answers with its survivor; chains are short, loops impossible
MAX_ABSORB_ATTEMPTS = 5
MAX_SWEEPS = 5


def _now() -> datetime:
    return datetime.now(UTC)


class IdentityError(Exception):
    """Base of the domain errors below; the API maps each to one status once."""


class CustomerNotFound(IdentityError):
    """No profile with that id (API: 404)."""

    def __init__(self, customer_id: str) -> None:
        super().__init__("customer not found")
        self.customer_id = customer_id


class CustomerMerged(IdentityError):
    """The id was merged into `survivor_id`; write to the survivor instead (API: 409 naming it)."""

    def __init__(self, customer_id: str, survivor_id: str) -> None:
        super().__init__("customer was merged")
        self.customer_id = customer_id
        self.survivor_id = survivor_id


class MergeConflict(IdentityError):
    """The two customers hold different verified app/CRM ids, or the identifier is verified elsewhere (API: 409)."""


class MergeNotFound(IdentityError):
    """No merge with that id (API: 404)."""


class MergeContention(IdentityError):
    """The survivor kept changing under the merge; the caller retries (API: 503)."""


class MergeAlreadyUndone(IdentityError):
    """The merge was undone before (API: 409); undoing twice must not touch anything."""


@dataclass(frozen=True)
class MergeRecord:
    """One merge, as logged: what the API answers and `customer.merged` carries."""

    merge_id: str
    surviving_customer_id: str
    merged_customer_id: str
    evidence: str
    merged_at: datetime
    undone_at: datetime | None = None


@dataclass(frozen=True)
class UnmergeRecord:
    merge_id: str
    surviving_customer_id: str
    restored_customer_id: str
    unmerged_at: datetime


@dataclass(frozen=True)
class AttachResult:
    """What attaching a verified identifier did: attached, already there, or merged its owner in."""

    customer_id: str  # the customer that now owns the identifier (the survivor after a merge)
    identifier: Identifier
    attached: bool  # False when the customer already owned it (made verified if it was weaker)
    merge: MergeRecord | None = None


class Merging:
    """The merge use case over one `IdentityStore`; the API builds it with `get_merging()`."""

    def __init__(self, store: IdentityStore, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._clock = clock

    def resolve_customer_id(self, customer_id: str) -> tuple[str, bool]:
        """`(current id, was_merged)`: a merged id answers with its survivor (following chains).

        Raises `CustomerNotFound` when no profile has that id.
        """
        current, seen = customer_id, [customer_id]
        while True:
            profile = self._store.profile(current)
            if profile is None:
                raise CustomerNotFound(customer_id)
            if profile.merged_into is None or len(seen) > MAX_MERGE_CHAIN:
                return current, current != customer_id
            current = profile.merged_into
            seen.append(current)

    def attach_verified_identifier(self, customer_id: str, identifier: Identifier, evidence: str) -> AttachResult:
        """A CRM (or the app) vouches that `identifier` belongs to `customer_id`.

        Unowned: attached as `verified`. Owned by this customer: made `verified`.
        Owned by another customer: that customer is merged with this one (the
        older survives) unless their verified app/CRM ids differ (`MergeConflict`).
        Raises `CustomerNotFound`, `CustomerMerged(survivor_id)` for a merged id.
        """
        self._active_profile(customer_id)
        verified = identifier.model_copy(update={"assurance": Assurance.VERIFIED})
        owner = self._store.attach(verified, customer_id, self._clock())
        if owner == customer_id:
            return AttachResult(customer_id, verified, attached=True)
        owner_now, _ = self.resolve_customer_id(owner)
        if owner_now == customer_id:
            self._store.set_assurance(verified, owner, Assurance.VERIFIED)
            return AttachResult(customer_id, verified, attached=False)
        merge = self.merge_customers(customer_id, owner_now, f"verified {identifier.kind.value}: {evidence}")
        self._store.set_assurance(verified, merge.surviving_customer_id, Assurance.VERIFIED)
        return AttachResult(merge.surviving_customer_id, verified, attached=True, merge=merge)

    def merge_customers(self, survivor_hint: str, other: str, evidence: str) -> MergeRecord:
        """Merge two customers on verified evidence; the older one survives whatever the order given.

        Raises `CustomerNotFound`, `CustomerMerged(survivor_id)` (either id already
        merged), `MergeConflict` (same customer, or different verified app/CRM ids).
        """
        first, second = self._active_profile(survivor_hint), self._active_profile(other)
        if first.customer_id == second.customer_id:
            raise MergeConflict("a customer cannot be merged with itself")
        try:
            plan = merge_plan.plan_merge(
                first, second, self._store.identifiers(first.customer_id), self._store.identifiers(second.customer_id)
            )
        except merge_plan.ConflictingAccounts as error:
            raise MergeConflict(str(error)) from error
        at = self._clock()
        merge_id = merge_plan.merge_id(plan.survivor.customer_id, plan.merged.customer_id, at)
        stamp = sortable_time(at)
        self._store.put_merge_log(
            merge_id, plan.survivor.customer_id, merge_plan.log_item(plan, evidence, stamp), stamp
        )
        try:
            self._store.mark_merged(plan.merged.customer_id, plan.survivor.customer_id, merge_id)
        except ConditionFailed as error:
            self._store.set_merge_state(merge_id, "abandoned", "applying", {})
            survivor, _ = self.resolve_customer_id(plan.merged.customer_id)
            raise CustomerMerged(plan.merged.customer_id, survivor) from error
        self._absorb(plan, merge_id)
        self._repoint_all(plan.merged.customer_id, plan.survivor.customer_id, merge_id)
        if plan.related_case_id and plan.active_case_id:
            self._store.relate_case(plan.related_case_id, plan.active_case_id, merge_id)
        self._store.set_merge_state(merge_id, "applied", "applying", {})
        return MergeRecord(merge_id, plan.survivor.customer_id, plan.merged.customer_id, evidence, at)

    def undo_merge(self, merge_id: str) -> UnmergeRecord:
        """Restore both customers exactly: profiles, identifiers, cases as they were before the merge.

        Identifiers the merged customer gained while merged go back with it.
        Raises `MergeNotFound`, `MergeAlreadyUndone`.
        """
        log = self._store.merge_log(merge_id)
        if log is None or log.get("state") == "abandoned":
            raise MergeNotFound(merge_id)
        if log.get("state") != "applied":
            raise MergeAlreadyUndone(merge_id)
        survivor, merged = log["surviving_customer_id"], log["merged_customer_id"]
        at = self._clock()
        self._store.set_merge_state(merge_id, "undoing", "applied", {})
        for owned in self._store.identifiers(survivor):
            if owned.merged_by == merge_id:
                before = merge_plan.assurance_before(log, owned.identifier)
                self._store.repoint(owned.identifier.model_copy(update={"assurance": before}), survivor, merged, None)
        self._store.restore_profile(merge_plan.profile_before(merged, log), merge_id)
        survivor_before = merge_plan.profile_before(survivor, log, role="survivor")
        active = (
            (survivor_before.active_case_id, survivor_before.active_case_at)
            if survivor_before.active_case_id and survivor_before.active_case_at
            else None
        )
        self._store.release(survivor, merged, active, log.get("active_case_at"))
        if log.get("related_case_id"):
            self._store.relate_case(log["related_case_id"], None, merge_id)
        self._store.set_merge_state(merge_id, "undone", "undoing", {"undone_at": sortable_time(at)})
        return UnmergeRecord(merge_id, survivor, merged, at)

    def accounts(self, customer_id: str) -> set[tuple[IdentifierKind, str]]:
        """The app/CRM ids a customer holds: two different ones of a kind are two people (rule 3)."""
        return {
            (o.identifier.kind, o.identifier.value)
            for o in self._store.identifiers(customer_id)
            if o.identifier.kind in merge_plan.UNIQUE_KINDS
        }

    def get_merge(self, merge_id: str) -> MergeRecord:
        """The logged merge; raises `MergeNotFound`."""
        log = self._store.merge_log(merge_id)
        if log is None or log.get("state") == "abandoned":
            raise MergeNotFound(merge_id)
        undone = log.get("undone_at")
        return MergeRecord(
            merge_id,
            log["surviving_customer_id"],
            log["merged_customer_id"],
            log["evidence"],
            datetime.fromisoformat(log["merged_at"]),
            datetime.fromisoformat(undone) if undone else None,
        )

    def _active_profile(self, customer_id: str) -> Profile:
        profile = self._store.profile(customer_id)
        if profile is None:
            raise CustomerNotFound(customer_id)
        if profile.merged_into:
            survivor, _ = self.resolve_customer_id(customer_id)
            raise CustomerMerged(customer_id, survivor)
        return profile

    def _absorb(self, plan: merge_plan.MergePlan, merge_id: str) -> None:
        survivor = plan.survivor
        for _ in range(MAX_ABSORB_ATTEMPTS):
            try:
                self._store.absorb(survivor, plan.merged.customer_id, plan.active_case_id, plan.active_case_at)
                return
            except ConditionFailed:
                # A contact moved the survivor's active case meanwhile: plan again on what it wrote.
                fresh = self._store.profile(survivor.customer_id)
                assert fresh is not None
                survivor = fresh
                plan = merge_plan.replan_active(plan, fresh)
        raise MergeContention(merge_id)

    def _repoint_all(self, merged: str, survivor: str, merge_id: str) -> None:
        # Sweep until empty: a contact may attach a new identifier to the merged id meanwhile.
        for _ in range(MAX_SWEEPS):
            owned = [o for o in self._store.identifiers(merged) if o.customer_id == merged]
            if not owned:
                return
            for item in owned:
                try:
                    self._store.repoint(item.identifier, merged, survivor, merge_id)
                except ConditionFailed:
                    continue  # already moved by an earlier sweep
