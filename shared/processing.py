"""The processor's use case: dedupe → resolve the customer → link the case → store.

The rules live in `shared.linking`; this module carries them out against a store
in the fewest round trips (docs/data-model.md counts them). A contact with a
revision (a call) is created or merged instead of deduplicated: the merge rules
are `shared.calls`, the write protocol is in docs/channels/telephony.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import TypedDict

from shared import calls, ids, linking
from shared.config import Settings
from shared.identifiers import Blocklist
from shared.identity import claims, merge_plan, suggestions
from shared.identity.merging import CustomerMerged, MergeConflict, Merging
from shared.linking import ActiveCase, CaseStepKind, CustomerResolution, ThreadHit
from shared.schema import Assurance, Contact, Identifier, Link, LinkRule
from shared.store.dynamo import DynamoStore, Lookup, VersionedContact
from shared.store.records import CaseRecord, CaseStatus
from shared.store.table_client import StoreContention

MAX_CASE_ATTEMPTS = 4
MAX_MERGE_ATTEMPTS = 5
MAX_MERGE_REDIRECTS = 2  # a profile merged into one merged in turn


class Outcome(Enum):
    STORED = "stored"
    MERGED = "merged"  # a later report of a call, folded into its stored contact
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ProcessResult:
    outcome: Outcome
    contact_id: str
    customer_created: bool = False
    case_opened: bool = False
    ambiguous: bool = False
    over_limit: bool = False  # an identifier was not attached: its customer carries the most of its kind


class CaseContention(RuntimeError):
    """The customer's active case kept changing under us; SQS redelivers and we try again."""


@dataclass(frozen=True)
class _CaseChoice:
    case_id: str | None
    rule: LinkRule
    evidence: str
    opened: bool = False
    claimed: bool = False  # a quoted reference to a case its customer does not own (rule 5)
    survivor_id: str | None = None  # the resolved customer turned out merged: the contact is the survivor's


@dataclass(frozen=True)
class _Looked:
    """What the first round trip looked up, for which identifiers and keys."""

    usable: tuple[Identifier, ...]
    thread_keys: tuple[str, ...]
    reference_keys: tuple[str, ...]
    found: Lookup
    claimed: tuple[Identifier, ...] = ()


class _LinkWrites(TypedDict):
    """What the store writes besides the contact itself (`DynamoStore.save` / `save_links`)."""

    opened_case: CaseRecord | None
    thread_keys: tuple[str, ...]
    hint_identifier: Identifier | None
    suggested: tuple[suggestions.Suggestion, ...]


@dataclass(frozen=True)
class _Linked:
    contact: Contact
    resolution: CustomerResolution
    choice: _CaseChoice
    hint: Identifier | None
    suggested: tuple[suggestions.Suggestion, ...] = ()


class ContactProcessor:
    def __init__(self, store: DynamoStore, settings: Settings, merging: Merging | None = None) -> None:
        self._store = store
        self._settings = settings
        self._blocklist = Blocklist(settings.own_identifiers | settings.blocked_identifiers)
        self._order_pattern = re.compile(settings.order_pattern) if settings.order_pattern else None
        self._merging = merging

    def process(self, contact: Contact) -> ProcessResult:
        contact = contact.model_copy(
            update={
                "claims": claims.extract(
                    contact, default_region=self._settings.default_region, order_pattern=self._order_pattern
                )
            }
        )
        looked = self._look_up(contact)
        looked = self._settle_verified(contact, looked)
        existing = looked.found.duplicate_of(contact)
        if contact.revision is not None:
            return self._create_or_merge(contact, existing, looked)
        if existing:
            return ProcessResult(Outcome.DUPLICATE, existing)
        linked = self._link(contact, looked)
        self._store.save(linked.contact, **self._link_writes(linked))
        return self._result(Outcome.STORED, linked)

    def _look_up(self, contact: Contact) -> _Looked:
        usable = self._blocklist.usable(contact.customer_party.identifiers)
        thread_keys = linking.lookup_thread_keys(contact)
        reference_keys = linking.reference_keys(contact)
        claimed = tuple(
            i for c in contact.claims if (i := claims.claimed_identifier(c)) and not self._blocklist.blocks(i)
        )
        # Claimed identifiers ride along in the same BatchGetItem: their owners only feed suggestions.
        found = self._store.lookup(contact, usable + claimed, thread_keys + reference_keys)
        return _Looked(usable, thread_keys, reference_keys, found, claimed)

    def _settle_verified(self, contact: Contact, looked: _Looked) -> _Looked:
        """Rule 3 for a contact carrying verified identifiers (the app): merge their owners, or keep apart.

        An owner holding a different verified app/CRM id than this contact is
        another person (a recycled or family number): its identifiers are left out
        of this contact's resolution, so they neither find nor move anything.
        """
        verified = [i for i in looked.usable if i.assurance is Assurance.VERIFIED]
        if self._merging is None or not verified or contact.revision is not None or looked.found.duplicate_of(contact):
            return looked
        owners = looked.found.owners(verified)
        accounts = {(i.kind, i.value) for i in verified if i.kind in merge_plan.UNIQUE_KINDS}
        account_owner = next(
            (owners[i.key] for i in verified if i.kind in merge_plan.UNIQUE_KINDS and i.key in owners), None
        )
        target, merged, others = account_owner, False, set()
        for customer in sorted(set(owners.values()) - {account_owner}):
            held = self._merging.accounts(customer)
            if any(kind == k and value != v for kind, value in accounts for k, v in held):
                others.add(customer)
                continue
            if target is None:
                target = customer
                continue
            evidence = f"verified identifiers in {contact.channel.value} contact {contact.contact_id}"
            try:
                target = self._merging.merge_customers(target, customer, evidence).surviving_customer_id
                merged = True
            except (MergeConflict, CustomerMerged):
                others.add(customer)
        if merged:
            looked = self._look_up(contact)
        if not others:
            return looked
        usable = tuple(i for i in looked.usable if looked.found.owners([i]).get(i.key) not in others)
        return replace(looked, usable=usable)

    def _link(self, contact: Contact, looked: _Looked) -> _Linked:
        usable, found = looked.usable, looked.found
        owners = found.owners(usable)
        resolution = linking.resolve_customer(contact, usable, owners)
        if resolution.customer_id:
            resolution = self._attach_identifiers(resolution, usable, owners, contact.occurred_at)

        thread_hit = linking.first_thread_hit(looked.thread_keys, found.thread_hits(looked.thread_keys))
        reference_hit = linking.first_thread_hit(looked.reference_keys, found.thread_hits(looked.reference_keys))
        customer = resolution.customer_id
        foreign_case: ThreadHit | None = None
        if customer is None:
            choice = self._case_without_customer(contact, resolution, thread_hit or reference_hit)
        elif thread_hit and thread_hit.customer_id == customer:
            self._store.follow_thread(customer, thread_hit.case_id, contact.occurred_at)
            choice = _CaseChoice(thread_hit.case_id, LinkRule.THREAD, f"thread key {thread_hit.key.split('#')[0]}")
        elif thread_hit and thread_hit.customer_id and linking.joins_foreign_thread(contact):
            # Rule 5, first match, on another customer's thread (a reply from a second address):
            # the contact joins that case for context, marked claimed; the sender stays who sent it.
            if resolution.created:
                self._store.ensure_profile(customer, contact.occurred_at)
            foreign_case = thread_hit
            choice = _CaseChoice(
                thread_hit.case_id, LinkRule.THREAD, "thread key of another customer's case", claimed=True
            )
        elif reference_hit and reference_hit.customer_id == customer:
            self._store.follow_thread(customer, reference_hit.case_id, contact.occurred_at)
            choice = _CaseChoice(reference_hit.case_id, LinkRule.REFERENCE, "case reference of the customer's case")
        elif reference_hit:
            # Rule 5: the agent gets the context, the sender proves nothing and merges nothing.
            if resolution.created:
                self._store.ensure_profile(customer, contact.occurred_at)
            foreign_case = reference_hit
            choice = _CaseChoice(
                reference_hit.case_id, LinkRule.REFERENCE, "case reference of another customer's case", claimed=True
            )
        else:
            primary = usable[0] if usable else None
            guess = ActiveCase(None, None) if resolution.created else found.hint(primary, customer)
            choice = self._settle_case(contact, customer, guess)
            if choice.survivor_id:
                customer = choice.survivor_id
                resolution = CustomerResolution(customer, False, resolution.evidence + ", merged into survivor")

        linked = contact.model_copy(
            update={
                "customer_id": customer,
                "case_id": choice.case_id,
                "link": Link(
                    rule=choice.rule,
                    evidence=choice.evidence,
                    customer_evidence=resolution.evidence,
                    assurance=Assurance.CLAIMED if choice.claimed else None,
                ),
            }
        )
        # A claimed case is not the sender's: it must not become their guess for the next contact.
        hint = usable[0] if usable and not choice.claimed else None
        suggested = suggestions.from_claims(linked, found.owners(looked.claimed))
        if foreign_case and customer:
            how = "a quoted case reference" if foreign_case.key.startswith(linking.REFERENCE_PREFIX) else "a reply"
            suggested += suggestions.from_foreign_case(linked, foreign_case.customer_id, how)
        return _Linked(linked, resolution, choice, hint, tuple(suggested))

    def _link_writes(self, linked: _Linked) -> _LinkWrites:
        contact = linked.contact
        return {
            "opened_case": self._case_record(contact) if linked.choice.opened else None,
            "thread_keys": linking.own_thread_keys(contact),
            "hint_identifier": linked.hint,
            "suggested": linked.suggested,
        }

    @staticmethod
    def _result(outcome: Outcome, linked: _Linked) -> ProcessResult:
        return ProcessResult(
            outcome,
            linked.contact.contact_id,
            customer_created=linked.resolution.created,
            case_opened=linked.choice.opened,
            ambiguous=linked.resolution.ambiguous,
            over_limit=linked.resolution.over_limit,
        )

    def _create_or_merge(self, update: Contact, owner: str | None, looked: _Looked) -> ProcessResult:
        """One contact per call, whatever the order and repetition of its reports.

        The marker names the call's contact (`claim_message` settles a race of two
        first reports); the contact item is written only on the version it was read
        at, and a lost race merges again into what the winner wrote.
        """
        claimed_now = False
        if owner is None:
            owner = self._store.claim_message(update)
            claimed_now = owner == update.contact_id
        update = update.model_copy(update={"contact_id": owner})
        current: VersionedContact | None = looked.found.versioned(owner)
        if current is None and not claimed_now:
            current = self._store.get_versioned(owner)
        for _ in range(MAX_MERGE_ATTEMPTS):
            merged = update if current is None else calls.merge(current.contact, update)
            if current is not None and merged == current.contact:
                return ProcessResult(Outcome.DUPLICATE, owner)
            linked: _Linked | None
            if current is not None and self._quotes_new_reference(current.contact, merged):
                # A reference read out later (a voicemail transcript) moves the call onto the named case.
                merged = merged.model_copy(update={"link": None, "case_id": None, "customer_id": None})
                linked = self._link(merged, self._without_own_thread(merged, self._looked_for(merged, looked)))
            else:
                linked = self._link(merged, self._looked_for(merged, looked)) if calls.needs_linking(merged) else None
            expected = current.version if current else None
            conflict = self._store.put_versioned(linked.contact if linked else merged, expected)
            if conflict is None:
                outcome = Outcome.STORED if current is None else Outcome.MERGED
                if linked is None:
                    return ProcessResult(outcome, owner)
                self._store.save_links(linked.contact, **self._link_writes(linked))
                return self._result(outcome, linked)
            current = conflict
        raise StoreContention(f"call contact {owner} kept changing")

    @staticmethod
    def _quotes_new_reference(stored: Contact, merged: Contact) -> bool:
        linked_by_reference = stored.link is not None and stored.link.rule in (LinkRule.THREAD, LinkRule.REFERENCE)
        new = set(linking.reference_keys(merged)) - set(linking.reference_keys(stored))
        return stored.link is not None and not linked_by_reference and bool(new)

    @staticmethod
    def _without_own_thread(contact: Contact, looked: _Looked) -> _Looked:
        """The call's own thread key names the case its first report opened: it must not outrank the reference."""
        own = set(linking.own_thread_keys(contact))
        return replace(looked, thread_keys=tuple(key for key in looked.thread_keys if key not in own))

    def _looked_for(self, contact: Contact, looked: _Looked) -> _Looked:
        """The first look-up, unless the merged call names identifiers or keys it did not cover."""
        covered = (
            self._blocklist.usable(contact.customer_party.identifiers) == looked.usable
            and linking.lookup_thread_keys(contact) == looked.thread_keys
            and linking.reference_keys(contact) == looked.reference_keys
        )
        return looked if covered else self._look_up(contact)

    def _attach_identifiers(
        self,
        resolution: CustomerResolution,
        usable: tuple[Identifier, ...],
        owners: dict[str, str],
        at: datetime,
    ) -> CustomerResolution:
        """Claim the sender's unowned identifiers; a faster racer's customer wins the first.

        Per-kind limits: a new customer holds only what this contact names (counted
        here, no I/O); a known customer gaining an identifier costs one COUNT query,
        so the common case (everything known) keeps its round trips.
        """
        assert resolution.customer_id is not None
        customer = resolution.customer_id
        attached: dict[str, int] = {}
        for index, identifier in enumerate(i for i in usable if i.assurance.finds_customer):
            if identifier.key in owners:
                continue
            if not self._within_limit(resolution, identifier, attached):
                over = f", {identifier.kind.value} over the identifier limit, not attached"
                resolution = replace(resolution, evidence=resolution.evidence + over, over_limit=True)
                continue
            attached[identifier.kind.value] = attached.get(identifier.kind.value, 0) + 1
            owner = self._store.claim_identifier(identifier, customer, at)
            if owner != customer and index == 0 and resolution.created:
                # Another processor created this customer first: join it instead.
                customer = owner
                resolution = replace(
                    resolution, customer_id=owner, created=False, evidence=resolution.evidence + ", raced"
                )
        return resolution

    def _within_limit(self, resolution: CustomerResolution, identifier: Identifier, attached: dict[str, int]) -> bool:
        limit = self._settings.identifier_limits.get(identifier.kind.value)
        if limit is None:
            return True
        held = attached.get(identifier.kind.value, 0)
        if not resolution.created:
            assert resolution.customer_id is not None
            held += self._store.count_identifiers(resolution.customer_id, identifier.kind.value, up_to=limit)
        return held < limit

    def _case_without_customer(
        self, contact: Contact, resolution: CustomerResolution, hit: ThreadHit | None
    ) -> _CaseChoice:
        if hit and hit.key.startswith(linking.REFERENCE_PREFIX):
            return _CaseChoice(hit.case_id, LinkRule.REFERENCE, "case reference, sender unresolved", claimed=True)
        if hit:
            return _CaseChoice(hit.case_id, LinkRule.THREAD, "thread key, sender unresolved")
        if not linking.may_open_case(contact):
            return _CaseChoice(None, LinkRule.NO_CASE, "automated or outbound, no customer")
        case = ids.case_id(contact.contact_id)
        return _CaseChoice(case, LinkRule.ANONYMOUS, resolution.evidence, opened=True)

    def _settle_case(self, contact: Contact, customer_id: str, guess: ActiveCase) -> _CaseChoice:
        window = self._settings.reopen_window
        at = contact.occurred_at
        candidate = ids.case_id(contact.contact_id)
        active, resolved = guess, customer_id
        for _ in range(MAX_CASE_ATTEMPTS + MAX_MERGE_REDIRECTS):
            step = linking.plan_case_step(active, at, window)
            if step.kind is CaseStepKind.JOIN:
                assert step.case_id is not None
                return self._joined(step.case_id, candidate, "open case in reopen window", resolved, customer_id)
            if step.kind is CaseStepKind.CONTINUE:
                assert step.case_id is not None
                current = self._store.continue_case(resolved, step.case_id, at, at - window)
                if current is None:
                    return self._joined(step.case_id, candidate, "open case in reopen window", resolved, customer_id)
            elif not linking.may_open_case(contact):
                return _CaseChoice(None, LinkRule.NO_CASE, "automated or outbound, no open case")
            else:
                current = self._store.open_case(resolved, candidate, at, at - window)
                if current is None:
                    return _CaseChoice(
                        candidate,
                        LinkRule.NEW_CASE,
                        "no open case in reopen window",
                        opened=True,
                        survivor_id=resolved if resolved != customer_id else None,
                    )
            if current.merged_into:
                # A merge pointed this profile at its survivor: follow it, the survivor's case decides.
                resolved, current = current.merged_into, ActiveCase(None, None)
            active = current
        raise CaseContention(customer_id)

    @staticmethod
    def _joined(case_id: str, candidate: str, evidence: str, resolved: str, customer_id: str) -> _CaseChoice:
        survivor = resolved if resolved != customer_id else None
        # A retry after a crash finds the case this very contact opened: still write its record.
        if case_id == candidate:
            return _CaseChoice(
                case_id, LinkRule.NEW_CASE, "no open case in reopen window", opened=True, survivor_id=survivor
            )
        return _CaseChoice(case_id, LinkRule.OPEN_CASE, evidence, survivor_id=survivor)

    @staticmethod
    def _case_record(contact: Contact) -> CaseRecord:
        assert contact.case_id is not None
        return CaseRecord(
            case_id=contact.case_id,
            customer_id=contact.customer_id,
            reference=ids.case_reference(contact.case_id),
            status=CaseStatus.OPEN,
            opened_at=contact.occurred_at,
            opened_by=contact.contact_id,
            channel=contact.channel,
        )
