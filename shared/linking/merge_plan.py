"""Pure merge decisions (DESIGN.md rule 3): who survives, which case stays active, what the log records.

The log records everything a merge changes as it was before, so an undo can
restore it exactly without guessing (docs/identity.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
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
    active_case_id: str | None  # what the survivor's active case becomes
    active_case_at: str | None
    related_case_id: str | None  # the other open case, marked related to the active one


def plan_merge(
    first: Profile,
    second: Profile,
    first_identifiers: Sequence[OwnedIdentifier],
    second_identifiers: Sequence[OwnedIdentifier],
) -> MergePlan:
    """The older customer survives (by creation time, then id), whatever order the caller named them."""
    for kind in UNIQUE_KINDS:
        ours = {o.identifier.value for o in first_identifiers if o.identifier.kind is kind}
        theirs = {o.identifier.value for o in second_identifiers if o.identifier.kind is kind}
        if ours and theirs and ours != theirs:
            raise ConflictingAccounts(f"both customers hold a different {kind.value} id")
    pair = sorted([(first, first_identifiers), (second, second_identifiers)], key=lambda p: _age(p[0]))
    (survivor, _), (merged, merged_identifiers) = pair
    return _with_active(MergePlan(survivor, merged, tuple(merged_identifiers), None, None, None))


def replan_active(plan: MergePlan, survivor: Profile) -> MergePlan:
    """The survivor's active case moved while merging: choose again on what it is now."""
    return _with_active(replace(plan, survivor=survivor))


def _age(profile: Profile) -> tuple[str, str]:
    return (profile.created_at or "~", profile.customer_id)


def _with_active(plan: MergePlan) -> MergePlan:
    """Both open cases stay: the older (case ids sort by opening time) stays active, the other is related."""
    candidates = [
        (p.active_case_id, p.active_case_at)
        for p in (plan.survivor, plan.merged)
        if p.active_case_id and p.active_case_at
    ]
    if not candidates:
        return replace(plan, active_case_id=None, active_case_at=None, related_case_id=None)
    older = min(candidates)[0]
    latest = max(at for _, at in candidates)
    related = next((case for case, _ in candidates if case != older), None)
    return replace(plan, active_case_id=older, active_case_at=latest, related_case_id=related)


def merge_id(survivor: str, merged: str, at: datetime) -> str:
    digest = hashlib.sha256(f"{survivor}/{merged}/{at.isoformat()}".encode()).hexdigest()[:20]
    return f"mrg_{digest}"


def _profile_state(profile: Profile) -> dict[str, str]:
    state = {"status": profile.status, "created_at": profile.created_at}
    if profile.active_case_id and profile.active_case_at:
        state |= {"active_case_id": profile.active_case_id, "active_case_at": profile.active_case_at}
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
        "active_case_id": plan.active_case_id,
        "active_case_at": plan.active_case_at,
        "related_case_id": plan.related_case_id,
    }


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
