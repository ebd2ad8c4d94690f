"""Replies through the real local stack: the provider sandboxes, their signed callbacks, the email round trip."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.integration.stack import LocalStack, unique_phone, unique_sid

pytestmark = pytest.mark.integration


def reply(stack: LocalStack, case_id: str, body: dict[str, Any], key: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", **stack.client.api_headers()}
    if key is not None:
        headers["Idempotency-Key"] = key
    result = stack.post(f"/v1/cases/{case_id}/replies", json.dumps(body).encode(), headers)
    return result.status, result.json()


def contact(stack: LocalStack, contact_id: str) -> dict[str, Any]:
    found = stack.api_get(f"/v1/contacts/{contact_id}")
    assert found.status == 200, found.text
    return dict(found.json())


def texted(stack: LocalStack, phone: str, text: str) -> str:
    """The customer texts us; answers their open case."""
    assert stack.send(stack.sample("twilio-sms", sender=phone, text=text, message_id=unique_sid())).status == 200
    stack.wait_idle()
    customer = stack.customer_of(phone)
    assert customer is not None
    return str(customer["active_case_id"])


def test_an_sms_reply_is_sent_once_and_its_delivery_comes_back_signed(stack: LocalStack) -> None:
    # Given a customer who texted
    phone = unique_phone()
    case_id = texted(stack, phone, "Where is my order?")

    # When an agent replies, and the CRM retries the same request
    key = f"agent-{uuid.uuid4()}"
    first_status, first = reply(stack, case_id, {"text": "It ships today."}, key)
    again_status, again = reply(stack, case_id, {"text": "It ships today."}, key)
    reused_status, reused = reply(stack, case_id, {"text": "Something else"}, key)
    stack.wait_idle()

    # Then one reply, one message sent, delivered (the sandbox's signed status callbacks reached us)
    assert (first_status, again_status) == (202, 202)
    assert again["contact_id"] == first["contact_id"]
    assert first["delivery"]["status"] == "queued"
    assert (reused_status, reused["error"]["code"]) == (422, "idempotency_key_reused")
    stored = contact(stack, first["contact_id"])
    assert stored["delivery"]["status"] == "delivered"
    assert stored["delivery"]["provider_message_id"].startswith("SM")
    sent = [m for m in stack.client.request("GET", "/_local/outbox").json()["items"] if m["to"] == phone]
    assert [m["text"] for m in sent] == ["It ships today."]
    timeline = stack.all_items(f"/v1/cases/{case_id}", key="contacts")
    assert [c["direction"] for c in timeline] == ["outbound", "inbound"]


def test_stop_refuses_replies_until_start(stack: LocalStack) -> None:
    phone = unique_phone()
    case_id = texted(stack, phone, "Hi")

    texted(stack, phone, "STOP")
    stopped, refused = reply(stack, case_id, {"text": "Are you there?"})
    texted(stack, phone, "start")
    started, _ = reply(stack, case_id, {"text": "Welcome back."})

    assert (stopped, refused["error"]["code"]) == (422, "recipient_opted_out")
    assert started == 202


def test_twilio_21610_fails_the_reply_and_opts_the_number_out(stack: LocalStack) -> None:
    phone = unique_phone()
    case_id = texted(stack, phone, "Hi")
    stack.post("/_sandbox/twilio/_control/unsubscribe", json.dumps({"number": phone}).encode())

    _, first = reply(stack, case_id, {"text": "Hello?"})
    stack.wait_idle()
    second_status, second = reply(stack, case_id, {"text": "Hello again?"})

    delivery = contact(stack, first["contact_id"])["delivery"]
    assert (delivery["status"], delivery["error"]["code"]) == ("failed", "21610")
    assert (second_status, second["error"]["code"]) == (422, "recipient_opted_out")


def test_a_throttled_reply_waits_for_retry_after_then_goes_out_once(stack: LocalStack) -> None:
    phone = unique_phone()
    case_id = texted(stack, phone, "Hi")
    throttle = {"status": 429, "count": 1, "retry_after": 1}
    stack.post("/_sandbox/twilio/_control/fail_next", json.dumps(throttle).encode())

    _, queued = reply(stack, case_id, {"text": "Coming up"})
    stack.wait_idle()

    delivery = contact(stack, queued["contact_id"])["delivery"]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)
    sent = [m for m in stack.client.request("GET", "/_local/outbox").json()["items"] if m["to"] == phone]
    assert len(sent) == 1


def test_a_call_has_no_text_reply(stack: LocalStack) -> None:
    phone = unique_phone()
    assert stack.send(stack.sample("twilio-voice", sender=phone)).status == 200
    stack.wait_idle()
    customer = stack.customer_of(phone)
    assert customer is not None

    status, body = reply(stack, customer["active_case_id"], {"text": "hi"})

    assert (status, body["error"]["code"]) == (422, "channel_not_textual")


def test_the_customers_answer_to_our_email_threads_back_to_the_case(stack: LocalStack) -> None:
    # Given a customer's email, our reply through SES, and the case closed afterwards
    address = f"ann.{uuid.uuid4().hex[:12]}@example.org"
    assert stack.send(stack.sample("ses-email", sender=address, text="My order has not arrived")).status == 200
    stack.wait_idle()
    customer = stack.api_get("/v1/customers", identifier=f"email:{address}").json()["items"][0]
    case_id = customer["active_case_id"]
    status, ours = reply(stack, case_id, {"text": "It ships today."})
    stack.wait_idle()
    assert status == 202
    assert stack.post(f"/v1/cases/{case_id}/close", b"", stack.client.api_headers()).status == 200

    # When she answers our message (In-Reply-To our Message-ID)
    message_id = ours["thread"]["message_id"]
    answer = stack.sample("ses-email", sender=address, text="Thanks!", in_reply_to=message_id)
    assert stack.send(answer).status == 200
    stack.wait_idle()

    # Then the answer is on the same case, linked by the thread key, though the case was closed
    sent = contact(stack, ours["contact_id"])
    assert sent["delivery"]["status"] == "sent"
    assert sent["thread"]["subject"].startswith("Re: My order has not arrived [TL-")
    timeline = stack.all_items(f"/v1/cases/{case_id}", key="contacts")
    (answered,) = [c for c in timeline if c["direction"] == "inbound" and c["content"]["text"] == "Thanks!"]
    assert answered["link"]["rule"] == "thread"
    emails = [m for m in stack.client.request("GET", "/_local/outbox").json()["items"] if m["to"] == address]
    assert len(emails) == 1
