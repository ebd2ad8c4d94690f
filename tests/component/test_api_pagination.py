"""/v1 pagination: a long timeline walked page by page, with no gap and no repeat."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.config import get_settings
from shared.linking.processor import ContactProcessor
from shared.model.contact import Contact
from shared.model.records import LinkWrites
from shared.wiring import get_store
from tests.builders import sms_contact
from tests.component.test_api_reads import call, customer_id_of
from tests.conftest import Account, clear_factories

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CONTACTS = 1_000


@pytest.fixture
def api(aws: Account) -> Iterator[Account]:
    clear_factories()
    yield aws
    clear_factories()


def store_timeline(count: int, *, start: datetime = START, prefix: str = "SM") -> list[Contact]:
    """The first contact through the processor (customer, case), the rest saved onto the same case."""
    store = get_store()
    first = sms_contact(f"{prefix}0", at=start)
    ContactProcessor(store, get_settings()).process(first)
    linked = store.get_contact(first.contact_id)
    assert linked is not None
    contacts = [linked]
    for n in range(1, count):
        contact = sms_contact(f"{prefix}{n}", at=start + timedelta(seconds=n)).model_copy(
            update={"customer_id": linked.customer_id, "case_id": linked.case_id, "link": linked.link}
        )
        store.save(contact, LinkWrites())
        contacts.append(contact)
    return contacts


def pages(path: str, **query: str) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        status, page = call("GET", path, query={**query, **({"cursor": cursor} if cursor else {})})
        assert status == 200, page
        yield page
        cursor = page["next_cursor"]
        if cursor is None:
            return


def test_a_thousand_contact_timeline_walks_with_no_gap_and_no_repeat(api: Account) -> None:
    stored = store_timeline(CONTACTS)
    customer_id = customer_id_of()
    seen = [
        item["contact_id"]
        for page in pages(f"/v1/customers/{customer_id}/timeline", limit="100")
        for item in page["items"]
    ]
    assert len(seen) == len(set(seen)) == CONTACTS
    assert seen == [contact.contact_id for contact in reversed(stored)]  # newest first


def test_a_filtered_walk_returns_exactly_the_matching_contacts(api: Account) -> None:
    stored = store_timeline(100)
    customer_id = customer_id_of()
    since = stored[40].occurred_at
    walked = [
        item["contact_id"]
        for page in pages(f"/v1/customers/{customer_id}/timeline", limit="7", channel="sms", since=since.isoformat())
        for item in page["items"]
    ]
    assert walked == [contact.contact_id for contact in reversed(stored[40:])]


def test_contacts_arriving_during_a_walk_neither_repeat_nor_hide_older_ones(api: Account) -> None:
    stored = store_timeline(60)
    customer_id = customer_id_of()
    walk = pages(f"/v1/customers/{customer_id}/timeline", limit="10")
    seen = [item["contact_id"] for item in next(walk)["items"]]
    store = get_store()
    for n in range(5):  # newer contacts land while the client walks
        newer = sms_contact(f"NEW{n}", at=START + timedelta(hours=1, seconds=n)).model_copy(
            update={"customer_id": stored[0].customer_id, "case_id": stored[0].case_id, "link": stored[0].link}
        )
        store.save(newer, LinkWrites())
    seen += [item["contact_id"] for page in walk for item in page["items"]]
    assert seen == [contact.contact_id for contact in reversed(stored)]
