"""Pure merge decisions (DESIGN.md rule 3): who survives, which case stays active, what the log records.

The log records everything a merge changes as it was before, so an undo can
restore it exactly without guessing, and a retry of the same request can resume
a merge that stopped half way (docs/identity.md, "Merge protocol").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from shared.model.contact import Assurance, Identifier, IdentifierKind
from shared.model.records import OwnedIdentifier, Profile

# A customer carries at most one id of each of these: two different ones are two people (rule 3).
UNIQUE_KINDS = (IdentifierKind.APP, IdentifierKind.CRM)


class ConflictingAccounts(ValueError):
    """The two customers hold different verified app/CRM ids; the message names the kind, never the value."""


@dataclass(frozen=True)
class MergePlan:
    survivor: Profile
    merged: Profile
    merged_identifiers: tuple[OwnedIdentifier, ...]

    def merge_id(self, after: str | None = None) -> str:
        """Derived from the pair, so a retry of the same request names the same merge (and resumes it).

        A pair merged again after an undo chains on: its next merge is named after the undone one.
        """
        material = f"{self.survivor.customer_id}/{self.merged.customer_id}/{after or ''}"
        return f"mrg_{hashlib.sha256(material.encode()).hexdigest()[:20]}"


@dataclass(frozen=True)
class CombinedActive:
    """The survivor's active case after a merge, and the other open case, now related to it."""

    active: tuple[str, str] | None  # (case id, its own last activity): never moved by the merge
    related_case_id: str | None


def plan_merge(
    first: Profile,
    second: Profile,
    first_identifiers: Sequence[OwnedIdentifier],
    second_identifiers: Sequence[OwnedIdentifier],
) -> MergePlan:
    """The older customer survives (by creation time, then id), whatever order the caller named them."""
    kind = conflicting_account(
        accounts(o.identifier for o in first_identifiers), accounts(o.identifier for o in second_identifiers)
    )
    if kind is not None:
        raise ConflictingAccounts(f"both customers hold a different {kind.value} id")
    pair = sorted([(first, first_identifiers), (second, second_identifiers)], key=lambda p: _age(p[0]))
    (survivor, _), (merged, merged_identifiers) = pair
    return MergePlan(survivor, merged, tuple(merged_identifiers))


def accounts(identifiers: Iterable[Identifier]) -> set[tuple[IdentifierKind, str]]:
    """The app/CRM ids among these identifiers."""
    return {(i.kind, i.value) for i in identifiers if i.kind in UNIQUE_KINDS}


def conflicting_account(
    ours: Set[tuple[IdentifierKind, str]], theirs: Set[tuple[IdentifierKind, str]]
) -> IdentifierKind | None:
    """The kind of account two customers each hold a different id of, if any: then they are two people."""
    for kind in UNIQUE_KINDS:
        mine = {value for k, value in ours if k is kind}
        other = {value for k, value in theirs if k is kind}
        if mine and other and mine != other:
            return kind
    return None


def combined_active(survivor_now: Profile, survivor_before: Profile, merged_before: Profile) -> CombinedActive:
    """Rule 5 after a merge decides as before it: the most recently active open case stays the active one,
    with its own activity time; the other open case is related to it (docs/identity.md).

    Computed from the log's before-states and the survivor as it is now, so a
    resumed merge chooses exactly what the first attempt chose.
    """
    candidates = [active for active in (survivor_now.active, merged_before.active) if active is not None]
    if not candidates:
        return CombinedActive(None, None)
    latest = max(candidates, key=lambda active: (active[1], active[0]))
    before = [active[0] for active in (merged_before.active, survivor_before.active) if active is not None]
    related = next((case for case in before if case != latest[0]), None)
    return CombinedActive(latest, related)


def _age(profile: Profile) -> tuple[str, str]:
    return (profile.created_at or "~", profile.customer_id)


def _profile_state(profile: Profile) -> dict[str, str]:
    state = {"status": profile.status, "created_at": profile.created_at}
    if profile.active is not None:
        state |= {"active_case_id": profile.active[0], "active_case_at": profile.active[1]}
    return state


def log_item(plan: MergePlan, evidence: str, at: str) -> dict[str, Any]:
    """The merge log: the evidence, and everything the merge changes as it was before."""
    return {
        "surviving_customer_id": plan.survivor.customer_id,
        "merged_customer_id": plan.merged.customer_id,
        "evidence": evidence,
        "merged_at": at,
        "state": "applying",
        "survivor_before": _profile_state(plan.survivor),
        "merged_before": _profile_state(plan.merged),
        "assurance_before": {o.identifier.key: o.identifier.assurance.value for o in plan.merged_identifiers},
    }


def applied_item(combined: CombinedActive) -> dict[str, Any]:
    """What the merge set on the survivor, recorded when it is applied, so an undo restores only that."""
    item: dict[str, Any] = {}
    if combined.active is not None:
        item |= {"active_case_id": combined.active[0], "active_case_at": combined.active[1]}
    if combined.related_case_id:
        item["related_case_id"] = combined.related_case_id
    return item


def profile_before(customer_id: str, log: Mapping[str, Any], role: str = "merged") -> Profile:
    state = log[f"{role}_before"]
    return Profile(
        customer_id=customer_id,
        status=state.get("status", "active"),
        created_at=state.get("created_at", ""),
        merged_into=None,
        active_case_id=state.get("active_case_id"),
        active_case_at=state.get("active_case_at"),
    )


def assurance_before(log: Mapping[str, Any], identifier: Identifier) -> Assurance:
    """What an identifier was before the merge; one first attached while merged keeps its own."""
    return Assurance(log.get("assurance_before", {}).get(identifier.key, identifier.assurance.value))
