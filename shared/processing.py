"""The processor's use case: dedupe → resolve the customer → link the case → store.

The rules live in `shared.linking`; this module carries them out against a store
in the fewest round trips (docs/data-model.md counts them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from shared import ids, linking
from shared.config import Settings
from shared.identifiers import Blocklist
from shared.linking import ActiveCase, CaseStepKind, CustomerResolution
from shared.schema import Contact, Identifier, Link, LinkRule
from shared.store.dynamo import DynamoStore
from shared.store.records import CaseRecord, CaseStatus

MAX_CASE_ATTEMPTS = 4


class Outcome(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ProcessResult:
    outcome: Outcome
    contact_id: str
    customer_created: bool = False
    case_opened: bool = False
    ambiguous: bool = False


class CaseContention(RuntimeError):
    """The customer's active case kept changing under us; SQS redelivers and we try again."""


@dataclass(frozen=True)
class _CaseChoice:
    case_id: str | None
    rule: LinkRule
    evidence: str
    opened: bool = False


class ContactProcessor:
    def __init__(self, store: DynamoStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._blocklist = Blocklist(settings.own_identifiers)

    def process(self, contact: Contact) -> ProcessResult:
        usable = self._blocklist.usable(contact.customer_party.identifiers)
        thread_keys = linking.lookup_thread_keys(contact)
        found = self._store.lookup(contact, usable, thread_keys)
        duplicate = found.duplicate_of(contact)
        if duplicate:
            return ProcessResult(Outcome.DUPLICATE, duplicate)

        resolution = linking.resolve_customer(contact, usable, found.owners(usable))
        if resolution.customer_id:
            resolution = self._attach_identifiers(resolution, usable, found.owners(usable), contact.occurred_at)

        thread_hit = linking.first_thread_hit(thread_keys, found.thread_hits(thread_keys))
        if resolution.customer_id is None:
            choice = self._case_without_customer(contact, resolution, thread_hit)
        elif thread_hit and thread_hit.customer_id == resolution.customer_id:
            self._store.follow_thread(resolution.customer_id, thread_hit.case_id, contact.occurred_at)
            choice = _CaseChoice(thread_hit.case_id, LinkRule.THREAD, f"thread key {thread_hit.key.split('#')[0]}")
        else:
            primary = usable[0] if usable else None
            guess = ActiveCase(None, None) if resolution.created else found.hint(primary, resolution.customer_id)
            choice = self._settle_case(contact, resolution.customer_id, guess)

        linked = contact.model_copy(
            update={
                "customer_id": resolution.customer_id,
                "case_id": choice.case_id,
                "link": Link(rule=choice.rule, evidence=choice.evidence, customer_evidence=resolution.evidence),
            }
        )
        self._store.save(
            linked,
            opened_case=self._case_record(linked) if choice.opened else None,
            thread_keys=linking.own_thread_keys(linked),
            hint_identifier=usable[0] if usable else None,
        )
        return ProcessResult(
            Outcome.STORED,
            linked.contact_id,
            customer_created=resolution.created,
            case_opened=choice.opened,
            ambiguous=resolution.ambiguous,
        )

    def _attach_identifiers(
        self,
        resolution: CustomerResolution,
        usable: tuple[Identifier, ...],
        owners: dict[str, str],
        at: datetime,
    ) -> CustomerResolution:
        """Claim the sender's unowned identifiers; a faster racer's customer wins the first."""
        assert resolution.customer_id is not None
        customer = resolution.customer_id
        for index, identifier in enumerate(i for i in usable if i.assurance.finds_customer):
            if identifier.key in owners:
                continue
            owner = self._store.claim_identifier(identifier, customer, at)
            if owner != customer and index == 0 and resolution.created:
                # Another processor created this customer first: join it instead.
                customer = owner
                resolution = CustomerResolution(owner, created=False, evidence=resolution.evidence + ", raced")
        return resolution

    def _case_without_customer(
        self, contact: Contact, resolution: CustomerResolution, thread_hit: linking.ThreadHit | None
    ) -> _CaseChoice:
        if thread_hit:
            return _CaseChoice(thread_hit.case_id, LinkRule.THREAD, "thread key, sender unresolved")
        if not linking.may_open_case(contact):
            return _CaseChoice(None, LinkRule.NO_CASE, "automated or outbound, no customer")
        case = ids.case_id(contact.contact_id)
        return _CaseChoice(case, LinkRule.ANONYMOUS, resolution.evidence, opened=True)

    def _settle_case(self, contact: Contact, customer_id: str, guess: ActiveCase) -> _CaseChoice:
        window = self._settings.reopen_window
        at = contact.occurred_at
        candidate = ids.case_id(contact.contact_id)
        active = guess
        for _ in range(MAX_CASE_ATTEMPTS):
            step = linking.plan_case_step(active, at, window)
            if step.kind is CaseStepKind.JOIN:
                assert step.case_id is not None
                return self._joined(step.case_id, candidate, "open case in reopen window")
            if step.kind is CaseStepKind.CONTINUE:
                assert step.case_id is not None
                current = self._store.continue_case(customer_id, step.case_id, at, at - window)
                if current is None:
                    return self._joined(step.case_id, candidate, "open case in reopen window")
            elif not linking.may_open_case(contact):
                return _CaseChoice(None, LinkRule.NO_CASE, "automated or outbound, no open case")
            else:
                current = self._store.open_case(customer_id, candidate, at, at - window)
                if current is None:
                    return _CaseChoice(candidate, LinkRule.NEW_CASE, "no open case in reopen window", opened=True)
            active = current
        raise CaseContention(customer_id)

    @staticmethod
    def _joined(case_id: str, candidate: str, evidence: str) -> _CaseChoice:
        # A retry after a crash finds the case this very contact opened: still write its record.
        if case_id == candidate:
            return _CaseChoice(case_id, LinkRule.NEW_CASE, "no open case in reopen window", opened=True)
        return _CaseChoice(case_id, LinkRule.OPEN_CASE, evidence)

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
