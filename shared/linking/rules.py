"""The identity and case rules of DESIGN.md section 4, as pure functions.

Nothing here does I/O: the processor feeds in what the store found and carries
out what these functions decide, so every rule is testable without AWS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from shared.model import identifiers, minted
from shared.model.contact import Channel, Contact, Direction, Identifier, IdentifierKind
from shared.model.records import ActiveCase, ThreadHit


@dataclass(frozen=True)
class CustomerResolution:
    customer_id: str | None
    created: bool
    evidence: str
    ambiguous: bool = False
    over_limit: bool = False  # an identifier was left unattached: its customer holds the most of its kind
    candidates: tuple[tuple[Identifier, str], ...] = ()  # ambiguous: each identifier and a customer it could be


class CaseStepKind(Enum):
    CONTINUE = "continue"  # the active case is in the window: move its last activity forward
    KEEP = "keep"  # the active case's activity is later than this contact (a reopen, a merge): join, move nothing
    OPEN = "open"  # no open case in the window: open one
    LATE = "late"  # a later contact already moved the active case: place this one on its provider time


@dataclass(frozen=True)
class CaseStep:
    kind: CaseStepKind
    case_id: str | None = None


def first_thread_hit(keys: Sequence[str], hits: Mapping[str, ThreadHit]) -> ThreadHit | None:
    """Rule 5, first match: the contact's own thread keys, in the order they were listed."""
    for key in keys:
        if key in hits:
            return hits[key]
    return None


def resolve_customer(
    contact: Contact,
    usable: Sequence[Identifier],
    owners: Mapping[str, str],
    contested: Mapping[str, frozenset[str]] | None = None,
) -> CustomerResolution:
    """Rule 2: the sender identifier finds the customer; none found creates one.

    `owners` maps identifier keys to the customer that owns them. Two identifiers
    of one sender owned by different customers is a shared identifier: attach to
    none and flag it, because guessing would show one person another's history.
    So is an identifier that two customers verified (`contested`: a recycled or
    family number): it finds neither, and a new customer is made only from what
    else the contact names.
    """
    finders = [identifier for identifier in usable if identifier.assurance.finds_customer]
    contested = _with_whatsapp_numbers(finders, owners, contested or {})
    if not finders:
        return CustomerResolution(customer_id=None, created=False, evidence="no usable identifier")
    clean = [identifier for identifier in finders if identifier.key not in contested]
    found = {owners[identifier.key] for identifier in clean if identifier.key in owners}
    if len(found) > 1:
        candidates = tuple((i, owners[i.key]) for i in clean if i.key in owners)
        return CustomerResolution(
            None, False, "identifiers owned by several customers", ambiguous=True, candidates=candidates
        )
    if found:
        customer = found.pop()
        via = next(identifier for identifier in clean if owners.get(identifier.key) == customer)
        return CustomerResolution(
            customer_id=customer,
            created=False,
            evidence=f"{via.kind.value} identifier ({via.assurance.value})",
        )
    disputed = [identifier for identifier in finders if identifier.key in contested]
    if not clean:
        named: dict[str, Identifier] = {}  # each candidate once, by the first identifier that names it
        for identifier in disputed:
            for customer in sorted({*contested[identifier.key], *_owner_of(identifier, owners)}):
                named.setdefault(customer, identifier)
        candidates = tuple((identifier, customer) for customer, identifier in named.items())
        evidence = f"{disputed[0].kind.value} verified by several customers"
        return CustomerResolution(None, False, evidence, ambiguous=True, candidates=candidates)
    primary = clean[0]
    left_out = f", {disputed[0].kind.value} verified by several customers left out" if disputed else ""
    return CustomerResolution(
        customer_id=minted.customer_id(contact.contact_id),
        created=True,
        evidence=f"new customer from {primary.kind.value} identifier ({primary.assurance.value}){left_out}",
    )


def _with_whatsapp_numbers(
    finders: Sequence[Identifier], owners: Mapping[str, str], contested: Mapping[str, frozenset[str]]
) -> Mapping[str, frozenset[str]]:
    """A WhatsApp id is the number it belongs to: when that phone is contested, so is the wa_id, or it
    would find (or make) the customer the contested phone may not."""
    extended = dict(contested)
    for identifier in finders:
        if identifier.kind is not IdentifierKind.WHATSAPP:
            continue
        phone = identifiers.number_of_whatsapp(identifier)
        if phone is not None and phone.key in contested:
            extended[identifier.key] = contested[phone.key] | set(_owner_of(phone, owners))
    return extended


def _owner_of(identifier: Identifier, owners: Mapping[str, str]) -> tuple[str, ...]:
    return (owners[identifier.key],) if identifier.key in owners else ()


def joins_foreign_thread(contact: Contact) -> bool:
    """An email reply on another customer's thread (a second address) joins that case, claimed.

    Not so on X: strangers reply in a public conversation, and that is not one story.
    """
    return contact.channel is Channel.EMAIL


def may_open_case(contact: Contact) -> bool:
    """Rule 6: automatic replies, bounces, echoes and our own outbound never open a case."""
    return contact.direction is Direction.INBOUND and not contact.automated


def plan_case_step(active: ActiveCase, occurred_at: datetime, window: timedelta) -> CaseStep:
    """Rule 5, third and fourth match: the open case in the reopen window, else a new case.

    The window is measured on provider time. A contact older than the activity that
    is already recorded arrived late (a DLQ redrive, a provider's retry, a replay):
    it is placed among the customer's contacts by its provider time instead
    (`shared.linking.timeline`), so it lands where it would have landed live.
    """
    if active.is_late(occurred_at):
        return CaseStep(CaseStepKind.LATE, active.case_id)
    if active.case_id is None or active.last_activity is None:
        return CaseStep(CaseStepKind.OPEN)
    if active.last_activity < occurred_at - window:
        return CaseStep(CaseStepKind.OPEN)
    if active.last_activity > occurred_at:
        return CaseStep(CaseStepKind.KEEP, active.case_id)
    return CaseStep(CaseStepKind.CONTINUE, active.case_id)
