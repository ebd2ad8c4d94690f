"""/v1 case close and reopen: status changes that keep the processor's case rules true."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.wiring import get_store
from tests.builders import sms_contact
from tests.component.test_api_reads import call, customer_id_of, process
from tests.conftest import Account, clear_factories

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def api(aws: Account) -> Iterator[Account]:
    clear_factories()
    yield aws
    clear_factories()


def open_case() -> tuple[str, str]:
    process(sms_contact("SM1", at=START))
    customer_id = customer_id_of()
    _, customer = call("GET", f"/v1/customers/{customer_id}")
    return customer_id, customer["active_case_id"]


def test_closing_the_active_case_makes_the_next_contact_open_a_new_case(api: Account) -> None:
    customer_id, case_id = open_case()
    status, closed = call("POST", f"/v1/cases/{case_id}/close")
    assert status == 200
    assert (closed["status"], closed["changed"]) == ("closed", True)
    _, customer = call("GET", f"/v1/customers/{customer_id}")
    assert customer["active_case_id"] is None

    (later,) = process(sms_contact("SM2", at=START + timedelta(minutes=5)))  # well inside the reopen window
    contact = get_store().get_contact(later)
    assert contact is not None
    assert contact.case_id not in (None, case_id)


def test_closing_a_closed_case_is_an_idempotent_200(api: Account) -> None:
    _, case_id = open_case()
    call("POST", f"/v1/cases/{case_id}/close")
    status, again = call("POST", f"/v1/cases/{case_id}/close")
    assert status == 200
    assert (again["status"], again["changed"]) == ("closed", False)


def test_reopening_makes_the_case_active_again_and_the_next_contact_joins_it(api: Account) -> None:
    customer_id, case_id = open_case()
    call("POST", f"/v1/cases/{case_id}/close")
    status, reopened = call("POST", f"/v1/cases/{case_id}/reopen")
    assert status == 200
    assert (reopened["status"], reopened["changed"]) == ("open", True)
    _, customer = call("GET", f"/v1/customers/{customer_id}")
    assert customer["active_case_id"] == case_id

    (later,) = process(sms_contact("SM2", at=datetime.now(UTC) + timedelta(minutes=1)))
    contact = get_store().get_contact(later)
    assert contact is not None
    assert contact.case_id == case_id
    assert call("POST", f"/v1/cases/{case_id}/reopen")[1]["changed"] is False


def test_closing_a_case_that_is_not_the_active_one_leaves_the_active_case_alone(api: Account) -> None:
    customer_id, first_case = open_case()
    call("POST", f"/v1/cases/{first_case}/close")
    process(sms_contact("SM2", at=START + timedelta(minutes=5)))
    _, customer = call("GET", f"/v1/customers/{customer_id}")
    second_case = customer["active_case_id"]
    call("POST", f"/v1/cases/{first_case}/close")
    _, customer = call("GET", f"/v1/customers/{customer_id}")
    assert customer["active_case_id"] == second_case


def test_unknown_case_is_404(api: Account) -> None:
    assert call("POST", "/v1/cases/case_nothing/close")[0] == 404
    assert call("POST", "/v1/cases/case_nothing/reopen")[0] == 404
