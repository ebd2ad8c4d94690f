"""Rule 2 as a pure function: which customer a sender's identifiers find, and when they find none."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.linking.rules import resolve_customer
from shared.model import identifiers, minted
from shared.model.contact import Assurance
from tests.builders import sms_contact

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PHONE = identifiers.phone("+14155550123", "US", Assurance.CHANNEL)
EMAIL = identifiers.email("ann@example.org", Assurance.CHANNEL)
CONTACT = sms_contact("SM1", "+14155550123", at=T0)


def test_an_owned_identifier_finds_its_customer() -> None:
    resolution = resolve_customer(CONTACT, [PHONE], {PHONE.key: "cus_a"})
    assert (resolution.customer_id, resolution.created, resolution.ambiguous) == ("cus_a", False, False)


def test_identifiers_of_two_customers_find_neither_and_name_both() -> None:
    resolution = resolve_customer(CONTACT, [PHONE, EMAIL], {PHONE.key: "cus_a", EMAIL.key: "cus_b"})

    assert resolution.customer_id is None and resolution.ambiguous
    assert {candidate for _, candidate in resolution.candidates} == {"cus_a", "cus_b"}


def test_a_contested_identifier_alone_finds_no_one_and_names_its_owner_and_each_contester() -> None:
    resolution = resolve_customer(CONTACT, [PHONE], {PHONE.key: "cus_a"}, {PHONE.key: frozenset({"cus_b"})})

    assert resolution.customer_id is None and resolution.ambiguous and not resolution.created
    assert resolution.candidates == ((PHONE, "cus_a"), (PHONE, "cus_b"))
    assert resolution.evidence == "phone verified by several customers"


def test_another_owned_identifier_decides_beside_a_contested_one() -> None:
    resolution = resolve_customer(
        CONTACT, [PHONE, EMAIL], {PHONE.key: "cus_a", EMAIL.key: "cus_b"}, {PHONE.key: frozenset({"cus_b"})}
    )
    assert (resolution.customer_id, resolution.ambiguous) == ("cus_b", False)


def test_an_unowned_identifier_beside_a_contested_one_makes_a_new_customer_without_it() -> None:
    resolution = resolve_customer(CONTACT, [PHONE, EMAIL], {PHONE.key: "cus_a"}, {PHONE.key: frozenset({"cus_b"})})

    assert resolution.customer_id == minted.customer_id(CONTACT.contact_id) and resolution.created
    assert "phone verified by several customers left out" in resolution.evidence


WHATSAPP_ID, WHATSAPP_PHONE = identifiers.whatsapp("14155550123")


def test_a_whatsapp_id_of_a_contested_number_finds_no_one_even_when_it_is_owned() -> None:
    # The old owner wrote on WhatsApp before a new account verified the recycled number.
    owners = {WHATSAPP_ID.key: "cus_old", WHATSAPP_PHONE.key: "cus_old"}
    resolution = resolve_customer(
        CONTACT, [WHATSAPP_ID, WHATSAPP_PHONE], owners, {WHATSAPP_PHONE.key: frozenset({"cus_new"})}
    )

    assert resolution.customer_id is None and resolution.ambiguous
    assert {candidate for _, candidate in resolution.candidates} == {"cus_old", "cus_new"}


def test_a_first_whatsapp_message_from_a_contested_number_makes_no_customer() -> None:
    # A family phone both parents' accounts verified: the WhatsApp id alone must not become either of them.
    owners = {WHATSAPP_PHONE.key: "cus_mum"}
    resolution = resolve_customer(
        CONTACT, [WHATSAPP_ID, WHATSAPP_PHONE], owners, {WHATSAPP_PHONE.key: frozenset({"cus_dad"})}
    )

    assert resolution.customer_id is None and not resolution.created and resolution.ambiguous
    assert {candidate for _, candidate in resolution.candidates} == {"cus_mum", "cus_dad"}
