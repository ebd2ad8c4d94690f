"""The processor against moto: dedupe, customers, cases, partial batch failures."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from functions.processor.handler import lambda_handler
from shared.ingest.message import ContactMessage
from shared.model.contact import Contact, Direction, LinkRule
from tests.builders import FakeContext, cases_of, sms_contact, sqs_event, stored_contact, timeline_of
from tests.conftest import Account

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def process(*contacts: object) -> dict[str, object]:
    messages = [c if isinstance(c, str) else ContactMessage(contact=c) for c in contacts]  # type: ignore[arg-type]
    return lambda_handler(sqs_event(messages), FakeContext())  # type: ignore[arg-type]


def stored(sid: str) -> Contact:
    return stored_contact("twilio", sid)


def test_two_sms_from_one_number_share_customer_and_case(aws: Account) -> None:
    process(sms_contact("SM1", at=T0), sms_contact("SM2", at=T0 + timedelta(hours=2)))

    first, second = stored("SM1"), stored("SM2")
    assert first.customer_id == second.customer_id is not None
    assert first.case_id == second.case_id is not None
    assert first.link and first.link.rule is LinkRule.NEW_CASE
    assert second.link and second.link.rule is LinkRule.OPEN_CASE


def test_sms_after_the_reopen_window_opens_a_new_case(aws: Account) -> None:
    process(sms_contact("SM1", at=T0))
    process(sms_contact("SM2", at=T0 + timedelta(days=3)))
    process(sms_contact("SM3", at=T0 + timedelta(days=11)))

    first, second, third = stored("SM1"), stored("SM2"), stored("SM3")
    assert first.case_id == second.case_id  # the window slides with activity
    assert third.case_id != second.case_id
    assert third.customer_id == first.customer_id
    cases, _ = cases_of(first.customer_id or "")
    assert {case.case_id for case in cases} == {first.case_id, third.case_id}


def test_redelivery_stores_one_contact(aws: Account) -> None:
    contact = sms_contact("SM1", at=T0)
    process(contact)
    process(contact)
    process(contact)

    timeline, _ = timeline_of(stored("SM1").customer_id or "")
    assert [c.provider_message_id for c in timeline] == ["SM1"]


def test_poison_message_fails_alone(aws: Account) -> None:
    response = process(sms_contact("SM1", at=T0), "not json at all", sms_contact("SM2", "+14155550199", at=T0))

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert stored("SM1").customer_id != stored("SM2").customer_id


def test_poison_message_leaves_no_content_in_logs(aws: Account, caplog: pytest.LogCaptureFixture) -> None:
    poison = '{"type": "contact", "contact": {"text": "my card is 4242 4242", "from": "+14155550123"}}'
    with caplog.at_level(logging.DEBUG):
        response = process(sms_contact("SM1", "+14155550177", at=T0), poison)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    # Text attributes only: a record's numeric times could contain "4242" by chance.
    texts = [[value for value in vars(record).values() if not isinstance(value, float)] for record in caplog.records]
    logged = " ".join(
        f"{record.getMessage()} {record.exc_text or ''} {text}"
        for record, text in zip(caplog.records, texts, strict=True)
    )
    assert "card is 4242" not in logged  # the words of the message (a hash in a debug line may hold 4242)
    assert "+14155550123" not in logged


def test_outbound_echo_never_opens_a_case(aws: Account) -> None:
    process(sms_contact("SM1", at=T0, direction=Direction.OUTBOUND))
    echo = stored("SM1")
    assert echo.case_id is None
    assert echo.link and echo.link.rule is LinkRule.NO_CASE

    process(sms_contact("SM2", at=T0 + timedelta(minutes=5)))
    process(sms_contact("SM3", at=T0 + timedelta(minutes=6), direction=Direction.OUTBOUND))
    assert stored("SM2").customer_id == echo.customer_id
    assert stored("SM3").case_id == stored("SM2").case_id


def test_known_customer_costs_three_round_trips_and_new_four(aws: Account) -> None:
    calls: list[str] = []
    client = boto3.client("dynamodb")
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    from shared.adapters.dynamo.contacts import DynamoStore
    from shared.config import get_settings
    from shared.linking.processor import ContactProcessor

    processor = ContactProcessor(DynamoStore(client, aws.table), get_settings())
    processor.process(sms_contact("SM1", at=T0))
    assert len(calls) == 4, calls
    calls.clear()
    processor.process(sms_contact("SM2", at=T0 + timedelta(hours=1)))
    assert len(calls) == 3, calls
    calls.clear()
    processor.process(sms_contact("SM3", at=T0 + timedelta(days=30)))
    assert len(calls) == 3, calls
