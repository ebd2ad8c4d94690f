"""Calls land on the caller's customer and case, and a withheld number matches no one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.processor.handler import lambda_handler as processor_handler
from functions.twilio_voice.handler import lambda_handler as voice_handler
from shared.ingest.message import ContactMessage
from shared.model.contact import LinkRule
from tests.builders import (
    FakeContext,
    contacts_from_queue,
    sms_contact,
    sqs_event,
    stored_contact,
    timeline_of,
    twilio_voice_event,
    voice_fixture,
)
from tests.conftest import Account

CALLER = "+14155550123"
T0 = datetime.now(UTC) - timedelta(hours=1)  # the incoming-call webhook carries no time: it is stamped on arrival


def deliver(aws: Account, *webhooks: tuple[dict[str, str], str | None]) -> None:
    """Webhooks through the voice function, then whatever it queued through the processor."""
    for form, event in webhooks:
        assert voice_handler(twilio_voice_event(form, event=event), FakeContext())["statusCode"] == 200
    messages = [ContactMessage(contact=c) for c in contacts_from_queue(aws.queued_bodies())]
    for message in messages:  # one at a time, as one FIFO group is processed
        processor_handler(sqs_event([message]), FakeContext())  # type: ignore[arg-type]


def text(sid: str, at: datetime, sender: str = CALLER) -> None:
    processor_handler(sqs_event([ContactMessage(contact=sms_contact(sid, sender, at=at))]), FakeContext())  # type: ignore[arg-type]


def test_call_from_a_number_that_texted_is_on_the_texts_case_while_it_rings(aws: Account) -> None:
    text("SM1", T0)
    deliver(aws, (voice_fixture("incoming.json"), None))

    sms, call = stored_contact("twilio", "SM1"), stored_contact("twilio", voice_fixture("incoming.json")["CallSid"])
    assert call.content.status == "ringing"
    assert call.customer_id == sms.customer_id is not None
    assert call.case_id == sms.case_id
    assert call.link is not None and call.link.rule is LinkRule.OPEN_CASE


def test_sms_after_a_call_from_the_same_number_joins_the_calls_customer_and_case(aws: Account) -> None:
    deliver(
        aws,
        (voice_fixture("incoming.json"), None),
        (voice_fixture("status_completed.json"), None),
        (voice_fixture("recording_completed.json"), "recording"),
        (voice_fixture("transcription_completed.json"), "transcription"),
    )
    text("SM2", datetime.now(UTC) + timedelta(minutes=5))

    call, sms = stored_contact("twilio", voice_fixture("incoming.json")["CallSid"]), stored_contact("twilio", "SM2")
    assert sms.customer_id == call.customer_id is not None
    assert sms.case_id == call.case_id
    assert call.content.status == "completed" and call.content.transcript
    timeline, _ = timeline_of(call.customer_id or "")
    assert [c.channel.value for c in timeline] == ["sms", "voice"]


def test_withheld_number_never_matches_anyone(aws: Account) -> None:
    # Given a customer on file, and two calls that withhold their numbers
    text("SM1", T0)
    first = voice_fixture("incoming_withheld.json", CallSid="CA" + "1" * 32)
    second = voice_fixture("incoming_withheld.json", CallSid="CA" + "2" * 32, From="anonymous", Caller="anonymous")
    deliver(aws, (first, None), (second, None))

    # Then each call is anonymous, on a case of its own
    calls = [stored_contact("twilio", form["CallSid"]) for form in (first, second)]
    assert [call.customer_id for call in calls] == [None, None]
    assert all(call.link is not None and call.link.rule is LinkRule.ANONYMOUS for call in calls)
    assert len({call.case_id for call in calls} | {stored_contact("twilio", "SM1").case_id}) == 3
    assert timeline_of(stored_contact("twilio", "SM1").customer_id or "")[0] == [stored_contact("twilio", "SM1")]
