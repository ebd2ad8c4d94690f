"""In-memory stores that implement the linking ports (`shared.linking.ports`), for fast unit tests.

They keep typed records, not DynamoDB items, and apply each method's condition
exactly as the DynamoDB adapter does; `tests/component/test_store_contract.py`
runs one suite against both, so this fake cannot drift from the real store.
Every public call is one round trip, counted in `calls`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.model.contact import Assurance, Contact, Identifier
from shared.model.failures import ConditionFailed
from shared.model.records import (
    ActiveCase,
    CaseHint,
    CaseRecord,
    LinkWrites,
    Lookup,
    OwnedIdentifier,
    Profile,
    Suggestion,
    ThreadHit,
    VersionedContact,
)
from shared.model.thread_keys import case_reference
from shared.model.times import sortable_time


@dataclass
class _Owner:
    identifier: Identifier
    customer_id: str
    first_seen: datetime
    merged_by: str | None = None


@dataclass
class _Profile:
    status: str = "active"
    created_at: str | None = None
    active_case_id: str | None = None
    active_case_at: str | None = None
    merged_into: str | None = None
    merge_id: str | None = None
    absorbed: set[str] = field(default_factory=set)

    def active(self) -> ActiveCase:
        if self.active_case_id is None or self.active_case_at is None:
            return ActiveCase(None, None, self.merged_into)
        return ActiveCase(self.active_case_id, datetime.fromisoformat(self.active_case_at), self.merged_into)


@dataclass
class InMemoryStore:
    """Implements `ContactStore` and `IdentityStore`; state is public so tests can read what was stored."""

    markers: dict[tuple[str, str], str] = field(default_factory=dict)
    contacts: dict[str, VersionedContact] = field(default_factory=dict)
    owners: dict[str, _Owner] = field(default_factory=dict)
    hints: dict[str, CaseHint] = field(default_factory=dict)
    profiles: dict[str, _Profile] = field(default_factory=dict)
    cases: dict[str, CaseRecord] = field(default_factory=dict)
    threads: dict[str, ThreadHit] = field(default_factory=dict)
    suggestions: dict[tuple[str, str], Suggestion] = field(default_factory=dict)
    merge_logs: dict[str, dict[str, Any]] = field(default_factory=dict)
    related_by: dict[str, str] = field(default_factory=dict)  # case id → the merge that marked it related
    calls: Counter[str] = field(default_factory=Counter)

    def _call(self, name: str) -> None:
        self.calls[name] += 1

    @property
    def round_trips(self) -> int:
        return sum(self.calls.values())

    # --- ContactStore ---------------------------------------------------------------------

    def lookup(self, contact: Contact, identifiers: Sequence[Identifier], thread_keys: Sequence[str]) -> Lookup:
        self._call("lookup")
        stored = self.contacts.get(contact.contact_id) if contact.revision is not None else None
        return Lookup(
            duplicate_of=self.markers.get((contact.provider.value, contact.provider_message_id)),
            owners={i.key: self.owners[i.key].customer_id for i in identifiers if i.key in self.owners},
            hints={i.key: self.hints[i.key] for i in identifiers if i.key in self.hints},
            threads={key: replace(self.threads[key], key=key) for key in thread_keys if key in self.threads},
            stored=stored,
        )

    def claim_identifier(self, identifier: Identifier, customer_id: str, at: datetime) -> str:
        self._call("claim_identifier")
        owner = self.owners.get(identifier.key)
        if owner is None or owner.customer_id == customer_id:
            self.owners[identifier.key] = _Owner(identifier, customer_id, at)
            return customer_id
        return owner.customer_id

    def count_identifiers(self, customer_id: str, kind: str, *, up_to: int) -> int:
        self._call("count_identifiers")
        held = sum(1 for o in self.owners.values() if o.customer_id == customer_id and o.identifier.kind.value == kind)
        return min(held, up_to)

    def continue_case(self, customer_id: str, case_id: str, at: datetime, window_start: datetime) -> ActiveCase | None:
        self._call("continue_case")
        profile = self.profiles.get(customer_id)
        if (
            profile is None
            or profile.merged_into
            or profile.active_case_id != case_id
            or profile.active_case_at is None
            or not sortable_time(window_start) <= profile.active_case_at <= sortable_time(at)
        ):
            return profile.active() if profile else ActiveCase(None, None)
        profile.active_case_at = sortable_time(at)
        return None

    def open_case(self, customer_id: str, case_id: str, at: datetime, window_start: datetime) -> ActiveCase | None:
        self._call("open_case")
        profile = self.profiles.get(customer_id)
        if profile is not None and (
            profile.merged_into
            or not (
                profile.active_case_id is None
                or (profile.active_case_at or "") < sortable_time(window_start)
                or profile.active_case_id == case_id
            )
        ):
            return profile.active()
        profile = self.profiles.setdefault(customer_id, _Profile())
        profile.active_case_id, profile.active_case_at = case_id, sortable_time(at)
        profile.created_at = profile.created_at or sortable_time(at)
        return None

    def follow_thread(self, customer_id: str, case_id: str, at: datetime) -> None:
        self._call("follow_thread")
        profile = self.profiles.get(customer_id)
        if profile is not None and (profile.merged_into or (profile.active_case_at or "") > sortable_time(at)):
            return
        profile = self.profiles.setdefault(customer_id, _Profile())
        profile.active_case_id, profile.active_case_at = case_id, sortable_time(at)
        profile.created_at = profile.created_at or sortable_time(at)

    def ensure_profile(self, customer_id: str, at: datetime) -> None:
        self._call("ensure_profile")
        profile = self.profiles.setdefault(customer_id, _Profile())
        profile.created_at = profile.created_at or sortable_time(at)

    def save(self, contact: Contact, writes: LinkWrites) -> None:
        self._call("save")
        self.contacts[contact.contact_id] = VersionedContact(contact, 0)
        self.markers[(contact.provider.value, contact.provider_message_id)] = contact.contact_id
        self._apply(contact, writes)

    def save_links(self, contact: Contact, writes: LinkWrites) -> None:
        hinted = writes.hint_identifier and contact.customer_id and contact.case_id
        if writes.suggested or writes.opened_case or hinted or (writes.thread_keys and contact.case_id):
            self._call("save_links")
            self._apply(contact, writes)

    def _apply(self, contact: Contact, writes: LinkWrites) -> None:
        for suggestion in writes.suggested:
            self.suggestions[(suggestion.contact_id, suggestion.claim_key)] = suggestion
        if contact.case_id:
            for key in writes.thread_keys:
                self.threads[key] = ThreadHit(key, contact.case_id, contact.customer_id)
        if opened := writes.opened_case:
            self.cases[opened.case_id] = opened
            reference = case_reference(opened.reference)
            self.threads[reference] = ThreadHit(reference, opened.case_id, opened.customer_id)
        if writes.hint_identifier and contact.customer_id and contact.case_id:
            self.hints[writes.hint_identifier.key] = CaseHint(contact.customer_id, contact.case_id, contact.occurred_at)

    def claim_message(self, contact: Contact) -> str:
        self._call("claim_message")
        key = (contact.provider.value, contact.provider_message_id)
        return self.markers.setdefault(key, contact.contact_id)

    def get_versioned(self, contact_id: str) -> VersionedContact | None:
        self._call("get_versioned")
        return self.contacts.get(contact_id)

    def put_versioned(self, contact: Contact, expected_version: int | None) -> VersionedContact | None:
        self._call("put_versioned")
        current = self.contacts.get(contact.contact_id)
        if (expected_version is None and current is not None) or (
            expected_version is not None and (current is None or current.version != expected_version)
        ):
            return current
        self.contacts[contact.contact_id] = VersionedContact(contact, (expected_version or 0) + 1)
        return None

    # --- IdentityStore --------------------------------------------------------------------

    def profile(self, customer_id: str) -> Profile | None:
        self._call("profile")
        stored = self.profiles.get(customer_id)
        if stored is None:
            return None
        return Profile(
            customer_id=customer_id,
            status=stored.status,
            created_at=stored.created_at or "",
            merged_into=stored.merged_into,
            active_case_id=stored.active_case_id,
            active_case_at=stored.active_case_at,
        )

    def identifiers(self, customer_id: str) -> list[OwnedIdentifier]:
        self._call("identifiers")
        return [
            OwnedIdentifier(o.identifier, o.customer_id, o.merged_by)
            for key, o in sorted(self.owners.items())
            if o.customer_id == customer_id
        ]

    def identifier_owner(self, identifier: Identifier) -> OwnedIdentifier | None:
        self._call("identifier_owner")
        owner = self.owners.get(identifier.key)
        return OwnedIdentifier(owner.identifier, owner.customer_id, owner.merged_by) if owner else None

    def merge_log(self, merge_id: str) -> Mapping[str, Any] | None:
        self._call("merge_log")
        log = self.merge_logs.get(merge_id)
        return dict(log) if log else None

    def attach(self, identifier: Identifier, customer_id: str, at: datetime) -> str:
        self._call("attach")
        owner = self.owners.get(identifier.key)
        if owner is None:
            self.owners[identifier.key] = _Owner(identifier, customer_id, at)
            return customer_id
        if owner.customer_id == customer_id:
            self.set_assurance(identifier, customer_id, identifier.assurance)
        return owner.customer_id

    def set_assurance(self, identifier: Identifier, customer_id: str, assurance: Assurance) -> None:
        self._call("set_assurance")
        owner = self._owned_by(identifier, customer_id)
        owner.identifier = owner.identifier.model_copy(update={"assurance": assurance})

    def repoint(self, identifier: Identifier, source: str, target: str, merge_id: str | None) -> None:
        self._call("repoint")
        owner = self._owned_by(identifier, source)
        owner.customer_id, owner.merged_by = target, merge_id
        owner.identifier = owner.identifier.model_copy(update={"assurance": identifier.assurance})

    def mark_merged(self, merged: str, survivor: str, merge_id: str) -> None:
        self._call("mark_merged")
        profile = self.profiles.get(merged)
        if profile is None or profile.merged_into:
            raise ConditionFailed("CUS")
        profile.status, profile.merged_into, profile.merge_id = "merged", survivor, merge_id

    def absorb(self, survivor: Profile, merged: str, active_case_id: str | None, active_case_at: str | None) -> None:
        self._call("absorb")
        stored = self.profiles.get(survivor.customer_id)
        if stored is None or stored.merged_into or stored.active_case_at != survivor.active_case_at:
            raise ConditionFailed("CUS")
        if active_case_id and active_case_at:
            stored.active_case_id, stored.active_case_at = active_case_id, active_case_at
        stored.absorbed.add(merged)

    def restore_profile(self, merged: Profile, merge_id: str) -> None:
        self._call("restore_profile")
        stored = self.profiles.get(merged.customer_id)
        if stored is None or stored.merge_id != merge_id:
            raise ConditionFailed("CUS")
        stored.status, stored.merged_into, stored.merge_id = merged.status, None, None
        if merged.active_case_id and merged.active_case_at:
            stored.active_case_id, stored.active_case_at = merged.active_case_id, merged.active_case_at

    def release(self, survivor: str, merged: str, active: tuple[str, str] | None, set_by_merge: str | None) -> None:
        self._call("release")
        stored = self.profiles.get(survivor)
        if stored is None:
            raise ConditionFailed("CUS")
        stored.absorbed.discard(merged)
        if active and set_by_merge:
            self._call("release")
            if stored.active_case_at == set_by_merge:
                stored.active_case_id, stored.active_case_at = active

    def relate_case(self, case_id: str, related_to: str | None, merge_id: str) -> None:
        self._call("relate_case")
        case = self.cases.get(case_id)
        if case is None:
            raise ConditionFailed("CASE")
        if related_to:
            self.cases[case_id] = case.model_copy(update={"related_case_id": related_to})
            self.related_by[case_id] = merge_id
        elif self.related_by.get(case_id) == merge_id:
            self.cases[case_id] = case.model_copy(update={"related_case_id": None})
            del self.related_by[case_id]
        else:
            raise ConditionFailed("CASE")

    def put_merge_log(self, merge_id: str, survivor: str, log: Mapping[str, Any], at: str) -> None:
        self._call("put_merge_log")
        if merge_id in self.merge_logs:
            raise ConditionFailed("merge log exists")
        self.merge_logs[merge_id] = {**log, "survivor_partition": survivor, "listed_at": at}

    def set_merge_state(self, merge_id: str, state: str, expected: str, extra: Mapping[str, Any]) -> None:
        self._call("set_merge_state")
        log = self.merge_logs.get(merge_id)
        if log is None or log.get("state") != expected:
            raise ConditionFailed("MERGE")
        log.update({"state": state, **extra})

    def _owned_by(self, identifier: Identifier, customer_id: str) -> _Owner:
        owner = self.owners.get(identifier.key)
        if owner is None or owner.customer_id != customer_id:
            raise ConditionFailed("IDN")
        return owner
