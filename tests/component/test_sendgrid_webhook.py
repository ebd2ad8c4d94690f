"""POST /webhooks/sendgrid: the token guard, parsed mode, raw mode and the multipart limits."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest

from functions.sendgrid.handler import lambda_handler
from infra.local.samples import SignedRequest, sendgrid
from infra.local.samples.email import FilePart, compose_email, multipart_form
from shared.model.contact import Assurance, AttachmentType, Provider
from tests.builders import (
    FakeContext,
    contacts_from_queue,
    event_fixture,
    json_body,
    signed_event,
)
from tests.conftest import Account, clear_factories

TOKEN = "dev-sendgrid-inbound-token"
BUCKET = "threadline-mail-test"
ENVELOPE_RECIPIENT = "support@inbound.acme.example"


def send(signed: SignedRequest) -> dict[str, Any]:
    return lambda_handler(signed_event(signed, base64_body=True), FakeContext())


def parsed_mode(raw: bytes, **replaced: str | bytes | FilePart) -> list[tuple[str, str | bytes | FilePart]]:
    fields: list[tuple[str, str | bytes | FilePart]] = list(sendgrid.parsed_fields(raw, ENVELOPE_RECIPIENT))
    fields = [(name, replaced.pop(name, value)) for name, value in fields]
    return fields + list(replaced.items())


def form(
    fields: list[tuple[str, str | bytes | FilePart]], *, query: str | None = None, **headers: str
) -> SignedRequest:
    body, content_type = multipart_form(fields)
    return SignedRequest(
        "POST",
        sendgrid.PATH,
        body,
        {"Content-Type": content_type, **headers},
        f"token={TOKEN}" if query is None else query,
    )


def test_parsed_mode_is_queued_with_threading_from_the_header_block(aws: Account) -> None:
    raw = event_fixture("email", "gmail_reply.eml")
    response = send(form(parsed_mode(raw)))

    assert response["statusCode"] == 200
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.provider is Provider.SENDGRID
    assert contact.provider_message_id == "CAGmailReply2@mail.example.net"
    assert contact.thread.in_reply_to == "support-0001@acme.example"
    assert contact.thread.references == ("CAF3x9aQ1@mail.example.net", "support-0001@acme.example")
    assert contact.content.text == "Thanks, the tracking link works now."
    assert contact.recipient.identifiers[0].value == ENVELOPE_RECIPIENT
    # SendGrid reports no DMARC verdict we could trust, so the From address stays weak.
    assert contact.sender.identifiers[0].assurance is Assurance.WEAK


def test_raw_mode_parses_the_whole_mime_message(aws: Account) -> None:
    raw = event_fixture("email", "inline_image.eml")
    send(form(sendgrid.raw_fields(raw, ENVELOPE_RECIPIENT)))

    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.provider_message_id == "inline-1@mail.example.net"
    [image] = contact.content.attachments
    assert image.type is AttachmentType.IMAGE
    assert image.content_id == "ii_m7x1d2e30"


def test_parsed_mode_text_is_decoded_in_the_charset_sendgrid_declares(aws: Account) -> None:
    raw = event_fixture("email", "plain_text_crlf.eml")
    charsets = json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "iso-8859-1"})
    send(form(parsed_mode(raw, text="Grüße, wo bleibt das Paket?".encode("latin-1"), charsets=charsets)))

    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.content.text == "Grüße, wo bleibt das Paket?"


def test_parsed_mode_without_text_derives_it_from_html(aws: Account) -> None:
    raw = event_fixture("email", "plain_text_crlf.eml")
    fields = [(name, value) for name, value in parsed_mode(raw) if name != "text"]
    send(form([*fields, ("html", "<p>Only <b>HTML</b> here</p>")]))
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.content.text == "Only HTML here"


def test_parsed_mode_attachments_are_described_by_attachment_info(aws: Account) -> None:
    raw = event_fixture("email", "plain_text_crlf.eml")
    info = {"attachment1": {"filename": "label.pdf", "name": "label.pdf", "type": "application/pdf"}}
    fields = parsed_mode(
        raw,
        attachments="1",
        **{"attachment-info": json.dumps(info), "attachment1": FilePart("label.pdf", "application/pdf", b"%PDF-1.7")},
    )
    send(form(fields))

    [contact] = contacts_from_queue(aws.queued_bodies())
    [pdf] = contact.content.attachments
    assert (pdf.name, pdf.content_type, pdf.size) == ("label.pdf", "application/pdf", 8)


def test_parsed_mode_without_a_header_block_uses_the_decoded_fields(aws: Account) -> None:
    raw = event_fixture("email", "plain_text_crlf.eml")
    fields = [(name, value) for name, value in parsed_mode(raw) if name != "headers"]
    send(form(fields))
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.sender.identifiers[0].value == "ann.jones@example.net"
    assert contact.content.subject == "My order has not arrived"
    assert contact.provider_message_id.startswith("sha256:")


def test_attachment_bytes_go_to_the_mail_bucket_when_one_is_configured(
    aws: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("THREADLINE_MAIL_BUCKET", BUCKET)
    clear_factories()
    send(form(sendgrid.raw_fields(event_fixture("email", "attachment_pdf.eml"), ENVELOPE_RECIPIENT)))

    [contact] = contacts_from_queue(aws.queued_bodies())
    pdf, original = contact.content.attachments
    assert pdf.storage_key is not None
    assert original.name == "message.eml"
    key = pdf.storage_key.removeprefix(f"s3://{BUCKET}/")
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().startswith(b"%PDF-1.4")


def test_the_token_may_come_as_the_basic_auth_password(aws: Account) -> None:
    credentials = base64.b64encode(f"sendgrid:{TOKEN}".encode()).decode()
    signed = form(
        parsed_mode(event_fixture("email", "alternative.eml")), query="", Authorization=f"Basic {credentials}"
    )
    assert send(signed)["statusCode"] == 200


def test_a_missing_token_is_401_and_queues_nothing(aws: Account) -> None:
    response = send(form(parsed_mode(event_fixture("email", "alternative.eml")), query=""))
    assert response["statusCode"] == 401
    assert aws.queued_bodies() == []


@pytest.mark.parametrize("query", ["token=not-the-token", "token="])
def test_a_wrong_token_is_refused(aws: Account, query: str) -> None:
    response = send(form(parsed_mode(event_fixture("email", "alternative.eml")), query=query))
    assert response["statusCode"] in (401, 403)
    assert aws.queued_bodies() == []


def test_a_wrong_basic_auth_password_is_403(aws: Account) -> None:
    credentials = base64.b64encode(b"sendgrid:guess").decode()
    signed = form(
        parsed_mode(event_fixture("email", "alternative.eml")), query="", Authorization=f"Basic {credentials}"
    )
    assert send(signed)["statusCode"] == 403


def test_a_form_with_too_many_parts_is_400(aws: Account) -> None:
    fields: list[tuple[str, str | bytes | FilePart]] = [(f"field{index}", "x") for index in range(500)]
    response = send(form(fields))
    assert response["statusCode"] == 400
    assert "parts" in json_body(response)["error"]["message"]


def test_a_body_over_the_email_limit_is_413(aws: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_MAX_EMAIL_BYTES", "4096")
    clear_factories()
    raw = compose_email(text="x" * 8000)
    assert send(form(sendgrid.raw_fields(raw, ENVELOPE_RECIPIENT)))["statusCode"] == 413


def test_an_email_body_above_the_general_webhook_limit_is_accepted(
    aws: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADLINE_MAX_BODY_BYTES", "1000")
    clear_factories()
    raw = compose_email(text="long message " * 400)
    assert send(form(sendgrid.raw_fields(raw, ENVELOPE_RECIPIENT)))["statusCode"] == 200


def test_a_json_body_is_415(aws: Account) -> None:
    signed = SignedRequest("POST", sendgrid.PATH, b"{}", {"Content-Type": "application/json"}, f"token={TOKEN}")
    assert send(signed)["statusCode"] == 415


def test_the_sample_is_accepted(aws: Account) -> None:
    from infra.local.samples import SampleOptions

    for kind in (None, "raw"):
        signed = sendgrid.build(SampleOptions(public_url="https://hooks.example.com", kind=kind))
        assert send(signed)["statusCode"] == 200
    assert len(contacts_from_queue(aws.queued_bodies())) == 2
