"""Identifier normalization and blocking (DESIGN.md section 2 and rule 1).

Every identifier is normalized here and nowhere else, so the same person typed
three ways is one key in the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

from shared.model.contact import Assurance, Identifier, IdentifierKind


class InvalidIdentifier(ValueError):
    """The value cannot be normalized; the message names the kind, never the value."""


def phone(value: str, default_region: str, assurance: Assurance) -> Identifier:
    """E.164, validated; numbers without a country code read in `default_region`."""
    try:
        number = phonenumbers.parse(value, default_region.upper())
    except phonenumbers.NumberParseException as error:
        raise InvalidIdentifier("phone number cannot be parsed") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier("phone number is not valid")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Identifier(kind=IdentifierKind.PHONE, value=_one_argentine_form(e164), assurance=assurance)


def _one_argentine_form(e164: str) -> str:
    """Argentina's mobile 9: `+54 9 11 2345 6789` (WhatsApp, and the national `011 15 2345-6789`)
    and `+54 11 2345 6789` (caller ids and SMS) are one subscriber, since mobiles and landlines
    share one number space. The key keeps the form without the 9, as callers and SMS show it."""
    if e164.startswith("+549") and len(e164) == 14:
        return "+54" + e164[4:]
    return e164


def email(value: str, assurance: Assurance) -> Identifier:
    """The exact address, lower-cased: `Ann@Example.com` and `ann@example.com` are one key."""
    # Imported here: compiling its grammar costs every cold start 20-30 ms, and most
    # webhooks never see an address (docs/benchmarks.md).
    from email_validator import EmailNotValidError, validate_email

    try:
        valid = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as error:
        raise InvalidIdentifier("email address is not valid") from error
    return Identifier(kind=IdentifierKind.EMAIL, value=valid.normalized.lower(), assurance=assurance)


def whatsapp(wa_id: str) -> tuple[Identifier, ...]:
    """A WhatsApp sender: its wa_id, then the same number as a phone when it is a valid one.

    The phone is what joins a WhatsApp customer to their SMS and calls, whichever
    provider (Meta's Cloud API or Twilio) delivered the message.
    """
    digits = wa_id.strip().lstrip("+")
    if not digits.isdigit():
        raise InvalidIdentifier("WhatsApp id must be digits")
    found = Identifier(kind=IdentifierKind.WHATSAPP, value=digits, assurance=Assurance.CHANNEL)
    try:
        number = phone("+" + _dialable(digits), "US", Assurance.CHANNEL)
    except InvalidIdentifier:
        return (found,)
    return (found, number)


def number_of_whatsapp(wa_id: Identifier) -> Identifier | None:
    """The phone a WhatsApp id stands for (the second identifier `whatsapp` gives), if it is a valid number."""
    return next((i for i in whatsapp(wa_id.value) if i.kind is IdentifierKind.PHONE), None)


def _dialable(wa_id: str) -> str:
    """WhatsApp keeps two legacy mobile formats that SMS and calls no longer use."""
    if len(wa_id) == 13 and wa_id.startswith("521"):
        return "52" + wa_id[3:]  # Mexico dropped the mobile "1" in 2019
    if len(wa_id) == 12 and wa_id.startswith("55") and wa_id[4] in "6789":
        return wa_id[:4] + "9" + wa_id[4:]  # Brazil added a ninth digit to mobiles
    return wa_id


def x_user(user_id: str, assurance: Assurance = Assurance.CHANNEL) -> Identifier:
    """X users by numeric id: handles change, ids do not."""
    if not user_id.isdigit():
        raise InvalidIdentifier("X user id must be numeric")
    return Identifier(kind=IdentifierKind.X, value=user_id, assurance=assurance)


def page_scoped(kind: IdentifierKind, page_id: str, scoped_id: str) -> Identifier:
    """Messenger/Instagram ids are only unique within one page, so the key holds both."""
    if kind not in (IdentifierKind.MESSENGER, IdentifierKind.INSTAGRAM):
        raise InvalidIdentifier("page-scoped ids exist for Messenger and Instagram only")
    if not page_id or not scoped_id:
        raise InvalidIdentifier("page-scoped id needs a page id and a scoped id")
    return Identifier(kind=kind, value=f"{page_id}:{scoped_id}", assurance=Assurance.CHANNEL)


def account(kind: IdentifierKind, value: str, assurance: Assurance = Assurance.VERIFIED) -> Identifier:
    """A first-party app or CRM customer id, kept as given (it is theirs, not ours)."""
    if kind not in (IdentifierKind.APP, IdentifierKind.CRM):
        raise InvalidIdentifier("account ids exist for app and crm only")
    if not value.strip():
        raise InvalidIdentifier("account id is empty")
    return Identifier(kind=kind, value=value.strip(), assurance=assurance)


# Pseudo-numbers carriers and Twilio put in From when the caller withholds the id.
WITHHELD_CALLER_IDS = frozenset(
    {
        "anonymous",
        "restricted",
        "unknown",
        "unavailable",
        "private",
        "blocked",
        "withheld",
        "+266696687",
        "+7378742833",
        "+8656696",
        "+2562533",
        "+86282452253",
    }
)
_UNDELIVERABLE_LOCAL_PART = re.compile(r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?)([+.-]|$)")
# Ranges set aside for fiction and tests (NANP 555-0100..0199, UK Ofcom drama numbers).
_TEST_PHONE = re.compile(r"^(\+1\d{3}55501\d{2}|\+447700900\d{3})$")
_TEST_EMAIL_DOMAIN = re.compile(r"@(.+\.)?(example\.(com|org|net)|test|invalid)$")


# Obvious test values, blocked always. Kept narrow on purpose: the documented fiction
# ranges above (+1 xxx 555-01xx, example.com) are what our own tests and samples use.
OBVIOUS_TEST_VALUES = frozenset({"email:test@test.com", "email:test@example.com", "phone:+15555555555"})


def is_withheld(raw_caller_id: str) -> bool:
    return raw_caller_id.strip().lower() in WITHHELD_CALLER_IDS or not raw_caller_id.strip()


class Blocklist:
    """Rule 1: values that must never find or create a customer."""

    def __init__(self, own_identifiers: Iterable[str] = (), *, block_test_values: bool = False) -> None:
        self._own = frozenset(own_identifiers)
        self._block_test_values = block_test_values

    def blocks(self, identifier: Identifier) -> bool:
        if identifier.key in self._own or identifier.value in WITHHELD_CALLER_IDS:
            return True
        if identifier.key in OBVIOUS_TEST_VALUES:
            return True
        if identifier.kind is IdentifierKind.EMAIL:
            local_part = identifier.value.split("@", 1)[0]
            if _UNDELIVERABLE_LOCAL_PART.match(local_part):
                return True
            return self._block_test_values and bool(_TEST_EMAIL_DOMAIN.search(identifier.value))
        if identifier.kind is IdentifierKind.PHONE:
            return self._block_test_values and bool(_TEST_PHONE.match(identifier.value))
        return False

    def usable(self, identifiers: Iterable[Identifier]) -> tuple[Identifier, ...]:
        return tuple(identifier for identifier in identifiers if not self.blocks(identifier))
