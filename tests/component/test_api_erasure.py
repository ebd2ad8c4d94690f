"""DELETE /v1/customers/{id}: erasure leaves a tombstone with ids only, and nothing else of the person."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.dynamo import keys
from shared.adapters.dynamo.stream import ChangeName, RawChange, decode
from shared.config import get_settings
from shared.events.derivation import derive_events
from shared.model.contact import Contact, Party, Thread
from shared.model.events import EventType
from tests.builders import sms_contact
from tests.component.test_api_reads import call, customer_id_of, process
from tests.conftest import Account, clear_factories

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ADA = "+14155550123"
BOB = "+14155550177"


@pytest.fixture
def api(aws: Account) -> Iterator[Account]:
    clear_factories()
    yield aws
    clear_factories()


def ada_contact(sid: str, at: datetime) -> Contact:
    contact = sms_contact(sid, ADA, at=at, text="This is Ada Lovelace, write to ada@lovelace.example")
    sender = Party(identifiers=contact.sender.identifiers, display_name="Ada Lovelace")
    return contact.model_copy(update={"sender": sender, "thread": Thread(message_id=f"<{sid}@lovelace.example>")})


def scan(account: Account) -> list[dict[str, Any]]:
    """Tests may scan; the code never does."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": account.table}
    while True:
        response = account.dynamodb.scan(**request)
        items += response["Items"]
        if "LastEvaluatedKey" not in response:
            return items
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def seed_ada_and_bob() -> str:
    window = get_settings().reopen_window
    process(ada_contact("SMA1", START), ada_contact("SMA2", START + timedelta(minutes=1)))
    process(ada_contact("SMA3", START + window + timedelta(days=1)))  # a second case
    process(sms_contact("SMB1", BOB, at=START, text="Bob here"))
    return customer_id_of(ADA)


def test_erasure_leaves_no_item_mentioning_the_person(api: Account) -> None:
    ada = seed_ada_and_bob()
    _, cases = call("GET", f"/v1/customers/{ada}/cases")
    references = [case["reference"] for case in cases["items"]]
    assert len(references) == 2

    status, erased = call("DELETE", f"/v1/customers/{ada}")
    assert status == 200
    assert erased["customer_id"] == ada

    remaining = [json.dumps(item) for item in scan(api)]
    for needle in (ADA, "Ada Lovelace", "lovelace.example", *references, *(c["case_id"] for c in cases["items"])):
        assert not [item for item in remaining if needle in item], needle
    mentioning_id = [item for item in remaining if ada in item]
    assert len(mentioning_id) == 1  # the tombstone
    assert json.loads(mentioning_id[0])["SK"] == {"S": "ERASED"}
    assert any(BOB in item for item in remaining)  # another person's data stays


def test_an_erased_customer_answers_410_and_erasing_again_is_idempotent(api: Account) -> None:
    ada = seed_ada_and_bob()
    _, first = call("DELETE", f"/v1/customers/{ada}")
    for path in (f"/v1/customers/{ada}", f"/v1/customers/{ada}/timeline", f"/v1/customers/{ada}/cases"):
        status, body = call("GET", path)
        assert status == 410, path
        assert body["error"]["code"] == "erased"
    status, again = call("DELETE", f"/v1/customers/{ada}")
    assert status == 200
    assert again["erased_at"] == first["erased_at"]
    assert call("GET", "/v1/customers", query={"identifier": f"phone:{ADA}"})[1]["items"] == []
    assert call("GET", f"/v1/customers/{customer_id_of(BOB)}")[0] == 200


def test_the_person_writing_again_after_erasure_is_a_new_customer(api: Account) -> None:
    ada = seed_ada_and_bob()
    call("DELETE", f"/v1/customers/{ada}")
    process(ada_contact("SMA9", START + timedelta(days=30)))
    assert customer_id_of(ADA) != ada


def test_erasing_an_unknown_customer_is_404(api: Account) -> None:
    assert call("DELETE", "/v1/customers/cus_nobody")[0] == 404


def test_the_tombstone_becomes_one_customer_erased_event_with_ids_only() -> None:
    tombstone = {**keys.erasure("cus_1"), "type": "erasure", "erased_at": "2026-12-01T06:30:00.000000Z"}
    change = RawChange(
        stream_event_id="e1",
        name=ChangeName.INSERT,
        at=START,
        keys=keys.erasure("cus_1"),
        new_image=tombstone,
    )
    (event,) = derive_events(decode(change))
    assert event.type is EventType.CUSTOMER_ERASED
    assert event.customer_id == "cus_1"
    assert event.data.model_dump(mode="json") == {"customer_id": "cus_1", "erased_at": "2026-12-01T06:30:00Z"}
    removal = RawChange(stream_event_id="e2", name=ChangeName.REMOVE, at=START, keys=change.keys, old_image=tombstone)
    assert derive_events(decode(removal)) == []
