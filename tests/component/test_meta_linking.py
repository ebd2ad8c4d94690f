"""Meta webhooks through the processor (moto): who the customer is and which case a contact joins."""

from __future__ import annotations

from functions.meta.handler import lambda_handler as meta_webhook
from functions.processor.handler import lambda_handler as processor
from functions.twilio_sms.handler import lambda_handler as twilio_webhook
from shared.ingest.message import ContactMessage
from shared.model.contact import LinkRule
from tests.builders import (
    FakeContext,
    event_fixture,
    meta_event,
    sms_form,
    sqs_event,
    stored_contact,
    timeline_of,
    twilio_form_event,
)
from tests.conftest import Account


def deliver(account: Account, event: dict[str, object], webhook: object = meta_webhook) -> None:
    """A webhook call, then the processor run over everything it queued."""
    assert webhook(event, FakeContext())["statusCode"] == 200  # type: ignore[operator]
    messages = [ContactMessage.model_validate_json(body) for body in account.queued_bodies()]
    processor(sqs_event(messages), FakeContext())  # type: ignore[arg-type]


def test_whatsapp_and_sms_from_one_number_are_one_customer(aws: Account) -> None:
    deliver(aws, meta_event(event_fixture("meta", "whatsapp_text.json")))
    deliver(aws, twilio_form_event("/webhooks/twilio/sms", sms_form("SM1", sender="+14155550123")), twilio_webhook)

    whatsapp = stored_contact("meta", "wamid.HBgLMTQxNTU1NTAxMjMVAgASGBQzQUI1RjA5QjY2QTQ4QTlBRDY1OAA=")
    sms = stored_contact("twilio", "SM1")
    assert whatsapp.customer_id is not None
    assert sms.customer_id == whatsapp.customer_id


def test_an_echo_alone_never_opens_a_case(aws: Account) -> None:
    deliver(aws, meta_event(event_fixture("meta", "messenger_echo.json")))

    echo = stored_contact("meta", "m_Ech0AgEnTrEpLyQwErTyUiOpAsDfGhJkLzXcVbNm5566778899qWeRtYuIoPaSdFg")
    assert echo.case_id is None
    assert echo.link is not None
    assert echo.link.rule is LinkRule.NO_CASE


def test_an_echo_joins_the_case_its_customer_opened(aws: Account) -> None:
    deliver(aws, meta_event(event_fixture("meta", "messenger_text.json")))
    deliver(aws, meta_event(event_fixture("meta", "messenger_echo.json")))

    question = stored_contact("meta", "m_Xy2CbQwV7tLr0dM9aPq3nZkUeHf5sJ1oGiYvB8xN4wE6cT0hR-lKaOuDmSpFjWgIzQ")
    answer = stored_contact("meta", "m_Ech0AgEnTrEpLyQwErTyUiOpAsDfGhJkLzXcVbNm5566778899qWeRtYuIoPaSdFg")
    assert answer.customer_id == question.customer_id is not None
    assert answer.case_id == question.case_id is not None


def test_a_replayed_delivery_stores_one_contact(aws: Account) -> None:
    event = meta_event(event_fixture("meta", "messenger_text.json"))
    deliver(aws, event)
    deliver(aws, event)

    contact = stored_contact("meta", "m_Xy2CbQwV7tLr0dM9aPq3nZkUeHf5sJ1oGiYvB8xN4wE6cT0hR-lKaOuDmSpFjWgIzQ")
    timeline, _ = timeline_of(contact.customer_id or "")
    assert len(timeline) == 1
