"""The Twilio SMS webhook: signature, parsing, queueing and the error contract."""

from __future__ import annotations

import pytest

from functions.twilio_sms.handler import lambda_handler
from shared.channels.twilio import compute_signature
from shared.model.contact import Channel, IdentifierKind
from tests.builders import FakeContext, contacts_from_queue, json_body, sms_form, twilio_form_event
from tests.conftest import Account, clear_factories

PATH = "/webhooks/twilio/sms"


def test_signature_matches_twilio_python_test_vector() -> None:
    # Given the request of twilio-python's own RequestValidator test
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
        ("Caller", "+14158675309"),
    ]
    # When we sign it with the same token, Then we get the SDK's expected signature
    assert compute_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == (
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )


def test_repeated_keys_sign_like_twilio_python() -> None:
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert compute_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == (
        "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    )


def test_sms_is_queued_and_answered_with_empty_twiml(aws: Account) -> None:
    response = lambda_handler(twilio_form_event(PATH, sms_form("SM1", body="My order is late")), FakeContext())

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/xml"
    assert "<Response></Response>" in response["body"]
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.channel is Channel.SMS
    assert contact.provider_message_id == "SM1"
    assert contact.sender.identifiers[0].value == "+14155550123"
    assert contact.content.text == "My order is late"


def test_mms_with_two_media_keeps_both_attachments(aws: Account) -> None:
    media = [
        ("https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME1", "image/jpeg"),
        ("https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME2", "application/pdf"),
    ]
    lambda_handler(twilio_form_event(PATH, sms_form("MM1", body="", media=media)), FakeContext())

    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.channel is Channel.MMS
    assert contact.content.text is None
    assert [a.content_type for a in contact.content.attachments] == ["image/jpeg", "application/pdf"]
    assert [a.type.value for a in contact.content.attachments] == ["image", "file"]


def test_whatsapp_through_twilio_yields_wa_id_and_phone(aws: Account) -> None:
    lambda_handler(
        twilio_form_event(PATH, sms_form("SM2", sender="whatsapp:+14155550123", to="whatsapp:+14155559999")),
        FakeContext(),
    )
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.channel is Channel.WHATSAPP
    assert [i.kind for i in contact.sender.identifiers] == [IdentifierKind.WHATSAPP, IdentifierKind.PHONE]


def test_wrong_signature_is_403_and_queues_nothing(aws: Account) -> None:
    event = twilio_form_event(PATH, sms_form("SM3"), token="not-the-token")
    response = lambda_handler(event, FakeContext())

    assert response["statusCode"] == 403
    assert json_body(response)["error"]["code"] == "invalid_signature"
    assert aws.queued_bodies() == []


def test_missing_signature_is_401(aws: Account) -> None:
    event = twilio_form_event(PATH, sms_form("SM4"), signature="")
    assert lambda_handler(event, FakeContext())["statusCode"] == 401


@pytest.mark.parametrize("missing", ["MessageSid", "From", "To"])
def test_missing_fields_are_400_naming_the_field(aws: Account, missing: str) -> None:
    form = [(k, v) for k, v in sms_form("SM5") if k != missing and not (missing == "MessageSid" and k == "SmsSid")]
    response = lambda_handler(twilio_form_event(PATH, form), FakeContext())

    assert response["statusCode"] == 400
    assert missing in json_body(response)["error"]["message"]
    assert aws.queued_bodies() == []


def test_oversized_sid_is_400_not_500(aws: Account) -> None:
    response = lambda_handler(twilio_form_event(PATH, sms_form("SM" + "x" * 600)), FakeContext())
    assert response["statusCode"] == 400
    assert "provider_message_id" in json_body(response)["error"]["message"]


def test_body_over_the_limit_is_413(aws: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_MAX_BODY_BYTES", "100")
    clear_factories()
    response = lambda_handler(twilio_form_event(PATH, sms_form("SM6", body="x" * 200)), FakeContext())
    assert response["statusCode"] == 413


def test_json_body_is_415(aws: Account) -> None:
    event = twilio_form_event(PATH, sms_form("SM7"))
    event["headers"]["content-type"] = "application/json"
    assert lambda_handler(event, FakeContext())["statusCode"] == 415
