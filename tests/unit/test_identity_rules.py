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
