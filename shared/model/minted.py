"""Identifiers Threadline mints: contact, customer and case ids, and case references.

Ids are derived from the provider's own message id, so an SQS redelivery or a
replay of the same event mints the same ids and rewrites the same items instead
of creating new ones.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

# Crockford's base32: no I, L, O, U, so a reference read over the phone is unambiguous.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_INDEX = {char: index for index, char in enumerate(CROCKFORD)}
_READ_ALIKE = str.maketrans({"O": "0", "I": "1", "L": "1"})
CASE_REFERENCE_PREFIX = "TL-"
_REFERENCE_BODY = 8


def _base32(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(CROCKFORD[digit])
    return "".join(reversed(chars))


def contact_id(provider: str, provider_message_id: str, occurred_at: datetime) -> str:
    """A ULID: 48 bits of provider time (sortable), 80 bits from the provider's message id."""
    millis = int(occurred_at.timestamp() * 1000)
    digest = hashlib.sha256(f"{provider}\x1f{provider_message_id}".encode()).digest()
    entropy = int.from_bytes(digest[:10], "big")
    return _base32((millis << 80) | entropy, 26)


def customer_id(first_contact_id: str) -> str:
    """A new customer is named after the contact that created it: racers mint the same id."""
    return f"cus_{first_contact_id}"


def case_id(opening_contact_id: str) -> str:
    return f"case_{opening_contact_id}"


def _luhn_mod32_check(body: str) -> str:
    """Luhn mod N over base32: catches every single-character error and every adjacent swap but 0/Z."""
    total = 0
    factor = 2
    for char in reversed(body):
        addend = factor * _CROCKFORD_INDEX[char]
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return CROCKFORD[(32 - total % 32) % 32]


def case_reference(case: str) -> str:
    """The token a customer can quote, e.g. `TL-K7Q39XPA-M` (8 symbols and a check symbol)."""
    digest = int.from_bytes(hashlib.sha256(case.encode()).digest()[:5], "big")
    body = _base32(digest, _REFERENCE_BODY)
    return f"{CASE_REFERENCE_PREFIX}{body}-{_luhn_mod32_check(body)}"


def parse_case_reference(text: str) -> str | None:
    """Canonical reference for what a person typed, or None when the check symbol fails."""
    cleaned = text.strip().upper().replace(" ", "")
    if not cleaned.startswith(CASE_REFERENCE_PREFIX):
        return None
    symbols = cleaned[len(CASE_REFERENCE_PREFIX) :].replace("-", "").translate(_READ_ALIKE)
    if len(symbols) != _REFERENCE_BODY + 1 or any(char not in _CROCKFORD_INDEX for char in symbols):
        return None
    body, check = symbols[:-1], symbols[-1]
    if _luhn_mod32_check(body) != check:
        return None
    return f"{CASE_REFERENCE_PREFIX}{body}-{check}"
