"""Email through the real local stack: SES (SNS signed with a test certificate), SendGrid and Mailgun."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.local.samples import mailgun, sendgrid, ses
from infra.local.samples.email import compose_email
from tests.integration.stack import LocalStack

pytestmark = pytest.mark.integration


def unique_address() -> str:
    return f"ann.{uuid.uuid4().hex[:12]}@example.net"


def unique_message_id() -> str:
    return f"{uuid.uuid4().hex}@mail.example.net"


def stored_contact(stack: LocalStack, provider: str, message_id: str) -> dict[str, Any]:
    found = stack.api_get("/v1/contacts", provider=provider, provider_message_id=message_id)
    assert found.status == 200, found.text
    [contact] = found.json()["items"]
    return dict(contact)


def customer_of(stack: LocalStack, address: str) -> dict[str, Any] | None:
    result = stack.api_get("/v1/customers", identifier=f"email:{address}")
    assert result.status == 200, result.text
    items = result.json()["items"]
    return dict(items[0]) if items else None


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ses.write_test_certificate(tmp_path_factory.mktemp("sns") / "sns-test.pem")


def test_ses_mail_signed_by_sns_is_stored_with_its_attachments_in_the_bucket(
    start_stack: Callable[..., LocalStack], pem: Path
) -> None:
    stack = start_stack(SNS_TEST_CERT_PEM=str(pem))
    sender, message_id = unique_address(), unique_message_id()
    raw = compose_email(text="The box arrived crushed.", sender=sender, message_id=message_id)

    response = stack.send(ses.notification_request(ses.receipt_notification(raw), pem))
    assert response.status == 200, response.text
    stack.wait_idle()

    contact = stored_contact(stack, "ses", message_id)
    assert contact["content"]["text"] == "The box arrived crushed."
    assert contact["sender"]["identifiers"][0]["assurance"] == "channel"  # DMARC pass
    assert contact["content"]["attachments"][-1]["storage_key"].startswith("s3://")
    assert customer_of(stack, sender) is not None


def test_ses_message_with_a_forged_signature_is_refused(start_stack: Callable[..., LocalStack], pem: Path) -> None:
    stack = start_stack(SNS_TEST_CERT_PEM=str(pem))
    signed = ses.notification_request(ses.receipt_notification(compose_email(text="hi")), pem)
    forged = signed.body.replace(b'"Signature": "', b'"Signature": "AAAA')
    assert stack.post(signed.path, forged, signed.headers).status == 403


def test_sendgrid_parsed_mode_is_stored_end_to_end(stack: LocalStack) -> None:
    sender, message_id = unique_address(), unique_message_id()
    raw = compose_email(text="Where is my refund?", sender=sender, message_id=message_id)

    assert stack.send(sendgrid.form_request(sendgrid.parsed_fields(raw))).status == 200
    stack.wait_idle()

    contact = stored_contact(stack, "sendgrid", message_id)
    assert contact["content"]["text"] == "Where is my refund?"
    assert contact["case_id"]


def test_sendgrid_without_the_token_is_refused(stack: LocalStack) -> None:
    signed = sendgrid.form_request(sendgrid.parsed_fields(compose_email(text="hi")))
    assert stack.post(signed.path, signed.body, signed.headers).status == 401


def test_mailgun_body_mime_is_stored_end_to_end(stack: LocalStack) -> None:
    sender, message_id = unique_address(), unique_message_id()
    raw = compose_email(text="Please call me back.", sender=sender, message_id=message_id)

    assert stack.send(mailgun.form_request(mailgun.signed(mailgun.mime_fields(raw)))).status == 200
    stack.wait_idle()

    assert stored_contact(stack, "mailgun", message_id)["content"]["text"] == "Please call me back."


def test_a_reply_lands_on_the_case_of_the_message_it_answers(stack: LocalStack) -> None:
    sender, first_id, reply_id = unique_address(), unique_message_id(), unique_message_id()
    sent = datetime.now(UTC) - timedelta(minutes=10)
    first = compose_email(text="My kettle leaks.", sender=sender, message_id=first_id, sent_at=sent)
    assert stack.send(mailgun.form_request(mailgun.signed(mailgun.mime_fields(first)))).status == 200
    stack.wait_idle()
    reply = compose_email(
        text="Here is a photo.\n\nOn Tue, Acme Support <support@threadline.example> wrote:\n> Can you send a photo?",
        sender=sender,
        subject="Re: My order has not arrived",
        message_id=reply_id,
        in_reply_to=first_id,
        sent_at=sent + timedelta(minutes=5),
    )
    assert stack.send(sendgrid.form_request(sendgrid.raw_fields(reply))).status == 200
    stack.wait_idle()

    original = stored_contact(stack, "mailgun", first_id)
    answer = stored_contact(stack, "sendgrid", reply_id)
    assert answer["case_id"] == original["case_id"]
    assert answer["link"]["rule"] == "thread"
    assert answer["content"]["text"] == "Here is a photo."


def test_a_new_subject_from_the_same_sender_joins_the_open_case(stack: LocalStack) -> None:
    sender, first_id, second_id = unique_address(), unique_message_id(), unique_message_id()
    sent = datetime.now(UTC) - timedelta(minutes=10)
    for message_id, subject, at in (
        (first_id, "Order late", sent),
        (second_id, "Also: invoice", sent + timedelta(minutes=1)),
    ):
        raw = compose_email(text=subject, sender=sender, subject=subject, message_id=message_id, sent_at=at)
        assert stack.send(mailgun.form_request(mailgun.signed(mailgun.mime_fields(raw)))).status == 200
        stack.wait_idle()

    first, second = stored_contact(stack, "mailgun", first_id), stored_contact(stack, "mailgun", second_id)
    assert second["case_id"] == first["case_id"]
    assert second["link"]["rule"] == "open_case"


def test_an_auto_reply_from_a_new_sender_is_stored_but_opens_no_case(stack: LocalStack) -> None:
    sender, message_id = unique_address(), unique_message_id()
    raw = compose_email(text="I am out of office.", sender=sender, message_id=message_id)
    raw = b"Auto-Submitted: auto-replied\r\n" + raw
    assert stack.send(mailgun.form_request(mailgun.signed(mailgun.mime_fields(raw)))).status == 200
    stack.wait_idle()

    contact = stored_contact(stack, "mailgun", message_id)
    assert contact["automated"] is True
    assert contact["case_id"] is None
