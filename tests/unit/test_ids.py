"""Ids and case references: deterministic, sortable, typo-proof."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.model import minted

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# Luhn mod N, like Luhn mod 10 with 0/9, cannot see the swap of the smallest and largest symbol.
LUHN_BLIND_PAIR = {"0", "Z"}


def test_contact_id_is_the_same_for_the_same_provider_message() -> None:
    assert minted.contact_id("twilio", "SM1", T0) == minted.contact_id("twilio", "SM1", T0)
    assert minted.contact_id("twilio", "SM1", T0) != minted.contact_id("twilio", "SM2", T0)
    assert minted.contact_id("twilio", "SM1", T0) != minted.contact_id("meta", "SM1", T0)


def test_contact_ids_sort_by_provider_time() -> None:
    earlier = minted.contact_id("twilio", "SM9", T0)
    later = minted.contact_id("twilio", "SM1", T0 + timedelta(milliseconds=1))
    assert earlier < later


def test_reference_round_trips_through_what_a_person_types() -> None:
    reference = minted.case_reference("case_01JD0000000000000000000000")
    assert minted.parse_case_reference(reference) == reference
    assert minted.parse_case_reference(" " + reference.lower() + " ") == reference
    spaced = reference[:7] + " " + reference[7:]  # "TL-K7Q3 9XPA-M", as read out over the phone
    assert minted.parse_case_reference(spaced) == reference


def test_read_alike_letters_are_folded_after_the_prefix_only() -> None:
    reference = minted.case_reference("case_A")
    body = reference[3:]
    typed = "TL-" + body.replace("0", "O").replace("1", "I")
    assert minted.parse_case_reference(typed) == reference


def _valid_reference(body: str) -> str:
    """The one check symbol that makes `body` a valid reference."""
    [reference] = [ref for symbol in minted.CROCKFORD if (ref := minted.parse_case_reference(f"TL-{body}-{symbol}"))]
    return reference


@given(st.text(alphabet=minted.CROCKFORD, min_size=8, max_size=8), st.integers(0, 7), st.sampled_from(minted.CROCKFORD))
def test_any_single_symbol_typo_is_refused(body: str, position: int, replacement: str) -> None:
    reference = _valid_reference(body)
    typo_body = body[:position] + replacement + body[position + 1 :]
    if typo_body == body:
        return
    assert minted.parse_case_reference(f"TL-{typo_body}-{reference[-1]}") is None


@given(st.text(alphabet=minted.CROCKFORD, min_size=8, max_size=8), st.integers(0, 6))
def test_swapping_neighbours_is_refused(body: str, position: int) -> None:
    reference = _valid_reference(body)
    swapped = body[:position] + body[position + 1] + body[position] + body[position + 2 :]
    if swapped == body or {body[position], body[position + 1]} == LUHN_BLIND_PAIR:
        return
    assert minted.parse_case_reference(f"TL-{swapped}-{reference[-1]}") is None


@pytest.mark.parametrize("text", ["", "TL-", "TL-1234", "XX-K7Q39XPA-M", "TL-K7Q39XPA-MM", "TL-K7Q39XPU-M"])
def test_malformed_references_are_refused(text: str) -> None:
    assert minted.parse_case_reference(text) is None
