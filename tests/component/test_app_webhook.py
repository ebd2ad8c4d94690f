"""POST /webhooks/app: signed first-party events, whose verified identifiers may merge customers (rule 3)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.app.handler import lambda_handler
from functions.processor.handler import lambda_handler as processor_handler
from shared.adapters.dynamo.identity import DynamoIdentityStore
from shared.channels import app
from shared.config import get_settings
from shared.ingest.message import ContactMessage
from shared.linking.merging import Merging
from shared.model.contact import Assurance, IdentifierKind
from shared.wiring import get_store
from tests.builders import (
    FakeContext,
    contacts_from_queue,
    event_fixture,
    http_event,
    sms_contact,
    sqs_event,
)
from tests.builders import (
    app_login as login,
)
from tests.conftest import Account, clear_factories

SECRET = "dev-app-webhook-secret"
ANN_PHONE = "+14155550123"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LOGIN = event_fixture("app", "login_message.json")


@pytest.fixture
def stack(aws: Account) -> Iterator[Account]:
    clear_factories()
    yield aws
    clear_factories()


def signed(body: bytes, *, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return {
        "Content-Type": "application/json",
        "X-Threadline-Signature": f"t={stamp},v1={app.signature(secret, stamp, body)}",
    }


def post(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    response: dict[str, Any] = lambda_handler(
        http_event("POST", "/webhooks/app", body=body, headers=headers), FakeContext()
    )  # type: ignore[arg-type]
    return response


def process_queued(aws: Account) -> list[str]:
    contacts = contacts_from_queue(aws.queued_bodies())
    for contact in contacts:
        processor_handler(sqs_event([ContactMessage(contact=contact)]), FakeContext())  # type: ignore[arg-type]
    return [contact.contact_id for contact in contacts]


def merging() -> Merging:
    return Merging(DynamoIdentityStore(boto3.client("dynamodb"), get_settings().table_name))


def customer_of(contact_id: str) -> str:
    contact = get_store().get_contact(contact_id)
    assert contact is not None and contact.customer_id
    return contact.customer_id


# --- the signature contract ----------------------------------------------------------------------


def test_signed_event_is_accepted_and_queued(stack: Account) -> None:
    response = post(LOGIN, signed(LOGIN))

    assert response["statusCode"] == 202
    assert len(stack.queued_bodies()) == 1


def test_missing_signature_is_401(stack: Account) -> None:
    assert post(LOGIN, {"Content-Type": "application/json"})["statusCode"] == 401
    assert stack.queued_bodies() == []


def test_signature_with_another_secret_is_403(stack: Account) -> None:
    assert post(LOGIN, signed(LOGIN, secret="not-the-secret"))["statusCode"] == 403


def test_signature_over_another_body_is_403(stack: Account) -> None:
    headers = signed(LOGIN)
    assert post(LOGIN.replace(b"kettle", b"toaster"), headers)["statusCode"] == 403


@pytest.mark.parametrize("skew_s", [-301, 301], ids=["too-old", "from-the-future"])
def test_timestamp_outside_five_minutes_either_way_is_403(stack: Account, skew_s: int) -> None:
    assert post(LOGIN, signed(LOGIN, at=time.time() + skew_s))["statusCode"] == 403
    assert stack.queued_bodies() == []


def test_timestamp_within_five_minutes_is_accepted(stack: Account) -> None:
    assert post(LOGIN, signed(LOGIN, at=time.time() - 240))["statusCode"] == 202


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"event_id": "e1"}',
        b'{"event_id": "e1", "occurred_at": "2026-11-02T11:00:00+00:00", '
        b'"customer": {"app_customer_id": "a1", "verified": {"phone": "not a phone"}}}',
    ],
    ids=["not-json", "missing-fields", "invalid-phone"],
)
def test_malformed_event_is_400(stack: Account, body: bytes) -> None:
    assert post(body, signed(body))["statusCode"] == 400
    assert stack.queued_bodies() == []


def test_app_contact_carries_the_account_and_verified_identifiers(stack: Account) -> None:
    post(LOGIN, signed(LOGIN))

    [contact] = contacts_from_queue(stack.queued_bodies())
    found = {(i.kind, i.value, i.assurance) for i in contact.sender.identifiers}
    assert found == {
        (IdentifierKind.APP, "acct_1001", Assurance.VERIFIED),
        (IdentifierKind.PHONE, ANN_PHONE, Assurance.VERIFIED),
        (IdentifierKind.EMAIL, "ann@example.org", Assurance.VERIFIED),
    }


# --- verified merges through the app -------------------------------------------------------------


def test_app_login_with_a_phone_of_another_customer_merges_them_and_the_older_survives(stack: Account) -> None:
    # Given Ann texting from her phone, and her app account known from an earlier app message on another phone
    processor_handler(sqs_event([ContactMessage(contact=sms_contact("SM1", ANN_PHONE, at=T0))]), FakeContext())  # type: ignore[arg-type]
    sms_customer = customer_of(get_store().find_contact_id("twilio", "SM1") or "")
    first_app = login("acct_1001", "+14155550188", "evt_1", T0 + timedelta(hours=1))
    post(first_app, signed(first_app))
    [app_contact] = process_queued(stack)
    app_customer = customer_of(app_contact)
    assert app_customer != sms_customer

    # When the app reports the account logged in with Ann's phone verified
    second_app = login("acct_1001", ANN_PHONE, "evt_2", T0 + timedelta(hours=2))
    post(second_app, signed(second_app))
    [merged_contact] = process_queued(stack)

    # Then one customer remains: the older (the SMS customer); the other id answers with it
    assert customer_of(merged_contact) == sms_customer
    assert merging().resolve_customer_id(app_customer) == (sms_customer, True)
    # And a later SMS from the phone the merged customer held lands on the survivor
    later = sms_contact("SM2", "+14155550188", at=T0 + timedelta(hours=3))
    processor_handler(sqs_event([ContactMessage(contact=later)]), FakeContext())  # type: ignore[arg-type]
    assert customer_of(later.contact_id) == sms_customer


def test_app_login_on_a_family_phone_of_another_account_merges_nothing(stack: Account) -> None:
    # Given the family phone verified by one app account
    first = login("acct_parent", ANN_PHONE, "evt_1", T0)
    post(first, signed(first))
    [parent] = process_queued(stack)

    # When a second account verifies the same phone
    second = login("acct_child", ANN_PHONE, "evt_2", T0 + timedelta(hours=1))
    post(second, signed(second))
    [child] = process_queued(stack)

    # Then two customers, and the phone stays with the first
    assert customer_of(child) != customer_of(parent)
    assert merging().resolve_customer_id(customer_of(parent)) == (customer_of(parent), False)
    owner = DynamoIdentityStore(boto3.client("dynamodb"), get_settings().table_name).identifier_owner(
        sms_contact("SMx", ANN_PHONE, at=T0).sender.identifiers[0]
    )
    assert owner is not None and owner.customer_id == customer_of(parent)
