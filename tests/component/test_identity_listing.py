"""After a merge the survivor's timeline and cases include the merged customer's, page by page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.wiring import get_merging
from tests.builders import sms_contact
from tests.component.test_api_reads import customer_id_of, process, walk
from tests.conftest import Account, clear_factories

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ADA, ADA_WORK = "+14155550123", "+14155550124"


@pytest.fixture
def merged(aws: Account) -> Iterator[tuple[str, str, str]]:
    """Two customers with interleaved contacts, merged: (survivor, merged, merge id)."""
    clear_factories()
    process(*(sms_contact(f"SM{n}", ADA if n % 2 else ADA_WORK, at=T0 + timedelta(hours=n)) for n in range(1, 8)))
    survivor, other = customer_id_of(ADA), customer_id_of(ADA_WORK)
    record = get_merging().merge_customers(survivor, other, "CRM record holds both numbers")
    yield survivor, other, record.merge_id
    clear_factories()


def test_survivor_timeline_walks_both_customers_contacts_newest_first_without_gaps(
    merged: tuple[str, str, str],
) -> None:
    survivor, _, _ = merged

    contacts = walk(f"/v1/customers/{survivor}/timeline", limit="2")

    assert [c["provider_message_id"] for c in contacts] == [f"SM{n}" for n in range(7, 0, -1)]


def test_merged_id_walks_the_same_timeline(merged: tuple[str, str, str]) -> None:
    survivor, other, _ = merged
    assert walk(f"/v1/customers/{other}/timeline", limit="3") == walk(f"/v1/customers/{survivor}/timeline", limit="3")


def test_survivor_cases_include_the_merged_customers_case(merged: tuple[str, str, str]) -> None:
    survivor, _, _ = merged

    cases = walk(f"/v1/customers/{survivor}/cases", limit="1")

    assert len(cases) == 2 and len({case["case_id"] for case in cases}) == 2  # both cases, each once


def test_after_undo_each_customer_lists_only_its_own(merged: tuple[str, str, str]) -> None:
    survivor, other, merge_id = merged
    get_merging().undo_merge(merge_id)

    assert [c["provider_message_id"] for c in walk(f"/v1/customers/{survivor}/timeline", limit="2")] == [
        "SM7",
        "SM5",
        "SM3",
        "SM1",
    ]
    assert len(walk(f"/v1/customers/{other}/cases", limit="5")) == 1
