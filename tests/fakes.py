"""In-memory stores that implement the linking ports (`shared.linking.ports`), for fast unit tests.

They keep typed records, not DynamoDB items, and apply each method's condition
exactly as the DynamoDB adapter does; `tests/component/test_store_contract.py`
runs one suite against both, so this fake cannot drift from the real store.
Every public call is one round trip, counted in `calls`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.model import minted
from shared.model.contact import Assurance, Contact, Identifier
from shared.model.failures import ConditionFailed
from shared.model.records import (
    ActiveCase,
    CaseHint,
    CaseRecord,
    CaseStatus,
    LinkWrites,
    Lookup,
    OwnedIdentifier,
    Profile,
    StoredContact,
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
    claimed_by: str | None = None
    disputed_by: set[str] = field(default_factory=set)


@dataclass
class _Profile:
    status: str = "active"
    created_at: str | None = None
    active_case_id: str | None = None
    active_case_at: str | None = None
    merged_into: str | None = None
    merge_id: str | None = None
    latest_at: str | None = None
    latest_contact: str | None = None
    absorbed: set[str] = field(default_factory=set)

    def active(self) -> ActiveCase:
        latest = datetime.fromisoformat(self.latest_at) if self.latest_at else None
        if self.active_case_id is None or self.active_case_at is None:
            return ActiveCase(None, None, self.merged_into, latest)
        at = datetime.fromisoformat(self.active_case_at)
        return ActiveCase(self.active_case_id, at, self.merged_into, latest)

    def in_time(self, contact: Contact) -> bool:
        return not self.merged_into and (self.latest_at is None or self.latest_at <= sortable_time(contact.occurred_at))

    def moved_by(self, contact: Contact, case_id: str) -> None:
        at = sortable_time(contact.occurred_at)
        self.active_case_id, self.active_case_at = case_id, at
        self.latest_at, self.latest_contact = at, contact.contact_id
        self.created_at = self.created_at or at


@dataclass
class InMemoryStore:
    """Implements `ContactStore` and `IdentityStore`; state is public so tests can read what was stored."""

    markers: dict[tuple[str, str], str] = field(default_factory=dict)
    contacts: dict[str, VersionedContact] = field(default_factory=dict)
    links: dict[str, LinkWrites] = field(default_factory=dict)  # contact id → what it linked
    erased: set[tuple[str, str]] = field(default_factory=set)  # (provider, provider message id) of erased messages
    owners: dict[str, _Owner] = field(default_factory=dict)
    hints: dict[str, CaseHint] = field(default_factory=dict)
    profiles: dict[str, _Profile] = field(default_factory=dict)
    cases: dict[str, CaseRecord] = field(default_factory=dict)
    threads: dict[str, ThreadHit] = field(default_factory=dict)
    thread_writers: dict[str, str] = field(default_factory=dict)  # thread key → the contact that wrote it
    suggestions: dict[tuple[str, str], Suggestion] = field(default_factory=dict)
    merge_logs: dict[str, dict[str, Any]] = field(default_factory=dict)
    related_by: dict[str, str] = field(default_factory=dict)  # case id → the merge that marked it related
    disputes: set[tuple[str, str]] = field(default_factory=set)  # (identifier key, contesting customer)
    calls: Counter[str] = field(default_factory=Counter)

    def _call(self, name: str) -> None:
        self.calls[name] += 1

    @property
    def round_trips(self) -> int:
        return sum(self.calls.values())

    # --- ContactStore ---------------------------------------------------------------------

    def lookup(self, contact: Contact, identifiers: Sequence[Identifier], thread_keys: Sequence[str]) -> Lookup:
        self._call("lookup")
        message = (contact.provider.value, contact.provider_message_id)
        known = {i.key: owner for i in identifiers if (owner := self.owners.get(i.key)) is not None}
        return Lookup(
            duplicate_of=self.markers.get(message),
            owners={key: o.customer_id for key, o in known.items() if o.claimed_by != contact.contact_id},
            own_claims={key: o.customer_id for key, o in known.items() if o.claimed_by == contact.contact_id},
            merged_by={key: o.merged_by for key, o in known.items() if o.merged_by},
            contested={
                key: frozenset(disputed) for key, o in known.items() if (disputed := o.disputed_by - {o.customer_id})
            },
            hints={i.key: self.hints[i.key] for i in identifiers if i.key in self.hints},
            threads={
                key: hit
                for key in thread_keys
                if (hit := self.threads.get(key)) is not None and self.thread_writers.get(key) != contact.contact_id
            },
            stored=self.contacts.get(contact.contact_id),
            stored_links=self.links.get(contact.contact_id),
            candidate_case_exists=minted.case_id(contact.contact_id) in self.cases,
            erased=message in self.erased,
        )

    def claim_identifier(self, identifier: Identifier, customer_id: str, by: Contact) -> str:
        self._call("claim_identifier")
        owner = self.owners.get(identifier.key)
        if owner is None or (owner.customer_id == customer_id and not owner.disputed_by):
            self.owners[identifier.key] = _Owner(identifier, customer_id, by.occurred_at, claimed_by=by.contact_id)
            return customer_id
        return owner.customer_id

    def contest_identifier(self, identifier: Identifier, customer_id: str) -> None:
        self._call("contest_identifier")
        self.disputes.add((identifier.key, customer_id))
        self._call("contest_identifier")
        if (owner := self.owners.get(identifier.key)) is not None:
            owner.disputed_by.add(customer_id)

    def hand_over_identifier(self, identifier: Identifier, from_customer: str, to_customer: str) -> None:
        self._call("hand_over_identifier")
        owner = self.owners.get(identifier.key)
        if owner is not None and owner.customer_id in (from_customer, to_customer):
            owner.customer_id = to_customer

    def active_case(self, customer_id: str) -> ActiveCase:
        self._call("active_case")
        profile = self.profiles.get(customer_id)
        return profile.active() if profile else ActiveCase(None, None)

    def count_identifiers(self, customer_id: str, kind: str, *, up_to: int) -> int:
        self._call("count_identifiers")
        held = sum(1 for o in self.owners.values() if o.customer_id == customer_id and o.identifier.kind.value == kind)
        return min(held, up_to)

    def continue_case(
        self, customer_id: str, case_id: str, contact: Contact, window_start: datetime
    ) -> ActiveCase | None:
        self._call("continue_case")
        profile = self.profiles.get(customer_id)
        at = sortable_time(contact.occurred_at)
        if (
            profile is None
            or not profile.in_time(contact)
            or profile.active_case_id != case_id
            or profile.active_case_at is None
            or not sortable_time(window_start) <= profile.active_case_at <= at
        ):
            return profile.active() if profile else ActiveCase(None, None)
        profile.moved_by(contact, case_id)
        return None

    def keep_case(self, customer_id: str, case_id: str, contact: Contact) -> ActiveCase | None:
        self._call("keep_case")
        profile = self.profiles.get(customer_id)
        at = sortable_time(contact.occurred_at)
        if (
            profile is None
            or not profile.in_time(contact)
            or profile.active_case_id != case_id
            or not (profile.active_case_at or "") > at
        ):
            return profile.active() if profile else ActiveCase(None, None)
        profile.latest_at, profile.latest_contact = at, contact.contact_id
        return None

    def open_case(self, customer_id: str, case_id: str, contact: Contact, window_start: datetime) -> ActiveCase | None:
        self._call("open_case")
        profile = self.profiles.get(customer_id)
        if profile is not None and (
            not profile.in_time(contact)
            or not (
                profile.active_case_id is None
                or (profile.active_case_at or "") < sortable_time(window_start)
                or profile.active_case_id == case_id
            )
        ):
            return profile.active()
        self.profiles.setdefault(customer_id, _Profile()).moved_by(contact, case_id)
        return None

    def note_latest(self, customer_id: str, contact: Contact, window_start: datetime) -> ActiveCase | None:
        self._call("note_latest")
        profile = self.profiles.get(customer_id)
        if profile is not None and (
            not profile.in_time(contact)
            or (profile.active_case_id is not None and (profile.active_case_at or "") >= sortable_time(window_start))
        ):
            return profile.active()
        profile = self.profiles.setdefault(customer_id, _Profile())
        profile.latest_at, profile.latest_contact = sortable_time(contact.occurred_at), contact.contact_id
        profile.created_at = profile.created_at or profile.latest_at
        return None

    def follow_thread(self, customer_id: str, case_id: str, contact: Contact) -> ActiveCase | None:
        self._call("follow_thread")
        profile = self.profiles.get(customer_id)
        if profile is not None and not profile.in_time(contact):
            return profile.active()
        self.profiles.setdefault(customer_id, _Profile()).moved_by(contact, case_id)
        return None

    # --- the late path --------------------------------------------------------------------

    def recent_contacts(self, customer_ids: Sequence[str], since: datetime) -> list[StoredContact]:
        self._call("recent_contacts")
        found = [
            StoredContact(stored.contact, self.links.get(contact_id, LinkWrites()))
            for contact_id, stored in sorted(self.contacts.items())
            if stored.contact.customer_id in customer_ids and stored.contact.occurred_at >= since
        ]
        return sorted(found, key=lambda s: (s.contact.occurred_at, s.contact.contact_id))

    def cases_of(self, case_ids: Iterable[str]) -> dict[str, CaseRecord]:
        return {case_id: self.cases[case_id] for case_id in case_ids if case_id in self.cases}

    def relink(self, contact: Contact, writes: LinkWrites, was: str | None) -> None:
        self._call("relink")
        stored = self.contacts.get(contact.contact_id)
        if stored is None or stored.contact.case_id != was:
            raise ConditionFailed("CON")
        self.contacts[contact.contact_id] = VersionedContact(contact, stored.version)
        self.links[contact.contact_id] = writes
        self._apply(contact, writes.model_copy(update={"hint_identifiers": ()}), with_case=False)
        if opened := writes.opened_case:
            current = self.cases.get(opened.case_id)
            if current is None or current.status is CaseStatus.MERGED:
                self.cases[opened.case_id] = opened

    def retire_case(self, case_id: str, into: str) -> None:
        self._call("retire_case")
        case = self.cases.get(case_id)
        if case is None or not (
            case.status is CaseStatus.OPEN or (case.status is CaseStatus.MERGED and case.merged_into == into)
        ):
            raise ConditionFailed("CASE")
        self.cases[case_id] = case.model_copy(update={"status": CaseStatus.MERGED, "merged_into": into})
        reference = case_reference(case.reference)
        self.threads[reference] = ThreadHit(reference, into, case.customer_id)
        self.thread_writers[reference] = case.opened_by

    def set_active(
        self,
        customer_id: str,
        seen: Profile,
        active: tuple[str, datetime] | None,
        latest: tuple[datetime, str] | None,
        first_seen: datetime | None = None,
    ) -> None:
        self._call("set_active")
        profile = self.profiles.get(customer_id)
        if (
            profile is None
            or profile.merged_into
            or profile.latest_contact != seen.latest_contact
            or profile.active_case_id != seen.active_case_id
        ):
            raise ConditionFailed("CUS")
        if active is None:
            profile.active_case_id = profile.active_case_at = None
        else:
            profile.active_case_id, profile.active_case_at = active[0], sortable_time(active[1])
        if latest is not None:
            profile.latest_at, profile.latest_contact = sortable_time(latest[0]), latest[1]
        if first_seen is not None and sortable_time(first_seen) < (profile.created_at or "~"):
            profile.created_at = sortable_time(first_seen)

    def ensure_profile(self, customer_id: str, at: datetime) -> None:
        self._call("ensure_profile")
        profile = self.profiles.setdefault(customer_id, _Profile())
        profile.created_at = profile.created_at or sortable_time(at)

    def save(self, contact: Contact, writes: LinkWrites) -> None:
        self._call("save")
        self._store_contact(contact, writes)
        self._apply(contact, writes)

    def repair(self, contact: Contact, writes: LinkWrites, case_stored: bool) -> None:
        self._call("repair")
        self._store_contact(contact, writes)
        self._apply(contact, writes, with_case=not case_stored)

    def save_links(self, contact: Contact, writes: LinkWrites, case_stored: bool | None) -> None:
        hinted = writes.hint_identifiers and contact.customer_id and contact.case_id
        if writes.suggested or writes.opened_case or hinted or (writes.thread_keys and contact.case_id):
            self._call("save_links")
            self._apply(contact, writes, with_case=case_stored is False)
        if writes.opened_case and case_stored is None:
            self._call("put_case_if_absent")
            self.cases.setdefault(writes.opened_case.case_id, writes.opened_case)

    def _store_contact(self, contact: Contact, writes: LinkWrites) -> None:
        self.contacts[contact.contact_id] = VersionedContact(contact, 0)
        self.links[contact.contact_id] = writes
        self.markers[(contact.provider.value, contact.provider_message_id)] = contact.contact_id

    def _apply(self, contact: Contact, writes: LinkWrites, *, with_case: bool = True) -> None:
        for suggestion in writes.suggested:
            self.suggestions[(suggestion.contact_id, suggestion.item_key)] = suggestion
        if contact.case_id:
            for key in writes.thread_keys:
                self.threads[key] = ThreadHit(key, contact.case_id, writes.case_owner)
                self.thread_writers[key] = contact.contact_id
        if opened := writes.opened_case:
            if with_case:
                self.cases[opened.case_id] = opened
            reference = case_reference(opened.reference)
            self.threads[reference] = ThreadHit(reference, opened.case_id, opened.customer_id)
            self.thread_writers[reference] = contact.contact_id
        if contact.customer_id and contact.case_id:
            for identifier in writes.hint_identifiers:
                self.hints[identifier.key] = CaseHint(contact.customer_id, contact.case_id, contact.occurred_at)

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
            merge_id=stored.merge_id,
            latest_at=stored.latest_at,
            latest_contact=stored.latest_contact,
            absorbed=frozenset(stored.absorbed),
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

    def settle_dispute(self, identifier: Identifier, owner: str) -> None:
        self._call("settle_dispute")
        self._owned_by(identifier, owner).disputed_by.clear()

    def repoint(self, identifier: Identifier, source: str, target: str, merge_id: str | None) -> None:
        self._call("repoint")
        owner = self._owned_by(identifier, source)
        owner.customer_id, owner.merged_by = target, merge_id
        owner.identifier = owner.identifier.model_copy(update={"assurance": identifier.assurance})

    def mark_merged(self, merged: str, survivor: str, merge_id: str) -> None:
        self._call("mark_merged")
        profile = self.profiles.get(merged)
        if profile is None or (profile.merged_into and profile.merge_id != merge_id):
            raise ConditionFailed("CUS")
        profile.status, profile.merged_into, profile.merge_id = "merged", survivor, merge_id

    def absorb(self, survivor: Profile, merged: str, active: tuple[str, str] | None) -> None:
        self._call("absorb")
        stored = self.profiles.get(survivor.customer_id)
        seen = (stored.active_case_id, stored.active_case_at) if stored and stored.active_case_id else None
        if stored is None or stored.merged_into or seen != survivor.active:
            raise ConditionFailed("CUS")
        if active is not None:
            stored.active_case_id, stored.active_case_at = active
        stored.absorbed.add(merged)

    def restore_profile(self, merged: Profile, merge_id: str) -> None:
        self._call("restore_profile")
        stored = self.profiles.get(merged.customer_id)
        if stored is None or stored.merge_id != merge_id:
            raise ConditionFailed("CUS")
        stored.status, stored.merged_into, stored.merge_id = merged.status, None, None
        if merged.active is not None:
            stored.active_case_id, stored.active_case_at = merged.active

    def release(
        self, survivor: str, merged: str, restore_to: tuple[str, str] | None, set_by_merge: tuple[str, str] | None
    ) -> None:
        self._call("release")
        stored = self.profiles.get(survivor)
        if stored is None:
            raise ConditionFailed("CUS")
        stored.absorbed.discard(merged)
        if restore_to and set_by_merge and restore_to != set_by_merge:
            self._call("release")
            if (stored.active_case_id, stored.active_case_at) == set_by_merge:
                stored.active_case_id, stored.active_case_at = restore_to

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
        if log is None or log.get("state") not in (expected, state):
            raise ConditionFailed("MERGE")
        log.update({"state": state, **extra})

    def _owned_by(self, identifier: Identifier, customer_id: str) -> _Owner:
        owner = self.owners.get(identifier.key)
        if owner is None or owner.customer_id != customer_id:
            raise ConditionFailed("IDN")
        return owner
