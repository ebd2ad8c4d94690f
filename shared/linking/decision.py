"""The processor's decisions, pure: given what the look-up found, which case a contact joins and what to write.

`shared.linking.processor` makes the round trips and asks these functions what
each answer means; nothing here does I/O, so every branch is a unit test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.linking import rules, suggestions
from shared.linking.rules import CustomerResolution
from shared.model import minted, thread_keys
from shared.model.contact import Assurance, Contact, Identifier, Link, LinkRule
from shared.model.records import CaseRecord, CaseStatus, LinkWrites, Suggestion, ThreadHit


@dataclass(frozen=True)
class CaseChoice:
    """Which case a contact joins, by which rule, and why."""

    case_id: str | None
    rule: LinkRule
    evidence: str
    opened: bool = False
    claimed: bool = False  # a case its sender's customer does not own (rule 5): context only
    survivor_id: str | None = None  # the resolved customer turned out merged: the contact is the survivor's
    owner_id: str | None = None  # whose case it is, when not the contact's own customer (a claimed link)


@dataclass(frozen=True)
class KeyMatch:
    """Rule 5's first two matches: a thread key or a quoted case reference named the case."""

    choice: CaseChoice
    foreign: ThreadHit | None = None  # the hit, when it is another customer's case
    follows: bool = False  # the customer's own case: it becomes their most recently active one
    needs_profile: bool = False  # a new customer who reached another's case still gets a profile


def by_keys(
    contact: Contact,
    resolution: CustomerResolution,
    thread_hit: ThreadHit | None,
    reference_hit: ThreadHit | None,
) -> KeyMatch | None:
    """The case a thread key or case reference names, or None: the open-case rules decide."""
    customer = resolution.customer_id
    assert customer is not None
    if thread_hit and thread_hit.customer_id == customer:
        evidence = f"thread key {thread_hit.key.split('#')[0]}"
        return KeyMatch(CaseChoice(thread_hit.case_id, LinkRule.THREAD, evidence), follows=True)
    if thread_hit and thread_hit.customer_id and rules.joins_foreign_thread(contact):
        # Rule 5, first match, on another customer's thread (a reply from a second address):
        # the contact joins that case for context, marked claimed; the sender stays who sent it.
        evidence = "thread key of another customer's case"
        choice = CaseChoice(
            thread_hit.case_id, LinkRule.THREAD, evidence, claimed=True, owner_id=thread_hit.customer_id
        )
        return KeyMatch(choice, foreign=thread_hit, needs_profile=resolution.created)
    if reference_hit and reference_hit.customer_id == customer:
        choice = CaseChoice(reference_hit.case_id, LinkRule.REFERENCE, "case reference of the customer's case")
        return KeyMatch(choice, follows=True)
    if reference_hit:
        # Rule 5: the agent gets the context, the sender proves nothing and merges nothing.
        evidence = "case reference of another customer's case"
        choice = CaseChoice(
            reference_hit.case_id, LinkRule.REFERENCE, evidence, claimed=True, owner_id=reference_hit.customer_id
        )
        return KeyMatch(choice, foreign=reference_hit, needs_profile=resolution.created)
    return None


def without_customer(contact: Contact, resolution: CustomerResolution, hit: ThreadHit | None) -> CaseChoice:
    """No customer (anonymous, or an identifier several customers share): keys, else a case of its own."""
    if hit and thread_keys.is_case_reference(hit.key):
        evidence = "case reference, sender unresolved"
        return CaseChoice(hit.case_id, LinkRule.REFERENCE, evidence, claimed=True, owner_id=hit.customer_id)
    if hit:
        return CaseChoice(hit.case_id, LinkRule.THREAD, "thread key, sender unresolved", owner_id=hit.customer_id)
    if not rules.may_open_case(contact):
        return CaseChoice(None, LinkRule.NO_CASE, "automated or outbound, no customer")
    return CaseChoice(minted.case_id(contact.contact_id), LinkRule.ANONYMOUS, resolution.evidence, opened=True)


def joined(case_id: str, candidate: str, evidence: str, survivor_id: str | None) -> CaseChoice:
    """The open case in the window; a retry after a crash finds the case this very contact opened."""
    if case_id == candidate:
        return CaseChoice(
            case_id, LinkRule.NEW_CASE, "no open case in reopen window", opened=True, survivor_id=survivor_id
        )
    return CaseChoice(case_id, LinkRule.OPEN_CASE, evidence, survivor_id=survivor_id)


def linked(contact: Contact, customer_id: str | None, resolution: CustomerResolution, choice: CaseChoice) -> Contact:
    """The contact with its customer, case and the evidence of both (`Contact.link`)."""
    return contact.model_copy(
        update={
            "customer_id": customer_id,
            "case_id": choice.case_id,
            "link": Link(
                rule=choice.rule,
                evidence=choice.evidence,
                customer_evidence=resolution.evidence,
                assurance=Assurance.CLAIMED if choice.claimed else None,
            ),
        }
    )


def suggested(
    contact: Contact,
    resolution: CustomerResolution,
    claimed_owners: Mapping[str, str],
    foreign: ThreadHit | None,
) -> tuple[Suggestion, ...]:
    """Rule 4: identifiers typed in the contact, the sender of a reply to another customer's case, and
    each customer an ambiguous sender could be."""
    found = suggestions.from_claims(contact, claimed_owners)
    found += suggestions.from_ambiguity(contact, resolution.candidates, resolution.evidence)
    if foreign and contact.customer_id:
        how = "a quoted case reference" if thread_keys.is_case_reference(foreign.key) else "a reply"
        found += suggestions.from_foreign_case(contact, foreign.customer_id, how)
    return tuple(found)


def hint_identifiers(usable: tuple[Identifier, ...], choice: CaseChoice) -> tuple[Identifier, ...]:
    """Every identifier of the sender remembers the case, so a contact on any of them guesses right.

    A claimed case is not the sender's: it must not become their guess for the next contact.
    """
    return () if choice.claimed else usable


def claim_order(identifiers: Iterable[Identifier]) -> list[Identifier]:
    """One total order for claiming identifiers, the same for every processor: two racing first contacts
    of one person (a WhatsApp message and an SMS from one phone) contend on the same item first."""
    return sorted(identifiers, key=lambda identifier: identifier.key)


def writes(
    contact: Contact, choice: CaseChoice, hints: tuple[Identifier, ...], found: tuple[Suggestion, ...]
) -> LinkWrites:
    """Everything the last round trip writes besides the contact itself."""
    return LinkWrites(
        opened_case=case_record(contact) if choice.opened else None,
        thread_keys=thread_keys.owned(contact) if contact.case_id else (),
        case_owner=choice.owner_id if choice.claimed or contact.customer_id is None else contact.customer_id,
        hint_identifiers=hints if contact.customer_id and contact.case_id else (),
        suggested=found,
    )


def case_record(contact: Contact) -> CaseRecord:
    """The case a contact opened, named after it."""
    assert contact.case_id is not None
    return CaseRecord(
        case_id=contact.case_id,
        customer_id=contact.customer_id,
        reference=minted.case_reference(contact.case_id),
        status=CaseStatus.OPEN,
        opened_at=contact.occurred_at,
        opened_by=contact.contact_id,
        channel=contact.channel,
    )
