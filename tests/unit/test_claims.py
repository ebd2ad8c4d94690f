"""Claims found in content (rule 4): what a contact says about identifiers, never proof of anything."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from shared.config import Settings
from shared.linking import claims
from shared.model import minted
from shared.model.contact import Claim, ClaimKind, Contact
from tests.builders import sms_contact

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SENDER = "+14155550123"
REFERENCE = minted.case_reference("case_01JBZ0000000000000000000000")


def claims_in(text: str, *, region: str = "US", order_pattern: str = "") -> tuple[Claim, ...]:
    contact = sms_contact("SM1", SENDER, at=AT, text=text)
    return extract(contact, region=region, order_pattern=order_pattern)


def extract(contact: Contact, *, region: str = "US", order_pattern: str = "") -> tuple[Claim, ...]:
    pattern = re.compile(order_pattern) if order_pattern else None
    return claims.extract(contact, default_region=region, order_pattern=pattern)


def of_kind(found: tuple[Claim, ...], kind: ClaimKind) -> list[str]:
    return [claim.value for claim in found if claim.kind is kind]


def test_case_reference_with_a_valid_check_symbol_is_claimed_in_canonical_form() -> None:
    body, check = REFERENCE[3:11], REFERENCE[-1]
    spoken = f"tl {body[:4]} {body[4:]} {check}".lower()  # as a voicemail transcript writes it
    assert of_kind(claims_in(f"about {REFERENCE} again"), ClaimKind.CASE_REFERENCE) == [REFERENCE]
    assert of_kind(claims_in(f"case {spoken} please"), ClaimKind.CASE_REFERENCE) == [REFERENCE]


def test_case_reference_with_one_mistyped_symbol_is_refused() -> None:
    body = REFERENCE[3:11]
    wrong = "X" if body[0] != "X" else "Y"
    typo = f"TL-{wrong}{body[1:]}-{REFERENCE[-1]}"

    assert minted.parse_case_reference(typo) is None
    assert of_kind(claims_in(f"my case is {typo}"), ClaimKind.CASE_REFERENCE) == []


def test_email_typed_in_text_is_claimed_lower_cased() -> None:
    found = claims_in("You can also reach me at Ann.Other@Example.COM, thanks")
    assert of_kind(found, ClaimKind.EMAIL) == ["ann.other@example.com"]


def test_phones_in_national_international_and_foreign_formats_are_claimed_as_e164() -> None:
    found = claims_in("call (415) 555-0188 or +44 20 7946 0958 or 415.555.0199")
    assert of_kind(found, ClaimKind.PHONE) == ["+14155550188", "+442079460958", "+14155550199"]


def test_national_phone_is_read_in_the_configured_default_region() -> None:
    assert of_kind(claims_in("ring me on 020 7946 0958", region="GB"), ClaimKind.PHONE) == ["+442079460958"]
    assert of_kind(claims_in("ring me on 020 7946 0958", region="US"), ClaimKind.PHONE) == []


def test_order_numbers_follow_the_configured_pattern_and_its_first_group() -> None:
    settings = Settings.from_environ({"THREADLINE_ORDER_PATTERN": r"\border\s+#?(\d{4,8})\b"})
    found = claims_in("order #44718 arrived broken, order 12 is fine", order_pattern=settings.order_pattern)
    assert of_kind(found, ClaimKind.ORDER) == ["44718"]


def test_without_an_order_pattern_no_order_is_claimed() -> None:
    assert of_kind(claims_in("order #44718 arrived broken"), ClaimKind.ORDER) == []


def test_the_senders_own_phone_is_no_claim() -> None:
    found = claims_in("this is (415) 555-0123, my other number is 415-555-0188")
    assert of_kind(found, ClaimKind.PHONE) == ["+14155550188"]


def test_a_message_listing_many_identifiers_yields_at_most_the_cap() -> None:
    listing = " ".join(f"person{n}@example.org" for n in range(claims.MAX_CLAIMS + 5))
    found = claims_in(listing)
    assert len(found) == claims.MAX_CLAIMS
    assert found[0].value == "person0@example.org"


def test_claims_the_parser_found_come_first_and_are_not_repeated() -> None:
    parsed = Claim(kind=ClaimKind.CASE_REFERENCE, value=REFERENCE)
    contact = sms_contact("SM1", SENDER, at=AT, text=f"still about {REFERENCE}").model_copy(
        update={"claims": (parsed,)}
    )
    assert extract(contact) == (parsed,)


def test_claimed_identifier_is_at_claimed_assurance_and_none_for_references() -> None:
    email = Claim(kind=ClaimKind.EMAIL, value="ann@example.org").identifier
    assert email is not None and email.assurance.value == "claimed" and email.key == "email:ann@example.org"
    assert Claim(kind=ClaimKind.CASE_REFERENCE, value=REFERENCE).identifier is None
