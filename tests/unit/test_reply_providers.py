"""What we send each provider, checked against its SDK (Twilio) or its documented shape (Graph, X, SES)."""

from __future__ import annotations

import base64
import email
import json
import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from shared.model import identifiers
from shared.model.contact import (
    Assurance,
    Channel,
    Content,
    Delivery,
    DeliveryStatus,
    IdentifierKind,
    Party,
    Provider,
    SendPolicy,
    Template,
    Thread,
    Visibility,
)
from shared.model.delivery import Accepted, Refused, RetryLater, Unknown
from shared.model.failures import ProviderNoAnswer, ProviderUnreachable
from shared.replies.couriers import RestCourier, retry_after_s
from shared.replies.providers.email import raw_reply
from shared.replies.providers.meta import MetaMessages, page_tokens
from shared.replies.providers.twilio import TwilioMessages
from shared.replies.providers.x import XMessages
from tests.fakes_replies import REPLY_TIME, outbound, phone_party

NOW = REPLY_TIME


class TwilioSdkCapture:
    """twilio-python's HttpClient seam: records the request the SDK builds instead of sending it."""

    def __new__(cls) -> Any:
        from twilio.http import HttpClient
        from twilio.http.response import Response

        class Capture(HttpClient):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__(logging.getLogger("twilio-capture"), False)
                self.seen: dict[str, Any] = {}

            def request(self, method: str, url: str, **kwargs: Any) -> Response:
                self.seen = {"method": method, "url": url, **kwargs}
                return Response(201, '{"sid": "SM123", "status": "queued"}')

        return Capture()


def test_our_twilio_request_is_the_one_the_twilio_sdk_builds() -> None:
    from twilio.rest import Client

    # Given an MMS reply
    contact = outbound(
        Channel.MMS,
        Provider.TWILIO,
        phone_party("+14155550100"),
        phone_party("+14155550142"),
        content=Content(
            text="Here is your label",
            attachments=(),
        ),
    )
    contact = contact.model_copy(
        update={"content": contact.content.model_copy(update={"attachments": _media("https://cdn.example.com/l.png")})}
    )
    twilio = TwilioMessages("https://api.twilio.com", lambda: "AC123", lambda: "token", "https://hooks.example.com")

    # When we build it, and the SDK builds the same message
    ours = twilio.request(contact, NOW)
    capture = TwilioSdkCapture()
    Client("AC123", "token", http_client=capture).messages.create(
        to="+14155550142",
        from_="+14155550100",
        body="Here is your label",
        media_url=["https://cdn.example.com/l.png"],
        status_callback=f"https://hooks.example.com/webhooks/twilio/status?reply={contact.contact_id}",
    )
    sdk = capture.seen

    # Then method, URL, form fields and credentials agree
    assert (ours.method, ours.url) == (sdk["method"], sdk["url"])
    ours_form = {
        name: values if len(values) > 1 or name == "MediaUrl" else values[0]
        for name, values in parse_qs(ours.body.decode()).items()
    }
    assert ours_form == sdk["data"]
    assert ours.headers["Content-Type"] == sdk["headers"]["Content-Type"]
    assert base64.b64decode(ours.headers["Authorization"].removeprefix("Basic ")).decode() == ":".join(sdk["auth"])


def _media(url: str) -> tuple[Any, ...]:
    from shared.model.contact import Attachment, AttachmentType

    return (Attachment(type=AttachmentType.FILE, url=url),)


def test_twilio_21610_is_an_opt_out_and_20429_a_retry() -> None:
    body = {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "more_info": "...", "status": 400}

    refused = TwilioMessages.refusal(400, json.dumps(body).encode(), 30)
    throttled = TwilioMessages.refusal(429 - 29, json.dumps({"code": 20429}).encode(), 12)

    assert isinstance(refused, Refused)
    assert refused.opted_out
    assert refused.error.code == "21610"
    assert throttled == RetryLater("Twilio 20429 too many requests", 12)


def test_messenger_inside_24_hours_is_a_response_and_later_a_human_agent_tag() -> None:
    customer = Party(identifiers=(identifiers.page_scoped(IdentifierKind.MESSENGER, "1001", "77"),))
    meta = MetaMessages("https://graph.facebook.com", "v21.0", lambda: page_tokens("1001=page-token"), lambda: "")

    def body(policy: SendPolicy) -> dict[str, Any]:
        delivery = Delivery(status=DeliveryStatus.SENDING, updated_at=NOW, policy=policy)
        contact = outbound(
            Channel.MESSENGER,
            Provider.META,
            Party(handle="1001"),
            customer,
            content=Content(text="Hi"),
            delivery=delivery,
        )
        request = meta.request(contact, NOW)
        assert request.url == "https://graph.facebook.com/v21.0/1001/messages"
        assert request.headers["Authorization"] == "Bearer page-token"
        return dict(json.loads(request.body))

    response = body(SendPolicy.RESPONSE)
    tagged = body(SendPolicy.HUMAN_AGENT)

    assert response["recipient"] == {"id": "77"}
    assert response["messaging_type"] == "RESPONSE"
    assert "tag" not in response
    assert (tagged["messaging_type"], tagged["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert tagged["message"]["text"] == "Hi"


def test_whatsapp_sends_text_in_the_window_and_a_template_outside_it() -> None:
    customer = Party(identifiers=identifiers.whatsapp("14155550142"))
    meta = MetaMessages("https://graph.facebook.com", "v21.0", dict, lambda: "wa-token")
    template = Template(name="order_update", language="en_US", parameters=("4417",))
    delivery = Delivery(status=DeliveryStatus.SENDING, updated_at=NOW, policy=SendPolicy.TEMPLATE, template=template)
    contact = outbound(Channel.WHATSAPP, Provider.META, Party(handle="5550001"), customer, delivery=delivery)

    request = meta.request(contact, NOW)
    sent = json.loads(request.body)

    assert request.url == "https://graph.facebook.com/v21.0/5550001/messages"
    assert sent["messaging_product"] == "whatsapp"
    assert sent["to"] == "14155550142"
    assert sent["type"] == "template"
    assert sent["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "4417"}]}],
    }
    assert sent["biz_opaque_callback_data"] == contact.contact_id  # comes back in every status webhook


def test_meta_outside_window_errors_refuse_and_throttling_errors_retry() -> None:
    outside = {"error": {"message": "Re-engagement message", "type": "OAuthException", "code": 131047}}
    throttled = {"error": {"message": "Rate limit hit", "code": 130429}}

    refused = MetaMessages.refusal(400, json.dumps(outside).encode(), 30)
    retry = MetaMessages.refusal(400, json.dumps(throttled).encode(), 30)

    assert isinstance(refused, Refused)
    assert refused.error.code == "131047"
    assert isinstance(retry, RetryLater)
    assert MetaMessages.accepted_id(b'{"messaging_product":"whatsapp","messages":[{"id":"wamid.X"}]}') == "wamid.X"
    assert MetaMessages.accepted_id(b'{"recipient_id":"77","message_id":"m_1"}') == "m_1"


class Tokens:
    def __init__(self) -> None:
        self.refreshed = 0

    def current(self, now: datetime) -> str:
        return "old"

    def after_unauthorized(self, rejected: str, now: datetime) -> str:
        self.refreshed += 1
        return "new"


class ScriptedTransport:
    def __init__(self, *answers: tuple[int, dict[str, str], bytes] | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, str, dict[str, str], bytes | None]] = []

    def send(self, method: str, url: str, headers: Any, body: bytes | None) -> tuple[int, dict[str, str], bytes]:
        self.requests.append((method, url, dict(headers), body))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_x_dm_and_public_reply_shapes_and_one_retry_after_401() -> None:
    customer = Party(identifiers=(identifiers.x_user("2244994945"),))
    dm = outbound(Channel.X, Provider.X, Party(), customer, content=Content(text="DM answer"))
    public = outbound(
        Channel.X,
        Provider.X,
        Party(),
        customer,
        content=Content(text="Public answer", visibility=Visibility.PUBLIC),
        thread=Thread(in_reply_to="1850000000000000000"),
    )
    tokens = Tokens()
    transport = ScriptedTransport(
        (401, {}, b'{"title":"Unauthorized"}'),
        (201, {}, b'{"data":{"dm_conversation_id":"1-2","dm_event_id":"1860000000000000001"}}'),
        (201, {}, b'{"data":{"id":"1860000000000000002","text":"Public answer"}}'),
    )
    courier = RestCourier(XMessages("https://api.x.com", tokens), transport)

    assert courier.send(dm, NOW) == Accepted("1860000000000000001")
    assert courier.send(public, NOW) == Accepted("1860000000000000002")

    (_, first_url, first_headers, _), (_, _, retried_headers, dm_body), (_, post_url, _, post_body) = transport.requests
    assert first_url == "https://api.x.com/2/dm_conversations/with/2244994945/messages"
    assert (first_headers["Authorization"], retried_headers["Authorization"]) == ("Bearer old", "Bearer new")
    assert json.loads(dm_body or b"") == {"text": "DM answer"}
    assert post_url == "https://api.x.com/2/tweets"
    assert json.loads(post_body or b"") == {
        "text": "Public answer",
        "reply": {"in_reply_to_tweet_id": "1850000000000000000"},
    }
    assert tokens.refreshed == 1


def test_the_courier_retries_429_and_5xx_and_never_what_may_have_gone_out() -> None:
    contact = outbound(
        Channel.SMS,
        Provider.TWILIO,
        phone_party("+14155550100"),
        phone_party("+14155550142"),
        content=Content(text="x"),
    )
    twilio = TwilioMessages("https://api.twilio.com", lambda: "AC1", lambda: "t", "https://h.example.com")

    def outcome(answer: tuple[int, dict[str, str], bytes] | Exception) -> Any:
        return RestCourier(twilio, ScriptedTransport(answer)).send(contact, NOW)

    assert outcome((429, {"retry-after": "17"}, b"")) == RetryLater("HTTP 429 from the provider", 17)
    assert outcome((503, {}, b"")) == RetryLater("HTTP 503 from the provider", 30)
    assert outcome(ProviderUnreachable("refused")) == RetryLater("the provider cannot be reached", 30)
    assert isinstance(outcome(ProviderNoAnswer("timeout")), Unknown)
    assert outcome((201, {}, b'{"sid":"SM9","status":"queued"}')) == Accepted("SM9")


def test_retry_after_reads_seconds_an_http_date_and_xs_reset() -> None:
    later = (NOW + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")

    assert retry_after_s({"retry-after": "5"}, NOW) == 5
    assert retry_after_s({"retry-after": later}, NOW) == 90
    assert retry_after_s({"x-rate-limit-reset": str(int(NOW.timestamp()) + 40)}, NOW) == 40
    assert retry_after_s({}, NOW) == 30


def test_an_email_reply_is_raw_mime_on_the_customers_thread() -> None:
    contact = outbound(
        Channel.EMAIL,
        Provider.SES,
        Party(handle="support@example.com"),
        Party(identifiers=(identifiers.email("anna@example.com", Assurance.CHANNEL),)),
        content=Content(text="It ships today."),
        thread=Thread(
            message_id="01abc.reply@example.com",
            in_reply_to="abc@mail.example.com",
            references=("root@mail.example.com", "abc@mail.example.com"),
            subject="Re: Late order [TL-K7Q39XPA-M]",
        ),
    )

    parsed = email.message_from_bytes(raw_reply(contact, "support@example.com"))

    assert parsed["From"] == "support@example.com"
    assert parsed["To"] == "anna@example.com"
    assert parsed["Message-ID"] == "<01abc.reply@example.com>"
    assert parsed["In-Reply-To"] == "<abc@mail.example.com>"
    assert parsed["References"] == "<root@mail.example.com> <abc@mail.example.com>"
    assert parsed["Subject"] == "Re: Late order [TL-K7Q39XPA-M]"
    assert parsed.get_payload(decode=True).decode().strip() == "It ships today."
