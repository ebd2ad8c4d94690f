"""/v1 identity corrections: attach a verified identifier, merge, undo, and how merged ids answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.builders import sms_contact
from tests.component.test_api_reads import call, customer_id_of, process, walk
from tests.conftest import Account, clear_factories

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ADA = "+14155550123"
ADA_WORK = "+14155550124"
EVIDENCE = "CRM record 0031x00000AbCdE holds both numbers"


@pytest.fixture
def api(aws: Account) -> Iterator[Account]:
    clear_factories()
    yield aws
    clear_factories()


def two_customers() -> tuple[str, str]:
    process(sms_contact("SM1", ADA, at=START), sms_contact("SM2", ADA_WORK, at=START + timedelta(hours=1)))
    return customer_id_of(ADA), customer_id_of(ADA_WORK)


def test_merge_then_the_merged_id_answers_with_the_survivor(api: Account) -> None:
    older, newer = two_customers()
    status, merge = call(
        "POST", f"/v1/customers/{newer}/merge", body={"other_customer_id": older, "evidence": EVIDENCE}
    )
    assert status == 200, merge
    assert (merge["surviving_customer_id"], merge["merged_customer_id"]) == (older, newer)

    status, customer = call("GET", f"/v1/customers/{newer}")
    assert status == 200
    assert (customer["customer_id"], customer["merged_from"]) == (older, newer)
    assert {i["value"] for i in customer["identifiers"]} == {ADA, ADA_WORK}


def test_merging_into_a_merged_customer_is_409_naming_the_survivor(api: Account) -> None:
    older, newer = two_customers()
    call("POST", f"/v1/customers/{older}/merge", body={"other_customer_id": newer, "evidence": EVIDENCE})
    status, body = call("POST", f"/v1/customers/{newer}/merge", body={"other_customer_id": older, "evidence": EVIDENCE})
    assert status == 409
    assert body["error"]["code"] == "customer_merged"
    assert older in body["error"]["message"]


def test_undo_restores_both_customers_and_a_second_undo_is_409(api: Account) -> None:
    older, newer = two_customers()
    _, merge = call("POST", f"/v1/customers/{older}/merge", body={"other_customer_id": newer, "evidence": EVIDENCE})
    status, undone = call("POST", f"/v1/merges/{merge['merge_id']}/undo")
    assert status == 200, undone
    assert undone["restored_customer_id"] == newer
    _, customer = call("GET", f"/v1/customers/{newer}")
    assert (customer["customer_id"], customer["merged_from"]) == (newer, None)
    status, body = call("POST", f"/v1/merges/{merge['merge_id']}/undo")
    assert status == 409
    assert body["error"]["code"] == "merge_undone"


def test_attaching_another_customers_number_as_verified_merges_them(api: Account) -> None:
    older, newer = two_customers()
    status, attached = call(
        "POST", f"/v1/customers/{older}/identifiers", body={"kind": "phone", "value": ADA_WORK, "evidence": EVIDENCE}
    )
    assert status == 200, attached
    assert attached["customer_id"] == older
    assert attached["merge"]["merged_customer_id"] == newer
    assert attached["identifier"]["assurance"] == "verified"


def test_attaching_a_new_identifier_normalizes_it(api: Account) -> None:
    older, _ = two_customers()
    status, attached = call(
        "POST", f"/v1/customers/{older}/identifiers", body={"kind": "phone", "value": "(415) 555-0199", "evidence": "x"}
    )
    assert status == 200, attached
    assert (attached["identifier"]["value"], attached["attached"], attached["merge"]) == ("+14155550199", True, None)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "phone", "value": ADA_WORK},  # no evidence
        {"kind": "phone", "value": ADA_WORK, "evidence": "x", "extra": 1},
        {"kind": "pager", "value": "1", "evidence": "x"},
        {"kind": "phone", "value": 14155550124, "evidence": "x"},
        {"kind": "phone", "value": "not a number", "evidence": "x"},
        "not an object",
    ],
)
def test_invalid_attach_bodies_are_400(api: Account, body: object) -> None:
    older, _ = two_customers()
    status, error = call("POST", f"/v1/customers/{older}/identifiers", body=body)
    assert status == 400, error
    assert error["error"]["code"] == "invalid_request"


def test_unknown_customers_and_merges_are_404(api: Account) -> None:
    older, _ = two_customers()
    body = {"other_customer_id": "cus_nobody", "evidence": EVIDENCE}
    assert call("POST", f"/v1/customers/{older}/merge", body=body)[0] == 404
    assert call("POST", "/v1/merges/mrg_nothing/undo")[0] == 404
    attach = {"kind": "phone", "value": ADA_WORK, "evidence": EVIDENCE}
    assert call("POST", "/v1/customers/cus_nobody/identifiers", body=attach)[0] == 404


def test_an_erased_customer_cannot_be_merged_or_given_identifiers(api: Account) -> None:
    older, newer = two_customers()
    call("DELETE", f"/v1/customers/{newer}")
    status, body = call("POST", f"/v1/customers/{older}/merge", body={"other_customer_id": newer, "evidence": "x"})
    assert status == 410
    assert body["error"]["code"] == "erased"
    attach = {"kind": "phone", "value": "+14155550188", "evidence": EVIDENCE}
    assert call("POST", f"/v1/customers/{newer}/identifiers", body=attach)[0] == 410


def test_the_survivors_timeline_and_cases_include_the_merged_customers_walked_without_repeats(api: Account) -> None:
    process(*[sms_contact(f"SMA{n}", ADA, at=START + timedelta(minutes=2 * n)) for n in range(5)])
    process(*[sms_contact(f"SMW{n}", ADA_WORK, at=START + timedelta(minutes=2 * n + 1)) for n in range(5)])
    older, newer = customer_id_of(ADA), customer_id_of(ADA_WORK)
    call("POST", f"/v1/customers/{older}/merge", body={"other_customer_id": newer, "evidence": EVIDENCE})

    timeline = walk(f"/v1/customers/{newer}/timeline", limit="3")
    assert [c["provider_message_id"] for c in timeline] == [
        f"SM{'W' if n % 2 else 'A'}{n // 2}" for n in reversed(range(10))
    ]
    cases = walk(f"/v1/customers/{older}/cases", limit="1")
    assert {case["customer_id"] for case in cases} == {older, newer}


def test_erasing_a_survivor_erases_the_customers_merged_into_it(api: Account) -> None:
    older, newer = two_customers()
    call("POST", f"/v1/customers/{older}/merge", body={"other_customer_id": newer, "evidence": EVIDENCE})
    assert call("DELETE", f"/v1/customers/{newer}")[0] == 409  # an alias: erase the person
    assert call("DELETE", f"/v1/customers/{older}")[0] == 200
    assert call("GET", f"/v1/customers/{newer}")[0] == 410
    assert call("GET", "/v1/customers", query={"identifier": f"phone:{ADA_WORK}"})[1]["items"] == []
