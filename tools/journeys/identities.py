"""Turning a journey's symbolic identifiers (`phone:ann`, `email:ann-work`) into real, unique values.

Every journey of a run gets its own block of values and every run its own tag,
so the whole suite can be replayed, again and again, against one shared stack
without two journeys (or two runs) ever sharing a phone number or an address.
"""

from __future__ import annotations

import random
import re

import phonenumbers

from shared.model import minted

AREA_CODE = "628"  # a real US area code; the integration tests' own numbers are in 415
# `phone:ar-…` tokens are Argentine mobiles in Buenos Aires (area 11, 8-digit subscriber numbers from 5000 0000):
# callers and SMS show them as +54 11 …, WhatsApp as 54 9 11 … (the mobile 9), libphonenumber as +54 9 11 ….
ARGENTINE_PREFIX = "ar-"
ARGENTINE_MOBILE_PREFIX = "+54911"
_FIRST_ARGENTINE_SUBSCRIBER = 50_000_000
NUMBERS_PER_JOURNEY = 10
JOURNEYS_PER_RUN = 200
_FIRST_NUMBER = 2_000_000  # exchanges start at 200: valid NANP numbers
_NUMBER_SPACE = 8_000_000
RUN_TAGS = _NUMBER_SPACE // (NUMBERS_PER_JOURNEY * JOURNEYS_PER_RUN)
EMAIL_DOMAIN = "journeymail.net"
OUR_NUMBER = "+14155559999"  # the business's number: what customers text and call
OUR_SECOND_NUMBER = "+14155559998"  # the End User Messaging origination number
OUR_ADDRESS = "help@shop.journeymail.net"
_FICTIONAL = re.compile(r"^\+1\d{3}55501\d{2}$")  # 555-01xx: blocked as test values (shared.model.identifiers)


def new_run_tag() -> int:
    """A random tag; two runs with different tags never share an identifier."""
    return random.randrange(RUN_TAGS)  # noqa: S311 - uniqueness, not secrecy


class Identities:
    """The values of one journey in one run; a token keeps its value for the whole journey."""

    def __init__(self, run_tag: int, journey_index: int) -> None:
        if not 0 <= journey_index < JOURNEYS_PER_RUN:
            raise ValueError(f"a run holds at most {JOURNEYS_PER_RUN} journeys")
        self._run_tag = run_tag % RUN_TAGS
        self._journey = journey_index
        self._tokens: dict[str, dict[str, int]] = {}

    def _index(self, kind: str, token: str) -> int:
        tokens = self._tokens.setdefault(kind, {})
        if token not in tokens:
            if len(tokens) >= NUMBERS_PER_JOURNEY:
                raise ValueError(f"a journey uses at most {NUMBERS_PER_JOURNEY} {kind} identifiers")
            tokens[token] = len(tokens)
        return tokens[token]

    def _digits(self, kind: str, token: str) -> str:
        """Run, journey and token as fixed-width digits: unique numeric ids for X, Messenger, Instagram."""
        return f"{self._run_tag:04d}{self._journey:03d}{self._index(kind, token):02d}"

    def phone(self, token: str) -> str:
        """The number as callers and SMS show it (`+1 628 …`; `ar-` tokens: `+54 11 …`, without the 9)."""
        if token.startswith(ARGENTINE_PREFIX):
            return "+54" + self.argentine_mobile(token).removeprefix("+549")
        number = f"+1{AREA_CODE}{_FIRST_NUMBER + self._serial('phone', token):07d}"
        if _FICTIONAL.match(number):
            raise ValueError("run tag gives a fictional 555-01xx number; pick another")
        return number

    def argentine_mobile(self, token: str) -> str:
        """An `ar-` token's number in E.164 as libphonenumber and WhatsApp write a mobile: `+54 9 11 …`."""
        return f"{ARGENTINE_MOBILE_PREFIX}{_FIRST_ARGENTINE_SUBSCRIBER + self._serial('phone', token)}"

    def mobile_e164(self, symbol: str) -> str:
        """The number in E.164 as libphonenumber writes a mobile: WhatsApp's wa_id (with `+`), an app that
        verified it by a one-time code. Argentine mobiles keep their 9 here, unlike callers and SMS."""
        kind, _, token = symbol.partition(":")
        if kind == "phone" and token.startswith(ARGENTINE_PREFIX):
            return self.argentine_mobile(token)
        return self.value(symbol)

    def _serial(self, kind: str, token: str) -> int:
        """Run, journey and token as one number below 8 million: a phone number's last digits."""
        block = (self._run_tag * JOURNEYS_PER_RUN + self._journey) * NUMBERS_PER_JOURNEY
        return (block + self._index(kind, token)) % _NUMBER_SPACE

    def email(self, token: str) -> str:
        # The token is the local part, so `mailer-daemon` and `noreply` mean what they say.
        return f"{token}@r{self._run_tag:04d}-j{self._journey:03d}.{EMAIL_DOMAIN}"

    def value(self, symbol: str) -> str:
        """The value of `kind:token`, as the provider would send it."""
        kind, _, token = symbol.partition(":")
        if kind == "phone":
            return self.phone(token)
        if kind == "email":
            return self.email(token)
        if kind == "messenger":
            return f"61{self._digits(kind, token)}00000"  # page-scoped ids: 16 digits
        if kind == "instagram":
            return f"53{self._digits(kind, token)}00000"
        if kind == "x":
            return f"9{self._digits(kind, token)}"
        if kind == "page":
            return f"10{self._digits(kind, token)}0000"
        if kind in ("app", "crm"):
            return f"{kind}-{self._run_tag:04d}-{self._journey:03d}-{token}"
        raise ValueError(f"unknown identifier kind {kind!r}")

    def as_typed(self, symbol: str) -> str:
        """How a person types the identifier into a message: a phone in national format; an Argentine
        mobile as Argentines give it to a business abroad, `+54 9 11 5000-0003`."""
        value = self.value(symbol)
        if symbol.startswith(f"phone:{ARGENTINE_PREFIX}"):
            mobile = phonenumbers.parse(self.mobile_e164(symbol))
            return phonenumbers.format_number(mobile, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        if symbol.startswith("phone:"):
            return phonenumbers.format_number(phonenumbers.parse(value), phonenumbers.PhoneNumberFormat.NATIONAL)
        return value


def mistyped_reference(reference: str) -> str:
    """The reference with one symbol changed: its check symbol no longer matches (Luhn mod 32)."""
    body = reference.removeprefix(minted.CASE_REFERENCE_PREFIX)
    position = 2
    changed = minted.CROCKFORD[(minted.CROCKFORD.index(body[position]) + 1) % len(minted.CROCKFORD)]
    return minted.CASE_REFERENCE_PREFIX + body[:position] + changed + body[position + 1 :]
