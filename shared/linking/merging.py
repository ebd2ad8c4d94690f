"""The verified-merge use case (DESIGN.md rule 3): attach, merge, undo, resolve.

The /v1 API and the app channel call these; the pure decisions live in
`shared.linking.merge_plan`, the conditional writes in `shared.adapters.dynamo.identity`.
A merge keeps one surviving id (the older customer), points the other profile
at it (`merged_into`), repoints the other's identifier items, keeps both
customers' cases (the more recently active open case stays the active one, with
its own activity time; the other is marked related) and logs everything it
changed so `undo_merge` restores it exactly.
Contacts are not rewritten: reads follow the merge (docs/identity.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.linking import merge_plan
from shared.linking.ports import IdentityStore
from shared.model.contact import Assurance, Identifier, IdentifierKind
from shared.model.failures import ConditionFailed
from shared.model.records import MergeState, Profile
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


class MergeInProgress(IdentityError):
    """The merge has not finished applying (API: 409); repeating the merge request finishes it."""


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
    contested: bool = False  # owned by someone holding another app/CRM id: now it finds neither of them


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
            if profile.merge_id:
                # Following a merge finishes it, if an earlier request stopped inside it.
                self.finish(profile.merge_id)
            current = profile.merged_into
            seen.append(current)

    def attach_verified_identifier(self, customer_id: str, identifier: Identifier, evidence: str) -> AttachResult:
        """A CRM (or the app) vouches that `identifier` belongs to `customer_id`.

        Unowned: attached as `verified`. Owned by this customer: made `verified`.
        Owned by another customer: that customer is merged with this one (the
        older survives) unless their verified app/CRM ids differ: then the
        identifier is contested and finds neither of them on the hot path. Vouching
        for its owner settles a dispute in the owner's favour.
        Repeating the request after a crash finishes the merge it started and
        answers as the first attempt would have.
        Raises `CustomerNotFound`, `CustomerMerged(survivor_id)` for a merged id.
        """
        verified = identifier.model_copy(update={"assurance": Assurance.VERIFIED})
        merge_evidence = f"verified {identifier.kind.value}: {evidence}"
        profile = self._profile(customer_id)
        if profile.merge_id:
            self.finish(profile.merge_id)
        if (earlier := self._merged_by_this_request(verified, merge_evidence)) is not None:
            self._store.set_assurance(verified, earlier.surviving_customer_id, Assurance.VERIFIED)
            return AttachResult(earlier.surviving_customer_id, verified, attached=True, merge=earlier)
        self._active_profile(customer_id)
        owner = self._store.attach(verified, customer_id, self._clock())
        if owner == customer_id:
            self._settle(verified, customer_id)
            return AttachResult(customer_id, verified, attached=True)
        owner_now, _ = self.resolve_customer_id(owner)  # finishes a merge stopped in the way
        if owner_now == customer_id:
            if (earlier := self._merged_by_this_request(verified, merge_evidence)) is not None:
                self._store.set_assurance(verified, customer_id, Assurance.VERIFIED)
                return AttachResult(customer_id, verified, attached=True, merge=earlier)
            holder = self._store.identifier_owner(verified)
            holder_id = holder.customer_id if holder else owner_now
            self._store.set_assurance(verified, holder_id, Assurance.VERIFIED)
            self._settle(verified, holder_id)
            return AttachResult(customer_id, verified, attached=False)
        if merge_plan.conflicting_account(self.accounts(customer_id), self.accounts(owner_now)):
            self._store.contest_identifier(verified, customer_id)
            return AttachResult(owner_now, verified, attached=False, contested=True)
        merge = self.merge_customers(customer_id, owner_now, merge_evidence)
        self._store.set_assurance(verified, merge.surviving_customer_id, Assurance.VERIFIED)
        return AttachResult(merge.surviving_customer_id, verified, attached=True, merge=merge)

    def _settle(self, identifier: Identifier, owner: str) -> None:
        with contextlib.suppress(ConditionFailed):  # moved by a merge meanwhile: nothing of ours to settle
            self._store.settle_dispute(identifier, owner)

    def _merged_by_this_request(self, identifier: Identifier, evidence: str) -> MergeRecord | None:
        """The merge an earlier attempt of this very request made (same identifier moved, same evidence), finished."""
        holder = self._store.identifier_owner(identifier)
        if holder is None or holder.merged_by is None:
            return None
        self.finish(holder.merged_by)
        record = self.get_merge(holder.merged_by)
        return record if record.evidence == evidence and record.undone_at is None else None

    def merge_customers(self, survivor_hint: str, other: str, evidence: str) -> MergeRecord:
        """Merge two customers on verified evidence; the older one survives whatever the order given.

        Resumable: a merge is a state machine driven by its log, every step conditional
        and idempotent, so repeating the same request after a crash (or an SDK retry
        of a step that had applied) finishes the merge instead of failing or doubling it.
        Raises `CustomerNotFound`, `CustomerMerged(survivor_id)` (either id already
        merged elsewhere), `MergeConflict` (same customer, or different verified app/CRM ids).
        """
        first, second = self._profile(survivor_hint), self._profile(other)
        if resumed := self._resume(first, second):
            return resumed
        first, second = self._live(first), self._live(second)
        if first.customer_id == second.customer_id:
            raise MergeConflict("a customer cannot be merged with itself")
        try:
            plan = merge_plan.plan_merge(
                first, second, self._store.identifiers(first.customer_id), self._store.identifiers(second.customer_id)
            )
        except merge_plan.ConflictingAccounts as error:
            raise MergeConflict(str(error)) from error
        stamp = sortable_time(self._clock())
        log = merge_plan.log_item(plan, evidence, stamp)
        merge_id = plan.merge_id()
        for _ in range(MAX_MERGE_CHAIN):
            try:
                self._store.put_merge_log(merge_id, plan.survivor.customer_id, log, stamp)
            except ConditionFailed:
                earlier = self._store.merge_log(merge_id)
            else:
                return self._apply(merge_id, log)
            if earlier is not None and earlier.get("state") in (MergeState.APPLYING, MergeState.APPLIED):
                return self._apply(merge_id, earlier)  # the same merge, started by an earlier attempt
            merge_id = plan.merge_id(after=merge_id)  # that one was undone or abandoned: the next in the chain
        raise MergeContention(merge_id)

    def finish(self, merge_id: str) -> None:
        """Finish a merge that stopped while applying (a crash, a timeout); nothing for any other state."""
        log = self._store.merge_log(merge_id)
        if log is not None and log.get("state") == MergeState.APPLYING:
            self._apply(merge_id, log)

    def _resume(self, named: Profile, other: Profile) -> MergeRecord | None:
        """A merge of exactly these two that already pointed one at the other.

        Unfinished, it is finished, whichever way round the request names them.
        Finished, repeating it answers the same merge when the request names the
        survivor; naming the merged id answers `CustomerMerged` as for any merged id.
        """
        for survivor, merged in ((named, other), (other, named)):
            if merged.merged_into == survivor.customer_id and merged.merge_id:
                log = self._store.merge_log(merged.merge_id)
                state = log.get("state") if log else None
                if log is not None and (
                    state == MergeState.APPLYING or (state == MergeState.APPLIED and survivor is named)
                ):
                    return self._apply(merged.merge_id, log)
        return None

    def _apply(self, merge_id: str, log: Mapping[str, Any]) -> MergeRecord:
        survivor, merged = log["surviving_customer_id"], log["merged_customer_id"]
        record = MergeRecord(merge_id, survivor, merged, log["evidence"], datetime.fromisoformat(log["merged_at"]))
        if log.get("state") == MergeState.APPLIED:
            return record
        try:
            self._store.mark_merged(merged, survivor, merge_id)
        except ConditionFailed as error:
            # Merged into someone else meanwhile: this merge will never apply.
            with contextlib.suppress(ConditionFailed):
                self._store.set_merge_state(merge_id, MergeState.ABANDONED, MergeState.APPLYING, {})
            now, _ = self.resolve_customer_id(merged)
            raise CustomerMerged(merged, now) from error
        combined = self._absorb(survivor, log, merge_id)
        self._repoint_all(merged, survivor, merge_id)
        if combined.related_case_id and combined.active:
            # A case whose opener is still in flight has no record yet: the mark is only a pointer for agents.
            with contextlib.suppress(ConditionFailed):
                self._store.relate_case(combined.related_case_id, combined.active[0], merge_id)
        applied = merge_plan.applied_item(combined)
        self._store.set_merge_state(merge_id, MergeState.APPLIED, MergeState.APPLYING, applied)
        return record

    def undo_merge(self, merge_id: str) -> UnmergeRecord:
        """Restore both customers exactly: profiles, identifiers, cases as they were before the merge.

        Identifiers the merged customer gained while merged go back with it. Resumable
        like a merge: `undoing` is recorded first, then each step is conditional and
        idempotent, and repeating the request after a crash finishes the undo.
        Raises `MergeNotFound`, `MergeAlreadyUndone`, `MergeInProgress`.
        """
        log = self._store.merge_log(merge_id)
        if log is None or log.get("state") == MergeState.ABANDONED:
            raise MergeNotFound(merge_id)
        if log.get("state") == MergeState.UNDONE:
            raise MergeAlreadyUndone(merge_id)
        if log.get("state") == MergeState.APPLYING:
            raise MergeInProgress(merge_id)
        survivor, merged = log["surviving_customer_id"], log["merged_customer_id"]
        self._store.set_merge_state(merge_id, MergeState.UNDOING, MergeState.APPLIED, {})
        for owned in self._store.identifiers(survivor):
            if owned.merged_by == merge_id:
                before = merge_plan.assurance_before(log, owned.identifier)
                with contextlib.suppress(ConditionFailed):
                    self._store.repoint(
                        owned.identifier.model_copy(update={"assurance": before}), survivor, merged, None
                    )
        with contextlib.suppress(ConditionFailed):  # restored by an earlier attempt
            self._store.restore_profile(merge_plan.profile_before(merged, log), merge_id)
        restore_to = merge_plan.profile_before(survivor, log, role="survivor").active
        set_by_merge = (log["active_case_id"], log["active_case_at"]) if log.get("active_case_id") else None
        self._store.release(survivor, merged, restore_to, set_by_merge)
        if log.get("related_case_id"):
            with contextlib.suppress(ConditionFailed):  # unrelated by an earlier attempt
                self._store.relate_case(log["related_case_id"], None, merge_id)
        at = self._clock()
        self._store.set_merge_state(merge_id, MergeState.UNDONE, MergeState.UNDOING, {"undone_at": sortable_time(at)})
        return UnmergeRecord(merge_id, survivor, merged, at)

    def accounts(self, customer_id: str) -> set[tuple[IdentifierKind, str]]:
        """The app/CRM ids a customer holds: two different ones of a kind are two people (rule 3)."""
        return merge_plan.accounts(o.identifier for o in self._store.identifiers(customer_id))

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

    def _profile(self, customer_id: str) -> Profile:
        profile = self._store.profile(customer_id)
        if profile is None:
            raise CustomerNotFound(customer_id)
        return profile

    def _live(self, profile: Profile) -> Profile:
        if profile.merged_into:
            survivor, _ = self.resolve_customer_id(profile.customer_id)
            raise CustomerMerged(profile.customer_id, survivor)
        return profile

    def _active_profile(self, customer_id: str) -> Profile:
        return self._live(self._profile(customer_id))

    def _absorb(self, survivor_id: str, log: Mapping[str, Any], merge_id: str) -> merge_plan.CombinedActive:
        """The survivor absorbs the merged customer; its active case becomes the more recently active of the two."""
        merged_before = merge_plan.profile_before(log["merged_customer_id"], log)
        survivor_before = merge_plan.profile_before(survivor_id, log, role="survivor")
        for _ in range(MAX_ABSORB_ATTEMPTS):
            survivor = self._profile(survivor_id)
            combined = merge_plan.combined_active(survivor, survivor_before, merged_before)
            try:
                self._store.absorb(survivor, merged_before.customer_id, combined.active)
            except ConditionFailed:
                continue  # a contact moved the survivor's active case meanwhile: choose again on what it wrote
            return combined
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
