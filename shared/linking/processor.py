"""The processor's use case: dedupe → resolve the customer → link the case → store.

An orchestrator: it makes exactly the round trips docs/data-model.md counts
through the `ContactStore` port and asks the pure rules what each answer means
(`shared.linking.rules`, `shared.linking.decision`, through `ContactLinker`). A
contact with a revision (a call) is created or merged instead of deduplicated:
the merge rules are `shared.linking.calls`.

Crash consistency (docs/data-model.md, "Write protocol"): a contact's item is
written together with what it links, and records that write set (`links`), so a
redelivery that finds the item rewrites exactly the same items instead of
deciding again; a call's links are written before the version that names them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum

from shared.config import Settings
from shared.linking import calls, claims, merge_plan
from shared.linking.linker import ContactLinker, Linked, Looked
from shared.linking.merging import CustomerMerged, MergeConflict, Merging
from shared.linking.ports import ContactStore
from shared.model import thread_keys
from shared.model.contact import Assurance, Contact, LinkRule
from shared.model.failures import StoreContention
from shared.model.identifiers import Blocklist
from shared.model.records import LinkWrites, VersionedContact

MAX_MERGE_ATTEMPTS = 5


class Outcome(Enum):
    STORED = "stored"
    MERGED = "merged"  # a later report of a call, folded into its stored contact
    DUPLICATE = "duplicate"
    REPAIRED = "repaired"  # a redelivery of a contact already stored: its links written again
    ERASED = "erased"  # an old message of a customer who was erased: not stored again


@dataclass(frozen=True)
class ProcessResult:
    outcome: Outcome
    contact_id: str
    customer_created: bool = False
    case_opened: bool = False
    ambiguous: bool = False
    over_limit: bool = False  # an identifier was not attached: its customer carries the most of its kind


class ContactProcessor:
    def __init__(self, store: ContactStore, settings: Settings, merging: Merging | None = None) -> None:
        self._store = store
        self._settings = settings
        self._linker = ContactLinker(store, settings)
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
        found = looked.found
        if found.erased:
            return ProcessResult(Outcome.ERASED, contact.contact_id)
        if contact.revision is not None:
            return self._create_or_merge(contact, found.duplicate_of, looked)
        if found.stored is not None:
            # An earlier delivery of this very message wrote its item; its other writes may not all have
            # landed (a crash inside the last batch). Write them again, exactly as that delivery decided.
            self._store.repair(found.stored.contact, found.stored_links or LinkWrites(), found.candidate_case_exists)
            return ProcessResult(Outcome.REPAIRED, contact.contact_id)
        if found.duplicate_of and found.duplicate_of != contact.contact_id:
            # Stored under another id: a provider's retry. (Our own id with no item: an earlier delivery
            # wrote the marker but not the contact before it died; carry on and store it.)
            return ProcessResult(Outcome.DUPLICATE, found.duplicate_of)
        looked = self._settle_verified(contact, looked)
        linked = self._linker.link(contact, looked)
        self._contest(linked.contact, looked)
        self._store.save(linked.contact, linked.writes)
        return self._result(Outcome.STORED, linked)

    def _look_up(self, contact: Contact) -> Looked:
        usable = self._blocklist.usable(contact.customer_party.identifiers)
        quoted = thread_keys.quoted(contact)
        references = thread_keys.quoted_case_references(contact)
        claimed = tuple(i for c in contact.claims if (i := c.identifier) and not self._blocklist.blocks(i))
        # Claimed identifiers ride along in the same BatchGetItem: their owners only feed suggestions.
        found = self._store.lookup(contact, usable + claimed, quoted + references)
        return Looked(usable, quoted, references, found, claimed)

    def _settle_verified(self, contact: Contact, looked: Looked) -> Looked:
        """Rule 3 for a contact carrying verified identifiers (the app): merge their owners, or keep apart.

        An owner holding a different verified app/CRM id than this contact is
        another person (a recycled or family number): its identifiers are left out
        of this contact's resolution, so they neither find nor move anything, and
        are contested (`_contest`): from then on they find neither customer.
        """
        verified = [i for i in looked.usable if i.assurance is Assurance.VERIFIED]
        if self._merging is None or not verified:
            return looked
        # A merge this contact started on an earlier delivery may have stopped half way: finish it first.
        for merge_id in sorted({m for i in verified if (m := looked.found.merged_by.get(i.key))}):
            self._merging.finish(merge_id)
        owners = looked.found.owners_of(verified)
        accounts = merge_plan.accounts(verified)
        account_owner = next(
            (owners[i.key] for i in verified if i.kind in merge_plan.UNIQUE_KINDS and i.key in owners), None
        )
        target, merged, others = account_owner, False, set()
        for customer in sorted(set(owners.values()) - {account_owner}):
            if merge_plan.conflicting_account(accounts, self._merging.accounts(customer)):
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
        holders = looked.found.owners
        usable = tuple(i for i in looked.usable if holders.get(i.key) not in others)
        disputes = tuple(i for i in verified if holders.get(i.key) in others)
        return replace(looked, usable=usable, disputes=disputes)

    def _contest(self, contact: Contact, looked: Looked) -> None:
        """Written before the contact, so a redelivery that finds the contact stored finds these done too."""
        customer = contact.customer_id
        if customer is None:
            return
        for identifier in looked.disputes:
            if customer not in looked.found.contested.get(identifier.key, ()):
                self._store.contest_identifier(identifier, customer)

    @staticmethod
    def _result(outcome: Outcome, linked: Linked) -> ProcessResult:
        return ProcessResult(
            outcome,
            linked.contact.contact_id,
            customer_created=linked.resolution.created,
            case_opened=linked.choice.opened,
            ambiguous=linked.resolution.ambiguous,
            over_limit=linked.resolution.over_limit,
        )

    def _create_or_merge(self, update: Contact, owner: str | None, looked: Looked) -> ProcessResult:
        """One contact per call, whatever the order and repetition of its reports.

        The marker names the call's contact (`claim_message` settles a race of two
        first reports). What a report links is written first and the contact item
        last, only on the version it was read at: a crash between the two leaves
        links that the retry writes again; a lost race merges again into what the
        winner wrote.
        """
        claimed_now, looked_id = False, update.contact_id
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
            linked: Linked | None
            if current is not None and self._quotes_new_reference(current.contact, merged):
                # A reference read out later (a voicemail transcript) moves the call onto the named case.
                merged = merged.model_copy(update={"link": None, "case_id": None, "customer_id": None})
                linked = self._linker.link(merged, self._without_own_thread(merged, self._looked_for(merged, looked)))
            elif calls.needs_linking(merged):
                linked = self._linker.link(merged, self._looked_for(merged, looked))
            else:
                linked = None
            if linked is not None:
                # The first look-up read the case this report would open only if the call is named after it.
                case_stored = looked.found.candidate_case_exists if owner == looked_id else None
                self._store.save_links(linked.contact, linked.writes, case_stored)
            expected = current.version if current else None
            conflict = self._store.put_versioned(linked.contact if linked else merged, expected)
            if conflict is None:
                outcome = Outcome.STORED if current is None else Outcome.MERGED
                return self._result(outcome, linked) if linked else ProcessResult(outcome, owner)
            current = conflict
        raise StoreContention(f"call contact {owner} kept changing")

    @staticmethod
    def _quotes_new_reference(stored: Contact, merged: Contact) -> bool:
        linked_by_reference = stored.link is not None and stored.link.rule in (LinkRule.THREAD, LinkRule.REFERENCE)
        new = set(thread_keys.quoted_case_references(merged)) - set(thread_keys.quoted_case_references(stored))
        return stored.link is not None and not linked_by_reference and bool(new)

    @staticmethod
    def _without_own_thread(contact: Contact, looked: Looked) -> Looked:
        """The call's own thread key names the case its first report opened: it must not outrank the reference."""
        own = set(thread_keys.owned(contact))
        return replace(looked, thread_keys=tuple(key for key in looked.thread_keys if key not in own))

    def _looked_for(self, contact: Contact, looked: Looked) -> Looked:
        """The first look-up, unless the merged call names identifiers or keys it did not cover."""
        covered = (
            self._blocklist.usable(contact.customer_party.identifiers) == looked.usable
            and thread_keys.quoted(contact) == looked.thread_keys
            and thread_keys.quoted_case_references(contact) == looked.reference_keys
        )
        return looked if covered else self._look_up(contact)
