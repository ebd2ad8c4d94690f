"""AWS End User Messaging two-way SMS, delivered by SNS: parsing, skipping, and one customer per number."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from functions.eum.handler import lambda_handler as eum_handler
from functions.processor.handler import lambda_handler as processor_handler
from shared.adapters.sqs import QueueUnavailable
from shared.ingest.message import ContactMessage
from shared.model.contact import Assurance, Channel, Provider
from tests.builders import (
    FakeContext,
    contacts_from_queue,
    event_fixture,
    sms_contact,
    sns_event,
    sqs_event,
    stored_contact,
)
from tests.conftest import Account

INBOUND = event_fixture("eum", "inbound_sms.json").decode()
MESSAGE_ID = "b2f1e7a4-9c3d-5e8f-a1b2-c3d4e5f6a7b8"


def test_stored_sns_notification_becomes_an_sms_from_the_customers_number(aws: Account) -> None:
    response = eum_handler(json.loads(event_fixture("eum", "sns_event.json")), FakeContext())

    assert response == {"queued": 1}
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert (contact.channel, contact.provider, contact.provider_message_id) == (Channel.SMS, Provider.EUM, MESSAGE_ID)
    [sender] = contact.sender.identifiers
    assert (sender.value, sender.assurance) == ("+14155550123", Assurance.CHANNEL)
    assert contact.recipient.identifiers[0].value == "+14155558888"
    assert contact.content.text == "Still waiting on order 4417, any update?"
    assert contact.occurred_at == datetime(2026, 11, 4, 10, 15, 7, 235000, tzinfo=UTC)
    assert contact.thread.in_reply_to == "7h5jq2mf0o3n1p8k4r6s9t0u2v1w3x5y7z9a1b3c"


@pytest.mark.parametrize(
    "malformed",
    [
        "not json",
        json.dumps({"originationNumber": "+14155550123", "destinationNumber": "+14155558888"}),
        json.dumps(["a", "list"]),
        json.dumps({**json.loads(INBOUND), "inboundMessageId": "x" * 300}),
    ],
)
def test_malformed_message_is_skipped_and_the_rest_of_the_batch_is_queued(aws: Account, malformed: str) -> None:
    response = eum_handler(sns_event([malformed, INBOUND]), FakeContext())

    assert response == {"queued": 1}
    assert [c.provider_message_id for c in contacts_from_queue(aws.queued_bodies())] == [MESSAGE_ID]


def test_skipped_message_is_logged_by_id_never_by_content(aws: Account, caplog: pytest.LogCaptureFixture) -> None:
    secret = {**json.loads(INBOUND), "inboundMessageId": ""}
    eum_handler(sns_event([json.dumps(secret)]), FakeContext())

    [skipped] = [r for r in caplog.records if r.getMessage() == "malformed record skipped"]
    assert (skipped.record_id, skipped.fields) == ("msg-0", ["inboundMessageId"])  # type: ignore[attr-defined]
    logged = " ".join(str(vars(r)) for r in caplog.records)
    assert "+14155550123" not in logged and "order 4417" not in logged


def test_refused_queue_fails_the_invocation_so_lambda_retries_it(aws: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    class RefusingQueue:
        def send(self, messages: list[ContactMessage]) -> None:
            raise QueueUnavailable("ingest queue refused the batch")

    monkeypatch.setattr("functions.eum.handler.get_ingest_queue", RefusingQueue)
    with pytest.raises(QueueUnavailable):
        eum_handler(sns_event([INBOUND]), FakeContext())


def test_eum_sms_and_twilio_sms_from_one_number_are_one_customer_on_one_case(aws: Account) -> None:
    processor_handler(
        sqs_event(
            [ContactMessage(contact=sms_contact("SM1", "+14155550123", at=datetime(2026, 11, 4, 9, 0, tzinfo=UTC)))]
        ),
        FakeContext(),  # type: ignore[arg-type]
    )
    eum_handler(sns_event([INBOUND]), FakeContext())
    processor_handler(
        sqs_event([ContactMessage(contact=c) for c in contacts_from_queue(aws.queued_bodies())]), FakeContext()
    )  # type: ignore[arg-type]

    twilio, eum = stored_contact("twilio", "SM1"), stored_contact("eum", MESSAGE_ID)
    assert eum.customer_id == twilio.customer_id is not None
    assert eum.case_id == twilio.case_id
