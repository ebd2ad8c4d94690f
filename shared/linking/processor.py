"""The processor's use case: dedupe → resolve the customer → link the case → store.

An orchestrator: it makes exactly the round trips docs/data-model.md counts
through the `ContactStore` port and asks the pure rules what each answer means
(`shared.linking.rules`, `shared.linking.decision`). A contact with a revision
(a call) is created or merged instead of deduplicated: the merge rules are
`shared.linking.calls`, the write protocol is in docs/channels/telephony.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from shared.config import Settings
from shared.linking import calls, claims, decision, merge_plan, rules
from shared.linking.decision import CaseChoice
from shared.linking.merging import CustomerMerged, MergeConflict, Merging
from shared.linking.ports import ContactStore
from shared.linking.rules import CaseStepKind, CustomerResolution
from shared.model import minted, thread_keys
from shared.model.contact import Assurance, Contact, Identifier, LinkRule
from shared.model.failures import StoreContention
from shared.model.identifiers import Blocklist
from shared.model.records import NO_ACTIVE_CASE, ActiveCase, LinkWrites, Lookup, Suggestion, VersionedContact

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
class _Looked:
    """What the first round trip looked up, for which identifiers and keys."""

    usable: tuple[Identifier, ...]
    thread_keys: tuple[str, ...]
    reference_keys: tuple[str, ...]
    found: Lookup
    claimed: tuple[Identifier, ...] = ()


@dataclass(frozen=True)
class _Linked:
    contact: Contact
    resolution: CustomerResolution
    choice: CaseChoice
    hint: Identifier | None
    suggested: tuple[Suggestion, ...] = ()

    @property
    def writes(self) -> LinkWrites:
        return decision.writes(self.contact, self.choice, self.hint, self.suggested)


class ContactProcessor:
    def __init__(self, store: ContactStore, settings: Settings, merging: Merging | None = None) -> None:
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
        existing = looked.found.duplicate_of
        if contact.revision is not None:
            return self._create_or_merge(contact, existing, looked)
        if existing:
            return ProcessResult(Outcome.DUPLICATE, existing)
        linked = self._link(contact, looked)
        self._store.save(linked.contact, linked.writes)
        return self._result(Outcome.STORED, linked)

    def _look_up(self, contact: Contact) -> _Looked:
        usable = self._blocklist.usable(contact.customer_party.identifiers)
        quoted = thread_keys.quoted(contact)
        references = thread_keys.quoted_case_references(contact)
        claimed = tuple(i for c in contact.claims if (i := c.identifier) and not self._blocklist.blocks(i))
        # Claimed identifiers ride along in the same BatchGetItem: their owners only feed suggestions.
        found = self._store.lookup(contact, usable + claimed, quoted + references)
        return _Looked(usable, quoted, references, found, claimed)

    def _settle_verified(self, contact: Contact, looked: _Looked) -> _Looked:
        """Rule 3 for a contact carrying verified identifiers (the app): merge their owners, or keep apart.

        An owner holding a different verified app/CRM id than this contact is
        another person (a recycled or family number): its identifiers are left out
        of this contact's resolution, so they neither find nor move anything.
        """
        verified = [i for i in looked.usable if i.assurance is Assurance.VERIFIED]
        if self._merging is None or not verified or contact.revision is not None or looked.found.duplicate_of:
            return looked
        owners = looked.found.owners_of(verified)
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
        usable = tuple(i for i in looked.usable if looked.found.owners_of([i]).get(i.key) not in others)
        return replace(looked, usable=usable)

    def _link(self, contact: Contact, looked: _Looked) -> _Linked:
        usable, found = looked.usable, looked.found
        owners = found.owners_of(usable)
        resolution = rules.resolve_customer(contact, usable, owners)
        if resolution.customer_id:
            resolution = self._attach_identifiers(resolution, usable, owners, contact.occurred_at)

        thread_hit = rules.first_thread_hit(looked.thread_keys, found.thread_hits(looked.thread_keys))
        reference_hit = rules.first_thread_hit(looked.reference_keys, found.thread_hits(looked.reference_keys))
        customer = resolution.customer_id
        foreign = None
        if customer is None:
            choice = decision.without_customer(contact, resolution, thread_hit or reference_hit)
        elif match := decision.by_keys(contact, resolution, thread_hit, reference_hit):
            choice, foreign = match.choice, match.foreign
            assert choice.case_id is not None
            if match.follows:
                self._store.follow_thread(customer, choice.case_id, contact.occurred_at)
            elif match.needs_profile:
                self._store.ensure_profile(customer, contact.occurred_at)
        else:
            primary = usable[0] if usable else None
            guess = NO_ACTIVE_CASE if resolution.created else found.hint(primary, customer)
            choice = self._settle_case(contact, customer, guess)
            if choice.survivor_id:
                customer = choice.survivor_id
                resolution = CustomerResolution(customer, False, resolution.evidence + ", merged into survivor")

        linked = decision.linked(contact, customer, resolution, choice)
        found_suggestions = decision.suggested(linked, found.owners_of(looked.claimed), foreign)
        hint = decision.hint_identifier(usable, choice)
        return _Linked(linked, resolution, choice, hint, found_suggestions)

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
                self._store.save_links(linked.contact, linked.writes)
                return self._result(outcome, linked)
            current = conflict
        raise StoreContention(f"call contact {owner} kept changing")

    @staticmethod
    def _quotes_new_reference(stored: Contact, merged: Contact) -> bool:
        linked_by_reference = stored.link is not None and stored.link.rule in (LinkRule.THREAD, LinkRule.REFERENCE)
        new = set(thread_keys.quoted_case_references(merged)) - set(thread_keys.quoted_case_references(stored))
        return stored.link is not None and not linked_by_reference and bool(new)

    @staticmethod
    def _without_own_thread(contact: Contact, looked: _Looked) -> _Looked:
        """The call's own thread key names the case its first report opened: it must not outrank the reference."""
        own = set(thread_keys.owned(contact))
        return replace(looked, thread_keys=tuple(key for key in looked.thread_keys if key not in own))

    def _looked_for(self, contact: Contact, looked: _Looked) -> _Looked:
        """The first look-up, unless the merged call names identifiers or keys it did not cover."""
        covered = (
            self._blocklist.usable(contact.customer_party.identifiers) == looked.usable
            and thread_keys.quoted(contact) == looked.thread_keys
            and thread_keys.quoted_case_references(contact) == looked.reference_keys
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

    def _settle_case(self, contact: Contact, customer_id: str, guess: ActiveCase) -> CaseChoice:
        window = self._settings.reopen_window
        at = contact.occurred_at
        candidate = minted.case_id(contact.contact_id)
        active, resolved = guess, customer_id
        for _ in range(MAX_CASE_ATTEMPTS + MAX_MERGE_REDIRECTS):
            survivor = resolved if resolved != customer_id else None
            step = rules.plan_case_step(active, at, window)
            if step.kind is CaseStepKind.JOIN:
                assert step.case_id is not None
                return decision.joined(step.case_id, candidate, "open case in reopen window", survivor)
            if step.kind is CaseStepKind.CONTINUE:
                assert step.case_id is not None
                current = self._store.continue_case(resolved, step.case_id, at, at - window)
                if current is None:
                    return decision.joined(step.case_id, candidate, "open case in reopen window", survivor)
            elif not rules.may_open_case(contact):
                return CaseChoice(None, LinkRule.NO_CASE, "automated or outbound, no open case")
            else:
                current = self._store.open_case(resolved, candidate, at, at - window)
                if current is None:
                    return decision.joined(candidate, candidate, "no open case in reopen window", survivor)
            if current.merged_into:
                # A merge pointed this profile at its survivor: follow it, the survivor's case decides.
                resolved, current = current.merged_into, NO_ACTIVE_CASE
            active = current
        raise CaseContention(customer_id)
