"""The two reply functions on moto: the Twilio status webhook (signature, errors) and the sender (its batch)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from functions.sender.handler import lambda_handler as sender_handler
from functions.twilio_status.handler import lambda_handler as status_handler
from shared import wiring
from shared.channels.twilio import compute_signature
from shared.model.delivery import ChangeConsent, ConsentChange, OutboundMessage, RetryLater, SendReply
from shared.replies.commands import ReplyRequest
from shared.wiring import get_contact_processor, get_replies, get_reply_store
from tests.builders import PUBLIC_URL, TWILIO_TOKEN, FakeContext, api_event, http_event, sms_contact
from tests.conftest import Account
from tests.fakes_replies import ScriptedCourier

PATH = "/webhooks/twilio/status"
CONTACT_ID = "01M900YKA4RE3X3EA3V34YQY0Y"


def status_event(form: list[tuple[str, str]], *, reply: str = CONTACT_ID, token: str = TWILIO_TOKEN) -> dict[str, Any]:
    query = {"reply": reply}
    signature = compute_signature(token, f"{PUBLIC_URL}{PATH}?{urlencode(query)}", form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return http_event("POST", PATH, body=urlencode(form), headers=headers, query=query)


def callback(status: str, **extra: str) -> list[tuple[str, str]]:
    return [("MessageSid", "SM" + "1" * 32), ("MessageStatus", status), ("To", "+14155550142"), *extra.items()]


def test_a_signed_status_callback_is_queued_as_a_report_for_its_reply(aws: Account) -> None:
    response = status_handler(status_event(callback("undelivered", ErrorCode="30003")), FakeContext())

    assert response["statusCode"] == 204
    (body,) = aws.outbound_bodies()
    report = json.loads(body)["work"]["report"]
    assert (report["contact_id"], report["status"], report["error"]["code"]) == (CONTACT_ID, "failed", "30003")


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (status_event(callback("delivered"), token="someone-elses-token"), 403),
        (status_event([("MessageSid", "SM1")]), 400),  # no MessageStatus
        (status_event(callback("delivered"), reply="../../etc"), 400),
    ],
)
def test_a_bad_callback_is_refused_with_a_json_error_and_nothing_is_queued(
    aws: Account, event: dict[str, Any], status: int
) -> None:
    response = status_handler(event, FakeContext())

    assert response["statusCode"] == status
    assert "error" in json.loads(response["body"])
    assert aws.outbound_bodies() == []


def test_a_status_about_no_delivery_is_acknowledged_and_dropped(aws: Account) -> None:
    assert status_handler(status_event(callback("received")), FakeContext())["statusCode"] == 204
    assert aws.outbound_bodies() == []


def outbound_event(messages: list[OutboundMessage | str]) -> dict[str, Any]:
    records = []
    for index, message in enumerate(messages):
        records.append(
            {
                "messageId": f"m-{index}",
                "receiptHandle": f"r-{index}",
                "body": message if isinstance(message, str) else message.body,
                "attributes": {"MessageGroupId": "g" if isinstance(message, str) else message.group_id},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:outbound.fifo",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def test_the_sender_delays_a_throttled_reply_by_retry_after_and_reports_it_failed_for_now(
    aws: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored reply, and a provider that answers 429 with Retry-After: 42
    inbound = sms_contact("SMin9", "+14155550178", at=datetime.now(UTC) - timedelta(minutes=1))
    get_contact_processor().process(inbound)
    case_id = get_reply_store().get_contact(inbound.contact_id).case_id  # type: ignore[union-attr]
    reply = get_replies().reply(str(case_id), ReplyRequest(text="Soon"), None)
    monkeypatch.setattr(wiring, "_courier", lambda provider: ScriptedCourier([RetryLater("HTTP 429", 42)]))
    delayed: list[tuple[str, int]] = []
    monkeypatch.setattr(wiring.get_outbound_queue(), "delay", lambda handle, seconds: delayed.append((handle, seconds)))
    message = OutboundMessage(work=SendReply(contact_id=reply.contact_id, case_id=str(case_id)))
    stop = ConsentChange(phone="+14155550179", opted_out=True, at=datetime.now(UTC), reason="STOP")

    # When the sender takes the batch, with a message that is not outbound work and a consent change beside it
    result = sender_handler(
        outbound_event([message, "not json", OutboundMessage(work=ChangeConsent(consent=stop))]), FakeContext()
    )

    # Then the reply is retried after 42 s, the unreadable one fails until the DLQ keeps it, the consent is applied
    assert {failure["itemIdentifier"] for failure in result["batchItemFailures"]} == {"m-0", "m-1"}
    assert get_reply_store().opted_out("+14155550179")
    assert delayed == [("r-0", 42)]
    stored = get_reply_store().get_reply(reply.contact_id)
    assert stored is not None
    assert stored.contact.delivery is not None
    assert stored.contact.delivery.status.value == "queued"


def reply_call(case_id: str, body: Any, key: str | None = None) -> tuple[int, dict[str, Any]]:
    from functions.api.handler import lambda_handler as api_handler

    event = api_event("POST", f"/v1/cases/{case_id}/replies", body=body)
    if key is not None:
        event["headers"]["idempotency-key"] = key
    response = api_handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def test_the_api_answers_202_and_every_refusal_with_a_json_error_never_a_500(aws: Account) -> None:
    inbound = sms_contact("SMin10", "+14155550180", at=datetime.now(UTC) - timedelta(minutes=1))
    get_contact_processor().process(inbound)
    case_id = str(get_reply_store().get_contact(inbound.contact_id).case_id)  # type: ignore[union-attr]

    accepted = reply_call(case_id, {"text": "On its way"}, key="k-1")
    retried = reply_call(case_id, {"text": "On its way"}, key="k-1")
    reused = reply_call(case_id, {"text": "Something else"}, key="k-1")
    unknown_case = reply_call("case_nothing", {"text": "hi"})
    bad_body = reply_call(case_id, {"text": "hi", "cc": "someone"})
    empty = reply_call(case_id, {})

    assert accepted[0] == 202
    assert accepted[1]["delivery"]["status"] == "queued"
    assert retried == accepted
    assert (reused[0], reused[1]["error"]["code"]) == (422, "idempotency_key_reused")
    assert (unknown_case[0], unknown_case[1]["error"]["code"]) == (404, "not_found")
    assert (bad_body[0], bad_body[1]["error"]["code"]) == (400, "invalid_request")
    assert (empty[0], empty[1]["error"]["code"]) == (422, "empty_reply")
    assert len(aws.outbound_bodies()) == 1  # the FIFO queue took the retried request's message once
