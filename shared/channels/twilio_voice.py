"""Twilio Voice → contacts, and the TwiML that answers a call.

One call brings several webhooks to one route: the incoming call (answered with
TwiML while the phone rings), then status, recording and transcription
callbacks, in any order and sometimes twice. Each becomes a report about the
call: a `Contact` keyed by CallSid with a `Revision` saying what it reports. The
processor folds the reports into one contact (`shared.linking.calls`), so the case is
known from the first ring and the recording and transcript fill in later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Literal
from urllib.parse import urlencode
from xml.etree.ElementTree import Element, SubElement, tostring

from shared.channels.phone import phone_party
from shared.channels.twilio import required
from shared.config import Settings
from shared.ingest.errors import MalformedPayload
from shared.ingest.request import WebhookRequest
from shared.model import minted
from shared.model.contact import (
    Assurance,
    Channel,
    Contact,
    Content,
    Direction,
    Party,
    Provider,
    Revision,
    Thread,
)

PATH = "/webhooks/twilio/voice"
EVENT_PARAMETER = "event"  # on the callback URLs our TwiML hands Twilio, so each callback says what it is
FULL_ATTESTATION = "TN-Validation-Passed-A"  # STIR/SHAKEN A: the carrier vouches for the caller id
MAX_RECORDING_S = 120  # Twilio transcribes recordings of at most two minutes
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


class VoiceEvent(StrEnum):
    INCOMING = "incoming"  # the number's voice URL: the call rings and waits for TwiML
    STATUS = "status"  # status callback: ringing, in-progress, completed, busy, no-answer, failed, canceled
    RECORDING = "recording"  # recordingStatusCallback of <Record>
    RECORDED = "recorded"  # the <Record> action: the message is over, answer with <Hangup/>
    TRANSCRIPTION = "transcription"  # transcribeCallback of <Record>
    UNHANDLED = "unhandled"  # acknowledged, stored nowhere


def classify(request: WebhookRequest) -> VoiceEvent:
    """Callback URLs we generate name their event; the number's own URLs are told apart by their fields."""
    named = request.query.get(EVENT_PARAMETER)
    if named is not None:
        try:
            return VoiceEvent(named)
        except ValueError:
            return VoiceEvent.UNHANDLED
    form = request.form
    if form.get("TranscriptionSid"):
        return VoiceEvent.TRANSCRIPTION
    if form.get("RecordingSid") or form.get("RecordingStatus"):
        return VoiceEvent.RECORDING
    if form.get("CallbackSource") == "call-progress-events" or form.get("CallDuration"):
        return VoiceEvent.STATUS
    return VoiceEvent.INCOMING


def parse(request: WebhookRequest, event: VoiceEvent, *, default_region: str) -> list[Contact]:
    """The report this webhook makes about its call: one contact keyed by CallSid, or none."""
    if event is VoiceEvent.UNHANDLED:
        return []
    form = request.form
    (call_sid,) = required(form, "CallSid")
    # A recording status callback names neither party: it can fill a call in, never find a customer.
    partial = not form.get("From", "").strip() and not form.get("To", "").strip()
    caller, callee = ("", "") if partial else required(form, "From", "To")
    inbound = form.get("Direction", "inbound").startswith("inbound")
    occurred_at = _event_time(form, event) or request.received_at
    return [
        Contact(
            contact_id=minted.contact_id(Provider.TWILIO.value, call_sid, occurred_at),
            channel=Channel.VOICE,
            provider=Provider.TWILIO,
            direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
            provider_message_id=call_sid,
            occurred_at=occurred_at,
            received_at=request.received_at,
            sender=_caller(caller, form, default_region),
            recipient=phone_party(callee, Assurance.CHANNEL, default_region),
            thread=Thread(call_id=call_sid, initial_contact_id=form.get("ParentCallSid") or None),
            content=_content(form, event),
            revision=Revision(key=_revision_key(form, event)[:256], partial=partial),
        )
    ]


def _caller(number: str, form: dict[str, str], default_region: str) -> Party:
    """Caller id is weak evidence, unless the carrier gave it full STIR/SHAKEN attestation."""
    assurance = Assurance.CHANNEL if form.get("StirVerstat") == FULL_ATTESTATION else Assurance.WEAK
    return phone_party(number, assurance, default_region, display_name=form.get("CallerName"))


def _content(form: dict[str, str], event: VoiceEvent) -> Content:
    transcribed = event is VoiceEvent.TRANSCRIPTION and form.get("TranscriptionStatus") == "completed"
    return Content(
        status=form.get("CallStatus") or None,
        duration_s=_seconds(form, "CallDuration"),
        recording_url=form.get("RecordingUrl") or None,
        recording_duration_s=_seconds(form, "RecordingDuration"),
        transcript=form.get("TranscriptionText") or None if transcribed else None,
    )


def _revision_key(form: dict[str, str], event: VoiceEvent) -> str:
    """What this report says: different callbacks of one call differ, a retried callback does not."""
    parts: dict[VoiceEvent, tuple[str, ...]] = {
        VoiceEvent.INCOMING: ("CallStatus",),
        VoiceEvent.STATUS: ("CallStatus", "SequenceNumber"),
        VoiceEvent.RECORDING: ("RecordingSid", "RecordingStatus"),
        VoiceEvent.RECORDED: ("RecordingSid",),
        VoiceEvent.TRANSCRIPTION: ("TranscriptionSid", "TranscriptionStatus"),
    }
    return ":".join([event.value, *(form.get(name, "") for name in parts[event])])


def _seconds(form: dict[str, str], name: str) -> int | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError as error:
        raise MalformedPayload(f"{name} is not a whole number of seconds") from error
    return value if value >= 0 else None  # Twilio reports -1 while a recording is unfinished


def _event_time(form: dict[str, str], event: VoiceEvent) -> datetime | None:
    """Status and recording callbacks say when (RFC 2822); the others are as old as their arrival."""
    name = {VoiceEvent.STATUS: "Timestamp", VoiceEvent.RECORDING: "RecordingStartTime"}.get(event)
    raw = form.get(name, "").strip() if name else ""
    if not raw:
        return None
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError) as error:
        raise MalformedPayload(f"{name} is not an RFC 2822 date") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class VoiceScript:
    """How calls are answered (THREADLINE_VOICE_*), and the absolute URL of this route for callbacks."""

    mode: Literal["record", "dial"]
    greeting: str
    dial_number: str | None
    route_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> VoiceScript:
        return cls(settings.voice_mode, settings.voice_greeting, settings.voice_dial_number, settings.public_url + PATH)

    def callback(self, event: VoiceEvent) -> str:
        return f"{self.route_url}?{urlencode({EVENT_PARAMETER: event.value})}"


def answer(event: VoiceEvent, script: VoiceScript) -> str:
    """TwiML for the webhook: the call's instructions when it rings, a hang-up after the message, else empty.

    ElementTree escapes every text and attribute, so a greeting with `&` or `<` stays valid XML.
    """
    response = Element("Response")
    if event is VoiceEvent.INCOMING and script.mode == "dial":
        SubElement(response, "Dial").text = script.dial_number
    elif event is VoiceEvent.INCOMING:
        SubElement(response, "Say").text = script.greeting
        SubElement(
            response,
            "Record",
            {
                "action": script.callback(VoiceEvent.RECORDED),
                "maxLength": str(MAX_RECORDING_S),
                "playBeep": "true",
                "transcribe": "true",
                "transcribeCallback": script.callback(VoiceEvent.TRANSCRIPTION),
                "recordingStatusCallback": script.callback(VoiceEvent.RECORDING),
            },
        )
    elif event is VoiceEvent.RECORDED:
        SubElement(response, "Hangup")
    return XML_DECLARATION + tostring(response, encoding="unicode")
