"""Calls and more SMS through the real local stack: Twilio Voice over HTTP, Connect and EUM injected."""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.integration.stack import REPO, LocalStack, unique_phone, unique_sid

pytestmark = pytest.mark.integration

EVENTS = REPO / "tests" / "events"


def fixture(path: str, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((EVENTS / path).read_text(encoding="utf-8"))
    return {**payload, **changes}


def call_sid() -> str:
    return "CA" + uuid.uuid4().hex


def ring(stack: LocalStack, kind: str, sid: str, phone: str, text: str = "Where is my order?") -> ET.Element:
    response = stack.send(stack.sample("twilio-voice", kind=kind, message_id=sid, sender=phone, text=text))
    assert response.status == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    return ET.fromstring(response.body)  # noqa: S314 - the stack's own TwiML, parsed to prove it is well-formed


def only_contact(stack: LocalStack, provider: str, message_id: str) -> dict[str, Any]:
    found = stack.api_get("/v1/contacts", provider=provider, provider_message_id=message_id)
    assert found.status == 200, found.text
    (contact,) = found.json()["items"]
    return contact  # type: ignore[no-any-return]


def test_a_call_and_a_later_sms_from_one_number_are_one_customer_on_one_case(stack: LocalStack) -> None:
    phone, sid = unique_phone(), call_sid()
    twiml = ring(stack, "incoming", sid, phone)
    assert [element.tag for element in twiml] == ["Say", "Record"]
    assert twiml[1].attrib["recordingStatusCallback"].startswith(stack.url + "/webhooks/twilio/voice?event=")
    for kind in ("status", "recording", "transcription"):
        assert list(ring(stack, kind, sid, phone, text="It is order 4417.")) == []
    assert stack.send(stack.sample("twilio-sms", sender=phone, text="Any news?")).status == 200
    stack.wait_idle()

    customer = stack.customer_of(phone)
    assert customer is not None
    timeline = stack.all_items(f"/v1/customers/{customer['customer_id']}/timeline")
    assert sorted(contact["channel"] for contact in timeline) == ["sms", "voice"]
    assert len({contact["case_id"] for contact in timeline}) == 1
    call = only_contact(stack, "twilio", sid)
    assert call["content"]["status"] == "completed"
    assert call["content"]["duration_s"] == 47
    assert call["content"]["transcript"] == "It is order 4417."
    assert call["content"]["recording_url"].endswith("/Recordings/RE" + sid[2:])


def test_callbacks_out_of_order_and_twice_fill_in_one_call(stack: LocalStack) -> None:
    phone, sid = unique_phone(), call_sid()
    for kind in ("transcription", "recording", "status", "incoming", "status", "recording"):
        ring(stack, kind, sid, phone, text="Please call me back.")
    stack.wait_idle()

    call = only_contact(stack, "twilio", sid)
    assert (call["content"]["status"], call["content"]["transcript"]) == ("completed", "Please call me back.")
    assert call["content"]["recording_duration_s"] == 31
    customer = stack.customer_of(phone)
    assert customer is not None and call["customer_id"] == customer["customer_id"]
    assert len(stack.all_items(f"/v1/customers/{customer['customer_id']}/timeline")) == 1


def test_a_withheld_number_matches_no_one(stack: LocalStack) -> None:
    phone, sid = unique_phone(), call_sid()
    assert stack.send(stack.sample("twilio-sms", sender=phone, text="Hello")).status == 200
    ring(stack, "withheld", sid, phone)
    stack.wait_idle()

    call = only_contact(stack, "twilio", sid)
    assert call["customer_id"] is None
    assert call["link"]["rule"] == "anonymous"
    customer = stack.customer_of(phone)
    assert customer is not None
    assert call["case_id"] not in {
        case["case_id"] for case in stack.all_items(f"/v1/customers/{customer['customer_id']}/cases")
    }


def test_connect_transfer_threads_onto_the_first_contacts_case(stack: LocalStack) -> None:
    phone, first_id, transfer_id = unique_phone(), str(uuid.uuid4()), str(uuid.uuid4())
    endpoint = {"Address": phone, "Type": "TELEPHONE_NUMBER"}
    first = fixture("connect/voice_inbound.json", ContactId=first_id, CustomerEndpoint=endpoint, Attributes={})
    transfer = fixture(
        "connect/voice_transfer.json",
        ContactId=transfer_id,
        InitialContactId=first_id,
        PreviousContactId=first_id,
        CustomerEndpoint=endpoint,
    )
    assert stack.inject("connect_stream", first).status == 200
    stack.wait_idle()
    assert stack.inject("connect_stream", transfer).status == 200
    stack.wait_idle()

    stored_first, stored_transfer = (
        only_contact(stack, "connect", first_id),
        only_contact(stack, "connect", transfer_id),
    )
    assert stored_transfer["case_id"] == stored_first["case_id"]
    assert stored_transfer["link"]["rule"] == "thread"


def test_connect_redelivery_keeps_one_contact_with_the_newest_copy(stack: LocalStack) -> None:
    phone, contact_id = unique_phone(), str(uuid.uuid4())
    endpoint = {"Address": phone, "Type": "TELEPHONE_NUMBER"}
    newer = fixture("connect/voice_inbound_after_contact_work.json", ContactId=contact_id, CustomerEndpoint=endpoint)
    older = fixture("connect/voice_inbound.json", ContactId=contact_id, CustomerEndpoint=endpoint)
    for record in (newer, older, newer):
        assert stack.inject("connect_stream", record).status == 200
        stack.wait_idle()

    contact = only_contact(stack, "connect", contact_id)
    assert contact["revision"]["updated_at"].startswith("2026-11-03T14:12:30")
    assert contact["content"]["recording_url"].startswith("s3://")


def test_eum_sms_and_twilio_sms_from_one_number_are_one_customer(stack: LocalStack) -> None:
    phone, message_id = unique_phone(), str(uuid.uuid4())
    message = fixture("eum/inbound_sms.json", originationNumber=phone, inboundMessageId=message_id)
    assert stack.inject("eum_sms_topic", message).status == 200
    assert stack.send(stack.sample("twilio-sms", sender=phone, message_id=unique_sid())).status == 200
    stack.wait_idle()

    customer = stack.customer_of(phone)
    assert customer is not None
    timeline = stack.all_items(f"/v1/customers/{customer['customer_id']}/timeline")
    assert sorted(contact["provider"] for contact in timeline) == ["eum", "twilio"]
    assert len({contact["case_id"] for contact in timeline}) == 1
