"""The identity and case rules of DESIGN.md section 4, as pure functions.

Nothing here does I/O: the processor feeds in what the store found and carries
out what these functions decide, so every rule is testable without AWS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from shared import ids
from shared.schema import Channel, ClaimKind, Contact, Direction, Identifier

MAX_REFERENCE_KEYS = 20  # the newest References of a long email thread are enough
MAX_CASE_REFERENCES = 5  # a contact quoting more case references than this quotes no case in particular
REFERENCE_PREFIX = "ref#"


@dataclass(frozen=True)
class ThreadHit:
    """A thread key already in the table: which case (and customer) it belongs to."""

    key: str
    case_id: str
    customer_id: str | None


@dataclass(frozen=True)
class CustomerResolution:
    customer_id: str | None
    created: bool
    evidence: str
    ambiguous: bool = False
    over_limit: bool = False  # an identifier was left unattached: its customer holds the most of its kind


@dataclass(frozen=True)
class ActiveCase:
    """The customer's most recently active open case, as the profile records it."""

    case_id: str | None
    last_activity: datetime | None
    merged_into: str | None = None  # the profile was merged: the contact belongs to this survivor


class CaseStepKind(Enum):
    JOIN = "join"  # the active case is in the window and newer than this contact: no write
    CONTINUE = "continue"  # the active case is in the window: move its last activity forward
    OPEN = "open"  # no open case in the window: open one


@dataclass(frozen=True)
class CaseStep:
    kind: CaseStepKind
    case_id: str | None = None


def lookup_thread_keys(contact: Contact) -> tuple[str, ...]:
    """Keys that may already name this contact's case: what it replies to or continues."""
    thread = contact.thread
    keys: list[str] = []
    if thread.in_reply_to:
        keys.append(f"msg#{thread.in_reply_to}")
    keys.extend(f"msg#{reference}" for reference in reversed(thread.references[-MAX_REFERENCE_KEYS:]))
    if thread.call_id:
        keys.append(f"call#{contact.provider.value}#{thread.call_id}")
    for connect_id in (thread.previous_contact_id, thread.initial_contact_id):
        if connect_id:
            keys.append(f"call#{contact.provider.value}#{connect_id}")
    if thread.conversation_id:
        keys.append(f"conv#{contact.provider.value}#{thread.conversation_id}")
    return tuple(dict.fromkeys(keys))


def own_thread_keys(contact: Contact) -> tuple[str, ...]:
    """Keys later contacts will quote to reach this contact's case."""
    thread = contact.thread
    keys: list[str] = []
    if thread.message_id:
        keys.append(f"msg#{thread.message_id}")
    if thread.call_id:
        keys.append(f"call#{contact.provider.value}#{thread.call_id}")
    if thread.conversation_id:
        keys.append(f"conv#{contact.provider.value}#{thread.conversation_id}")
    return tuple(dict.fromkeys(keys))


def reference_key(reference: str) -> str:
    return f"{REFERENCE_PREFIX}{reference}"


def reference_keys(contact: Contact) -> tuple[str, ...]:
    """Rule 5, second match: the case references the contact quotes, canonical and check-symbol valid."""
    references = (ids.parse_case_reference(c.value) for c in contact.claims if c.kind is ClaimKind.CASE_REFERENCE)
    keys = tuple(dict.fromkeys(reference_key(reference) for reference in references if reference))
    return keys if len(keys) <= MAX_CASE_REFERENCES else ()


def first_thread_hit(keys: Sequence[str], hits: Mapping[str, ThreadHit]) -> ThreadHit | None:
    """Rule 5, first match: the contact's own thread keys, in the order they were listed."""
    for key in keys:
        if key in hits:
            return hits[key]
    return None


def resolve_customer(contact: Contact, usable: Sequence[Identifier], owners: Mapping[str, str]) -> CustomerResolution:
    """Rule 2: the sender identifier finds the customer; none found creates one.

    `owners` maps identifier keys to the customer that owns them. Two identifiers
    of one sender owned by different customers is a shared identifier: attach to
    none and flag it, because guessing would show one person another's history.
    """
    finders = [identifier for identifier in usable if identifier.assurance.finds_customer]
    if not finders:
        return CustomerResolution(customer_id=None, created=False, evidence="no usable identifier")
    found = {owners[identifier.key] for identifier in finders if identifier.key in owners}
    if len(found) > 1:
        return CustomerResolution(
            customer_id=None, created=False, evidence="identifiers owned by several customers", ambiguous=True
        )
    if found:
        customer = found.pop()
        via = next(identifier for identifier in finders if owners.get(identifier.key) == customer)
        return CustomerResolution(
            customer_id=customer,
            created=False,
            evidence=f"{via.kind.value} identifier ({via.assurance.value})",
        )
    primary = finders[0]
    return CustomerResolution(
        customer_id=ids.customer_id(contact.contact_id),
        created=True,
        evidence=f"new customer from {primary.kind.value} identifier ({primary.assurance.value})",
    )


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

    The window is measured on provider time, so a DLQ redrive or a replay links
    exactly as the live delivery would have.
    """
    if active.case_id is None or active.last_activity is None:
        return CaseStep(CaseStepKind.OPEN)
    if active.last_activity < occurred_at - window:
        return CaseStep(CaseStepKind.OPEN)
    if active.last_activity >= occurred_at:
        return CaseStep(CaseStepKind.JOIN, active.case_id)
    return CaseStep(CaseStepKind.CONTINUE, active.case_id)
