"""POST /webhooks/mailgun: the timestamp+token signature, the clock, replays, parsed fields and body-mime."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from functions.mailgun import handler
from functions.mailgun.handler import lambda_handler
from infra.local.samples import SampleOptions, SignedRequest, mailgun
from infra.local.samples.email import FilePart, multipart_form
from shared.adapters.sqs import QueueUnavailable
from shared.channels.mailgun import TokenLedger, compute_signature
from shared.model.contact import Provider
from shared.wiring import get_ingest_queue
from tests.builders import (
    FakeContext,
    contacts_from_queue,
    event_fixture,
    json_body,
    signed_event,
)
from tests.conftest import Account

KEY = "dev-mailgun-signing-key"


@pytest.fixture(autouse=True)
def fresh_token_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "used_tokens", TokenLedger())


def send(signed: SignedRequest, *, base64_body: bool = False) -> dict[str, Any]:
    return lambda_handler(signed_event(signed, base64_body=base64_body), FakeContext())


def test_signature_matches_the_rails_action_mailbox_test_vector() -> None:
    # actionmailbox/test/controllers/ingresses/mailgun/inbound_emails_controller_test.rb
    assert compute_signature(
        "tbsy84uSV1Kt3ZJZELY2TmShPRs91E3yL4tzf96297vBCkDWgL",
        "1539112500",
        "7VwW7k6Ak7zcTwoSoNm7aTtbk1g67MKAnsYLfUB7PdszbgR5Xi",
    ) == ("ef24c5225322217bb065b80bb54eb4f9206d764e3e16abab07f0a64d1cf477cc")


def test_parsed_fields_are_queued_with_threading_from_message_headers(aws: Account) -> None:
    raw = event_fixture("email", "german_reply.eml")
    response = send(mailgun.form_request(mailgun.signed(mailgun.parsed_fields(raw, "support@mg.acme.example"))))

    assert response["statusCode"] == 200
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.provider is Provider.MAILGUN
    assert contact.provider_message_id == "de-reply-1@example.de"
    assert contact.thread.in_reply_to == "support-0003@acme.example"
    assert contact.content.text == "Danke, das passt so."
    assert contact.recipient.identifiers[0].value == "support@mg.acme.example"


def test_body_mime_is_parsed_as_the_whole_message(aws: Account) -> None:
    raw = event_fixture("email", "calendar_invite.eml")
    send(mailgun.form_request(mailgun.signed(mailgun.mime_fields(raw))))

    [contact] = contacts_from_queue(aws.queued_bodies())
    assert [a.content_type for a in contact.content.attachments] == ["text/calendar", "application/ics"]


def test_multipart_posts_carry_attachments_and_content_ids(aws: Account) -> None:
    raw = event_fixture("email", "plain_text_crlf.eml")
    fields: list[tuple[str, str | bytes | FilePart]] = list(mailgun.signed(mailgun.parsed_fields(raw)))
    fields += [
        ("attachment-count", "1"),
        ("content-id-map", json.dumps({"<ii_photo1>": "attachment-1"})),
        ("attachment-1", FilePart("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0jpeg")),
    ]
    body, content_type = multipart_form(fields)
    send(SignedRequest("POST", mailgun.PATH, body, {"Content-Type": content_type}), base64_body=True)

    [contact] = contacts_from_queue(aws.queued_bodies())
    [photo] = contact.content.attachments
    assert (photo.name, photo.content_type, photo.content_id, photo.size) == ("photo.jpg", "image/jpeg", "ii_photo1", 8)


def test_a_wrong_signature_is_403_and_queues_nothing(aws: Account) -> None:
    raw = event_fixture("email", "alternative.eml")
    response = send(mailgun.form_request(mailgun.signed(mailgun.parsed_fields(raw), signing_key="not-the-key")))
    assert response["statusCode"] == 403
    assert json_body(response)["error"]["code"] == "invalid_signature"
    assert aws.queued_bodies() == []


def test_a_missing_signature_is_401(aws: Account) -> None:
    raw = event_fixture("email", "alternative.eml")
    assert send(mailgun.form_request(mailgun.parsed_fields(raw)))["statusCode"] == 401


@pytest.mark.parametrize("offset_s", [-301, 301, -3600])
def test_a_timestamp_more_than_five_minutes_off_is_refused(aws: Account, offset_s: int) -> None:
    raw = event_fixture("email", "alternative.eml")
    fields = mailgun.signed(mailgun.parsed_fields(raw), at=time.time() + offset_s)
    response = send(mailgun.form_request(fields))
    assert response["statusCode"] == 403
    assert "5 minutes" in json_body(response)["error"]["message"]


def test_a_timestamp_within_the_skew_is_accepted(aws: Account) -> None:
    raw = event_fixture("email", "alternative.eml")
    assert (
        send(mailgun.form_request(mailgun.signed(mailgun.parsed_fields(raw), at=time.time() - 240)))["statusCode"]
        == 200
    )


def test_a_signed_but_non_numeric_timestamp_is_403(aws: Account) -> None:
    fields = [("timestamp", "soon"), ("token", "t" * 50), ("signature", compute_signature(KEY, "soon", "t" * 50))]
    assert send(mailgun.form_request(fields))["statusCode"] == 403


def test_a_reused_token_is_refused(aws: Account) -> None:
    raw = event_fixture("email", "alternative.eml")
    signed = mailgun.form_request(mailgun.signed(mailgun.parsed_fields(raw)))

    assert send(signed)["statusCode"] == 200
    replay = send(signed)
    assert replay["statusCode"] == 403
    assert "already used" in json_body(replay)["error"]["message"]
    assert len(aws.queued_bodies()) == 1


def test_a_request_that_failed_to_queue_may_be_retried_with_its_token(
    aws: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = event_fixture("email", "alternative.eml")
    signed = mailgun.form_request(mailgun.signed(mailgun.parsed_fields(raw)))

    def refuse(messages: Any) -> None:
        raise QueueUnavailable("down")

    with monkeypatch.context() as queue_down:
        queue_down.setattr(get_ingest_queue(), "send", refuse)
        assert send(signed)["statusCode"] == 503
    assert send(signed)["statusCode"] == 200


def test_the_ledger_forgets_the_oldest_tokens_beyond_its_capacity() -> None:
    from tests.builders import sample_request

    ledger = TokenLedger(capacity=2)
    requests = [
        sample_request(mailgun.form_request([("token", f"t{index}"), ("timestamp", "1"), ("signature", "s")]))
        for index in range(3)
    ]
    for request in requests:
        ledger.remember(request)
    ledger.refuse_reused(requests[0])  # forgotten: no error
    with pytest.raises(Exception, match="already used"):
        ledger.refuse_reused(requests[2])


def test_an_unsupported_content_type_is_415(aws: Account) -> None:
    body = urlencode(mailgun.signed([("body-plain", "x")])).encode()
    assert send(SignedRequest("POST", mailgun.PATH, body, {"Content-Type": "text/plain"}))["statusCode"] == 415


def test_the_samples_are_accepted(aws: Account) -> None:
    for kind in (None, "mime"):
        assert (
            send(mailgun.build(SampleOptions(public_url="https://hooks.example.com", kind=kind)))["statusCode"] == 200
        )
    assert len(contacts_from_queue(aws.queued_bodies())) == 2


def test_body_mime_posted_to_the_plain_route_is_read_too(aws: Account) -> None:
    raw = event_fixture("email", "plain_text_crlf.eml")
    fields = mailgun.signed(mailgun.mime_fields(raw))
    signed = SignedRequest("POST", mailgun.PATH, urlencode(fields).encode(), mailgun.form_request(fields).headers)
    assert send(signed)["statusCode"] == 200
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.provider_message_id == "CAF3x9aQ1@mail.example.net"
