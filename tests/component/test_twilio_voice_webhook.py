"""The Twilio Voice webhook: signature, TwiML, every callback type and the error contract."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest

from functions.twilio_voice.handler import lambda_handler
from shared.ingest.message import ContactMessage
from shared.model.contact import Assurance, Channel, Contact, Direction, Provider
from tests.builders import (
    FakeContext,
    contacts_from_queue,
    json_body,
    twilio_voice_event,
    voice_fixture,
)
from tests.conftest import Account, clear_factories

CALL_SID = "CA5d1e9b7c3a2f4e6d8c0b1a2f3e4d5c6b"
ROUTE = "https://hooks.example.com/webhooks/twilio/voice"


def twiml(response: dict[str, object]) -> ET.Element:
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/xml"  # type: ignore[index]
    body = str(response["body"])
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(body)  # noqa: S314 - our own output, parsed to prove it is well-formed
    assert root.tag == "Response"
    return root


def queued_one(aws: Account) -> Contact:
    [contact] = contacts_from_queue(aws.queued_bodies())
    return contact


def test_ringing_call_is_queued_at_once_and_answered_with_greeting_and_transcribed_recording(aws: Account) -> None:
    root = twiml(lambda_handler(twilio_voice_event(voice_fixture("incoming.json")), FakeContext()))

    say, record = list(root)
    assert say.tag == "Say" and "leave a message" in (say.text or "")
    assert record.tag == "Record"
    assert record.attrib["transcribe"] == "true"
    assert record.attrib["maxLength"] == "120"
    callbacks = {name: record.attrib[name] for name in ("action", "recordingStatusCallback", "transcribeCallback")}
    for url in callbacks.values():
        assert url.startswith(ROUTE + "?")
    assert {name: parse_qs(urlsplit(url).query)["event"] for name, url in callbacks.items()} == {
        "action": ["recorded"],
        "recordingStatusCallback": ["recording"],
        "transcribeCallback": ["transcription"],
    }
    contact = queued_one(aws)
    assert (contact.channel, contact.provider, contact.direction) == (Channel.VOICE, Provider.TWILIO, Direction.INBOUND)
    assert contact.provider_message_id == CALL_SID
    assert contact.thread.call_id == CALL_SID
    assert contact.content.status == "ringing"
    assert contact.sender.identifiers[0].value == "+14155550123"
    assert contact.sender.display_name == "ALEX RIVERA"
    assert contact.revision is not None and not contact.revision.partial


def test_full_stir_shaken_attestation_makes_the_caller_id_channel_grade(aws: Account) -> None:
    lambda_handler(twilio_voice_event(voice_fixture("incoming.json")), FakeContext())
    assert queued_one(aws).sender.identifiers[0].assurance is Assurance.CHANNEL


@pytest.mark.parametrize("verstat", ["TN-Validation-Passed-B", "TN-Validation-Passed-C", "No-TN-Validation", None])
def test_caller_id_without_full_attestation_is_weak(aws: Account, verstat: str | None) -> None:
    form = voice_fixture("incoming.json")
    form.pop("StirVerstat")
    if verstat:
        form["StirVerstat"] = verstat
    lambda_handler(twilio_voice_event(form), FakeContext())
    assert queued_one(aws).sender.identifiers[0].assurance is Assurance.WEAK


@pytest.mark.parametrize("caller", ["+266696687", "anonymous", "Restricted", "unknown"])
def test_withheld_caller_id_yields_an_anonymous_sender(aws: Account, caller: str) -> None:
    form = voice_fixture("incoming_withheld.json", From=caller, Caller=caller)
    lambda_handler(twilio_voice_event(form), FakeContext())

    contact = queued_one(aws)
    assert contact.sender.identifiers == ()
    assert contact.customer_party.primary is None


def test_dial_mode_connects_the_call_to_the_configured_number(aws: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_VOICE_MODE", "dial")
    monkeypatch.setenv("THREADLINE_VOICE_DIAL_NUMBER", "+14155550100")
    clear_factories()
    root = twiml(lambda_handler(twilio_voice_event(voice_fixture("incoming.json")), FakeContext()))

    [dial] = list(root)
    assert (dial.tag, dial.text) == ("Dial", "+14155550100")
    assert queued_one(aws).content.status == "ringing"


def test_greeting_with_markup_characters_is_escaped_into_valid_twiml(
    aws: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    greeting = 'Thanks for calling Smith & Sons <support> "team"; leave a message.'
    monkeypatch.setenv("THREADLINE_VOICE_GREETING", greeting)
    clear_factories()
    root = twiml(lambda_handler(twilio_voice_event(voice_fixture("incoming.json")), FakeContext()))
    assert root[0].text == greeting


@pytest.mark.parametrize(
    ("fixture", "event"),
    [
        ("status_ringing.json", None),
        ("status_in_progress.json", None),
        ("status_completed.json", None),
        ("status_no_answer.json", None),
        ("recording_completed.json", "recording"),
        ("recording_completed.json", None),
        ("transcription_completed.json", "transcription"),
        ("transcription_completed.json", None),
    ],
)
def test_callbacks_are_queued_as_updates_and_answered_with_empty_twiml(
    aws: Account, fixture: str, event: str | None
) -> None:
    root = twiml(lambda_handler(twilio_voice_event(voice_fixture(fixture), event=event), FakeContext()))

    assert list(root) == []
    contact = queued_one(aws)
    assert contact.provider_message_id == CALL_SID
    assert contact.revision is not None


def test_status_callback_carries_status_duration_and_its_own_time(aws: Account) -> None:
    lambda_handler(twilio_voice_event(voice_fixture("status_completed.json")), FakeContext())

    contact = queued_one(aws)
    assert (contact.content.status, contact.content.duration_s) == ("completed", 47)
    assert contact.occurred_at.isoformat() == "2026-11-02T09:00:51+00:00"


def test_recording_callback_names_no_party_and_is_marked_partial(aws: Account) -> None:
    lambda_handler(twilio_voice_event(voice_fixture("recording_completed.json"), event="recording"), FakeContext())

    contact = queued_one(aws)
    assert contact.revision is not None and contact.revision.partial
    assert contact.sender.identifiers == contact.recipient.identifiers == ()
    assert contact.content.recording_url is not None
    assert contact.content.recording_url.endswith("/Recordings/RE9f8e7d6c5b4a39281706f5e4d3c2b1a0")
    assert contact.content.recording_duration_s == 31


def test_transcription_callback_carries_the_transcript(aws: Account) -> None:
    lambda_handler(
        twilio_voice_event(voice_fixture("transcription_completed.json"), event="transcription"), FakeContext()
    )
    assert "order 4417" in (queued_one(aws).content.transcript or "")


def test_failed_transcription_carries_no_transcript(aws: Account) -> None:
    form = voice_fixture("transcription_completed.json", TranscriptionStatus="failed", TranscriptionText="")
    lambda_handler(twilio_voice_event(form, event="transcription"), FakeContext())
    assert queued_one(aws).content.transcript is None


def test_end_of_the_message_hangs_up(aws: Account) -> None:
    root = twiml(
        lambda_handler(twilio_voice_event(voice_fixture("recorded_action.json"), event="recorded"), FakeContext())
    )

    assert [element.tag for element in root] == ["Hangup"]
    assert queued_one(aws).content.recording_url is not None


def test_unknown_callback_event_is_acknowledged_and_stores_nothing(aws: Account) -> None:
    root = twiml(lambda_handler(twilio_voice_event(voice_fixture("status_completed.json"), event="amd"), FakeContext()))
    assert list(root) == []
    assert aws.queued_bodies() == []


def test_each_callback_of_a_call_has_its_own_dedupe_id_and_a_retry_shares_it(aws: Account) -> None:
    fixtures = [("incoming.json", None), ("status_ringing.json", None), ("status_completed.json", None)]
    fixtures += [("recording_completed.json", "recording"), ("transcription_completed.json", "transcription")]
    for fixture, event in [*fixtures, fixtures[2]]:
        lambda_handler(twilio_voice_event(voice_fixture(fixture), event=event), FakeContext())

    # The FIFO queue dropped the retried completed callback, and only that one.
    contacts = contacts_from_queue(aws.queued_bodies())
    assert len(contacts) == len(fixtures)
    assert len({ContactMessage(contact=c).deduplication_id for c in contacts}) == len(fixtures)


def test_wrong_signature_is_403_and_queues_nothing(aws: Account) -> None:
    response = lambda_handler(twilio_voice_event(voice_fixture("incoming.json"), token="wrong"), FakeContext())
    assert response["statusCode"] == 403
    assert aws.queued_bodies() == []


def test_signature_covers_the_callback_event_query(aws: Account) -> None:
    event = twilio_voice_event(voice_fixture("status_completed.json"), event="recording")
    event["rawQueryString"] = "event=transcription"
    event["queryStringParameters"] = {"event": "transcription"}
    assert lambda_handler(event, FakeContext())["statusCode"] == 403


@pytest.mark.parametrize("missing", ["CallSid", "From", "To"])
def test_missing_call_fields_are_400_naming_the_field(aws: Account, missing: str) -> None:
    form = {name: value for name, value in voice_fixture("incoming.json").items() if name != missing}
    response = lambda_handler(twilio_voice_event(form), FakeContext())

    assert response["statusCode"] == 400
    assert missing in json_body(response)["error"]["message"]
    assert aws.queued_bodies() == []


@pytest.mark.parametrize(("field", "value"), [("CallDuration", "forty"), ("Timestamp", "yesterday at noon")])
def test_malformed_callback_values_are_400_naming_the_field_not_the_value(aws: Account, field: str, value: str) -> None:
    form = voice_fixture("status_completed.json", **{field: value})
    response = lambda_handler(twilio_voice_event(form), FakeContext())

    assert response["statusCode"] == 400
    message = json_body(response)["error"]["message"]
    assert field in message and value not in message
