"""/v1 reads: look-ups, lists, filters, pagination and the error contract."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.api.handler import lambda_handler
from shared.api.queries import parse_identifier
from shared.config import get_settings
from shared.linking.processor import ContactProcessor
from shared.model.contact import Channel, Contact
from shared.wiring import get_store
from tests.builders import FakeContext, api_event, json_body, sms_contact
from tests.conftest import Account, clear_factories

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PHONE = "+14155550123"


@pytest.fixture
def api(aws: Account) -> Iterator[Account]:
    clear_factories()
    yield aws
    clear_factories()


def call(method: str, path: str, **options: Any) -> tuple[int, Any]:
    response = lambda_handler(api_event(method, path, **options), FakeContext())  # type: ignore[arg-type]
    return response["statusCode"], json_body(response) if response.get("body") else None


def process(*contacts: Contact) -> list[str]:
    processor = ContactProcessor(get_store(), get_settings())
    return [processor.process(contact).contact_id for contact in contacts]


def customer_id_of(phone: str = PHONE) -> str:
    status, body = call("GET", "/v1/customers", query={"identifier": f"phone:{phone}"})
    assert status == 200, body
    return str(body["items"][0]["customer_id"])


def walk(path: str, **query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        status, page = call("GET", path, query={**query, **({"cursor": cursor} if cursor else {})})
        assert status == 200, page
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_contact_is_found_by_id_and_by_provider_message_id(api: Account) -> None:
    (contact_id,) = process(sms_contact("SM1", at=START))
    status, contact = call("GET", f"/v1/contacts/{contact_id}")
    assert status == 200
    assert contact["provider_message_id"] == "SM1"
    status, page = call("GET", "/v1/contacts", query={"provider": "twilio", "provider_message_id": "SM1"})
    assert status == 200
    assert [item["contact_id"] for item in page["items"]] == [contact_id]
    assert page["next_cursor"] is None


def test_unknown_ids_are_404_and_malformed_ids_400(api: Account) -> None:
    assert call("GET", "/v1/contacts/01ARZ3NDEKTSV4RRFFQ69G5FAV")[0] == 404
    assert call("GET", "/v1/customers/cus_nobody")[0] == 404
    assert call("GET", "/v1/cases/case_none")[0] == 404
    status, body = call("GET", "/v1/contacts/" + "x" * 129)
    assert status == 400
    assert body["error"]["code"] == "invalid_request"
    assert call("GET", "/v1/customers/a%20b")[0] == 400


def test_a_whatsapp_id_is_found_however_the_number_is_written(api: Account) -> None:
    assert parse_identifier("whatsapp:+14155550123", "US") == parse_identifier("whatsapp:14155550123", "US")
    assert parse_identifier("whatsapp:+14155550123", "US").value == "14155550123"


def test_v1_refuses_a_wrong_api_key(api: Account) -> None:
    status, body = call("GET", "/v1/customers/cus_x", api_key="wrong")
    assert status == 401
    assert body["error"]["code"] == "unauthorized"


def test_customer_lists_identifiers_and_its_cases_carry_references(api: Account) -> None:
    process(sms_contact("SM1", at=START))
    customer_id = customer_id_of()
    status, customer = call("GET", f"/v1/customers/{customer_id}")
    assert status == 200
    assert [(i["kind"], i["value"]) for i in customer["identifiers"]] == [("phone", PHONE)]
    assert customer["merged_from"] is None
    (case,) = walk(f"/v1/customers/{customer_id}/cases")
    assert case["reference"].startswith("TL-")
    status, detail = call("GET", f"/v1/cases/{case['case_id']}")
    assert status == 200
    assert detail["reference"] == case["reference"]
    assert [c["provider_message_id"] for c in detail["contacts"]["items"]] == ["SM1"]


def test_timeline_is_newest_first_and_filters_by_since_and_case(api: Account) -> None:
    window = get_settings().reopen_window
    first_case = process(sms_contact("SM1", at=START), sms_contact("SM2", at=START + timedelta(hours=1)))
    later = START + window + timedelta(days=1)  # outside the reopen window: a second case
    process(sms_contact("SM3", at=later), sms_contact("SM4", at=later + timedelta(hours=1)))
    customer_id = customer_id_of()

    everything = walk(f"/v1/customers/{customer_id}/timeline", limit="1")
    assert [c["provider_message_id"] for c in everything] == ["SM4", "SM3", "SM2", "SM1"]

    since = walk(f"/v1/customers/{customer_id}/timeline", since=later.isoformat())
    assert [c["provider_message_id"] for c in since] == ["SM4", "SM3"]

    old_case = everything[-1]["case_id"]
    in_case = walk(f"/v1/customers/{customer_id}/timeline", case_id=old_case, limit="1")
    assert [c["contact_id"] for c in in_case] == list(reversed(first_case))


def test_channel_filter_fills_pages_across_sparse_matches(api: Account) -> None:
    process(*[sms_contact(f"SM{n}", at=START + timedelta(minutes=n)) for n in range(12)])
    customer_id = customer_id_of()
    status, page = call("GET", f"/v1/customers/{customer_id}/timeline", query={"channel": "sms", "limit": "5"})
    assert status == 200
    assert len(page["items"]) == 5
    assert page["next_cursor"] is not None
    assert walk(f"/v1/customers/{customer_id}/timeline", channel=Channel.EMAIL.value) == []
    assert len(walk(f"/v1/customers/{customer_id}/timeline", channel="sms", limit="5")) == 12


def test_invalid_parameters_are_400_json_errors(api: Account) -> None:
    process(sms_contact("SM1", at=START))
    customer_id = customer_id_of()
    for query in ({"limit": "0"}, {"limit": "101"}, {"channel": "pigeon"}, {"since": "yesterday"}, {"cursor": "!"}):
        status, body = call("GET", f"/v1/customers/{customer_id}/timeline", query=query)
        assert status == 400, query
        assert body["error"]["code"] == "invalid_request"


def test_a_cursor_of_another_customer_is_refused(api: Account) -> None:
    process(*[sms_contact(f"SM{n}", at=START + timedelta(minutes=n)) for n in range(3)])
    process(*[sms_contact(f"SN{n}", "+14155550124", at=START + timedelta(minutes=n)) for n in range(3)])
    _, page = call("GET", f"/v1/customers/{customer_id_of()}/timeline", query={"limit": "1"})
    status, body = call(
        "GET", f"/v1/customers/{customer_id_of('+14155550124')}/timeline", query={"cursor": page["next_cursor"]}
    )
    assert status == 400
    assert "another listing" in body["error"]["message"]


def test_bodies_other_than_utf8_json_are_refused_before_parsing(api: Account) -> None:
    multipart = api_event("POST", "/v1/cases/case_x/close")
    multipart["headers"]["content-type"] = "multipart/form-data"  # no boundary: Powertools would raise
    response = lambda_handler(multipart, FakeContext())  # type: ignore[arg-type]
    assert response["statusCode"] == 415
    assert json_body(response)["error"]["code"] == "unsupported_media_type"

    binary = api_event("POST", "/v1/customers/cus_x/merge")
    binary.update(body=base64.b64encode(b"\xa2\xff{").decode(), isBase64Encoded=True)
    response = lambda_handler(binary, FakeContext())  # type: ignore[arg-type]
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "invalid_request"


def test_an_over_long_identifier_is_a_400_not_a_500(api: Account) -> None:
    status, body = call("GET", "/v1/customers", query={"identifier": "x:" + "1" * 390})
    assert status == 400
    assert body["error"]["message"] == "invalid x identifier"
