"""Claims found in content (DESIGN.md section 2 and rule 4): evidence for an agent, never proof.

Pure: the processor runs `extract` on a contact's text, subject and transcript
and adds what it finds to the claims the parser already put there (the email and
Connect parsers find case references themselves). A claim never finds, merges or
reveals a customer; it only yields a suggested link (docs/identity.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

from shared.model import identifiers, minted
from shared.model.contact import Assurance, Claim, ClaimKind, Contact
from shared.model.identifiers import InvalidIdentifier

MAX_CLAIMS = 10  # a message listing more identifiers than this is a list, not a claim about its sender
MAX_SCANNED_CHARS = 20_000
_CASE_REFERENCE = re.compile(r"\bTL[- ]?[0-9A-Z]{4}[- ]?[0-9A-Z]{4}[- ]?[0-9A-Z]\b", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _texts(contact: Contact) -> Iterable[str]:
    content = contact.content
    for text in (content.subject or contact.thread.subject, content.text, content.transcript):
        if text:
            yield text[:MAX_SCANNED_CHARS]


def _references(text: str) -> Iterable[Claim]:
    for candidate in _CASE_REFERENCE.findall(text):
        reference = minted.parse_case_reference(candidate.replace(" ", "-"))
        if reference:
            yield Claim(kind=ClaimKind.CASE_REFERENCE, value=reference)


def _emails(text: str) -> Iterable[Claim]:
    for candidate in _EMAIL.findall(text):
        try:
            yield Claim(kind=ClaimKind.EMAIL, value=identifiers.email(candidate, Assurance.CLAIMED).value)
        except InvalidIdentifier:
            continue


def _phones(text: str, default_region: str) -> Iterable[Claim]:
    for match in phonenumbers.PhoneNumberMatcher(text, default_region.upper()):
        number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        yield Claim(kind=ClaimKind.PHONE, value=number)


def _orders(text: str, pattern: re.Pattern[str] | None) -> Iterable[Claim]:
    if pattern is None:
        return
    for match in pattern.finditer(text):
        value = (match.group(1) if match.groups() else match.group(0)).strip()
        if value:
            yield Claim(kind=ClaimKind.ORDER, value=value[:320])


def extract(contact: Contact, *, default_region: str, order_pattern: re.Pattern[str] | None) -> tuple[Claim, ...]:
    """The contact's claims: what the parser found first, then what its text says, without repeats."""
    found: list[Claim] = list(contact.claims)
    for text in _texts(contact):
        found += _references(text)
        found += _emails(text)
        found += _phones(text, default_region)
        found += _orders(text, order_pattern)
    own = {i.key for i in contact.customer_party.identifiers}
    # A sender typing their own address is no claim about anyone else.
    unique = [c for c in dict.fromkeys(found) if c.identifier is None or c.identifier.key not in own]
    return tuple(unique[:MAX_CLAIMS])
