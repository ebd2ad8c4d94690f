"""Builders for realistic inputs: API Gateway v2 events, Twilio forms, SQS batches."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from infra.local.samples import SignedRequest
from shared.channels import meta, twilio_voice, x
from shared.channels.twilio import compute_signature
from shared.ingest.message import ContactMessage
from shared.ingest.request import WebhookRequest
from shared.model import identifiers, minted
from shared.model.contact import Assurance, Channel, Contact, Direction, Party, Provider, Thread
from shared.model.records import CaseRecord

PUBLIC_URL = "https://hooks.example.com"
TWILIO_TOKEN = "dev-twilio-auth-token"


class FakeContext:
    """The parts of a Lambda context that Powertools reads."""

    function_name = "threadline-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:threadline-test"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def http_event(
    method: str,
    path: str,
    *,
    body: bytes | str = b"",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, as Lambda receives it."""
    raw = body.encode() if isinstance(body, str) else body
    raw_query = urlencode(query or {})
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {name.lower(): value for name, value in (headers or {}).items()},
        "queryStringParameters": query or None,
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "test-request",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "timeEpoch": int(datetime.now(UTC).timestamp() * 1000),
        },
        "body": base64.b64encode(raw).decode() if base64_body else raw.decode("utf-8", "replace"),
        "isBase64Encoded": base64_body,
    }


def twilio_form_event(
    path: str, form: Sequence[tuple[str, str]], *, token: str = TWILIO_TOKEN, signature: str | None = None
) -> dict[str, Any]:
    body = urlencode(list(form))
    signed = signature if signature is not None else compute_signature(token, PUBLIC_URL + path, form)
    return http_event(
        "POST",
        path,
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signed},
    )


def sms_form(
    sid: str,
    sender: str = "+14155550123",
    body: str = "Hello",
    to: str = "+14155559999",
    media: Iterable[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    media = list(media)
    form = [
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", "AC" + "0" * 32),
        ("From", sender),
        ("To", to),
        ("Body", body),
        ("NumMedia", str(len(media))),
        ("NumSegments", "1"),
        ("ApiVersion", "2010-04-01"),
    ]
    for index, (url, content_type) in enumerate(media):
        form += [(f"MediaUrl{index}", url), (f"MediaContentType{index}", content_type)]
    return form


def sqs_event(messages: Sequence[ContactMessage | str]) -> dict[str, Any]:
    records = []
    for index, message in enumerate(messages):
        body = message if isinstance(message, str) else message.model_dump_json()
        group = "poison" if isinstance(message, str) else message.group_id
        records.append(
            {
                "messageId": f"m-{index}",
                "receiptHandle": f"r-{index}",
                "body": body,
                "attributes": {
                    "MessageGroupId": group,
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "x",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest.fifo",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def contacts_from_queue(bodies: Iterable[str]) -> list[Contact]:
    return [ContactMessage.model_validate_json(body).contact for body in bodies]


def json_body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def sms_contact(
    sid: str,
    sender: str = "+14155550123",
    *,
    at: datetime,
    text: str = "hello",
    automated: bool = False,
    direction: Direction = Direction.INBOUND,
) -> Contact:
    """A contact as the Twilio parser makes it, at a chosen provider time."""
    customer = Party(identifiers=(identifiers.phone(sender, "US", Assurance.CHANNEL),))
    business = Party(identifiers=(identifiers.phone("+14155559999", "US", Assurance.CHANNEL),))
    return Contact(
        contact_id=minted.contact_id("twilio", sid, at),
        channel=Channel.SMS,
        provider=Provider.TWILIO,
        direction=direction,
        provider_message_id=sid,
        occurred_at=at,
        received_at=at,
        sender=customer if direction is Direction.INBOUND else business,
        recipient=business if direction is Direction.INBOUND else customer,
        content={"text": text},  # type: ignore[arg-type]
        automated=automated,
    )


SHOP_ADDRESS = Party(identifiers=(identifiers.email("support@shop.example.org", Assurance.CHANNEL),))


def email_contact(
    message_id: str, sender: str, *, at: datetime, in_reply_to: str | None = None, text: str = "hi"
) -> Contact:
    """An inbound email as the email parsers make it, at a chosen provider time, on one thread."""
    return Contact(
        contact_id=minted.contact_id("ses", message_id, at),
        channel=Channel.EMAIL,
        provider=Provider.SES,
        direction=Direction.INBOUND,
        provider_message_id=message_id,
        occurred_at=at,
        received_at=at,
        sender=Party(identifiers=(identifiers.email(sender, Assurance.CHANNEL),)),
        recipient=SHOP_ADDRESS,
        thread=Thread(message_id=message_id, in_reply_to=in_reply_to, subject="Broken kettle"),
        content={"text": text},  # type: ignore[arg-type]
    )


def whatsapp_contact(wamid: str, wa_id: str, *, at: datetime, text: str = "hi") -> Contact:
    """An inbound WhatsApp message as the Meta parser makes it: the wa_id, then the same number as a phone."""
    return Contact(
        contact_id=minted.contact_id("meta", wamid, at),
        channel=Channel.WHATSAPP,
        provider=Provider.META,
        direction=Direction.INBOUND,
        provider_message_id=wamid,
        occurred_at=at,
        received_at=at,
        sender=Party(identifiers=identifiers.whatsapp(wa_id)),
        recipient=Party(identifiers=(identifiers.phone("+14155559999", "US", Assurance.CHANNEL),)),
        content={"text": text},  # type: ignore[arg-type]
    )


META_APP_SECRET = "dev-meta-app-secret"
X_CONSUMER_SECRET = "dev-x-consumer-secret"
EVENTS = Path(__file__).parent / "events"


def event_fixture(provider: str, name: str) -> bytes:
    """A provider payload stored under tests/events/<provider>/, as the exact bytes sent."""
    return (EVENTS / provider / name).read_bytes()


def app_login(account: str, phone: str, event_id: str, at: datetime) -> bytes:
    """The app's login event (tests/events/app) for another account, verifying `phone`."""
    event = json.loads(event_fixture("app", "login_message.json"))
    event |= {"event_id": event_id, "occurred_at": at.isoformat()}
    event["customer"] |= {"app_customer_id": account, "verified": {"phone": phone}}
    return json.dumps(event).encode()


def json_request(body: bytes, path: str = "/webhooks/meta") -> WebhookRequest:
    """A decoded JSON webhook call, for testing the pure parsers without the handler."""
    return WebhookRequest(
        method="POST",
        path=path,
        raw_query="",
        headers={"content-type": "application/json"},
        query={},
        body=body,
        public_url=PUBLIC_URL + path,
    )


def meta_event(
    body: bytes, *, secret: str = META_APP_SECRET, signature: str | None = None, base64_body: bool = False
) -> dict[str, Any]:
    signed = signature if signature is not None else meta.signature(secret, body)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signed}
    return http_event("POST", "/webhooks/meta", body=body, headers=headers, base64_body=base64_body)


def x_event(body: bytes, *, secret: str = X_CONSUMER_SECRET, signature: str | None = None) -> dict[str, Any]:
    signed = signature if signature is not None else x.signature(secret, body)
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Twitter-Webhooks-Signature": signed}
    return http_event("POST", "/webhooks/x", body=body, headers=headers)


def sample_request(signed: SignedRequest) -> WebhookRequest:
    """A `threadline send` sample as the webhook it targets decodes it."""
    return WebhookRequest(
        method=signed.method,
        path=signed.path,
        raw_query=signed.query,
        headers={name.lower(): value for name, value in signed.headers.items()},
        query={},
        body=signed.body,
        public_url=PUBLIC_URL + signed.path,
    )


VOICE_PATH = "/webhooks/twilio/voice"


def voice_fixture(name: str, **changes: str) -> dict[str, str]:
    """A Twilio Voice webhook form stored under tests/events/twilio_voice/, with fields changed."""
    form: dict[str, str] = json.loads(event_fixture("twilio_voice", name))
    return {**form, **changes}


def voice_report(fixture: str, event: str, *, at: datetime, **changes: str) -> Contact:
    """A stored Twilio Voice callback through the real parser (Twilio sends no call time: receipt time stands in)."""
    form = voice_fixture(fixture, **changes)
    request = WebhookRequest(
        method="POST",
        path=twilio_voice.PATH,
        raw_query=f"event={event}",
        headers={"content-type": "application/x-www-form-urlencoded"},
        query={"event": event},
        body=urlencode(form).encode(),
        public_url=f"{PUBLIC_URL}{twilio_voice.PATH}?event={event}",
        received_at=at,
    )
    [contact] = twilio_voice.parse(request, twilio_voice.VoiceEvent(event), default_region="US")
    return contact


def twilio_voice_event(form: dict[str, str], *, event: str | None = None, token: str = TWILIO_TOKEN) -> dict[str, Any]:
    """A signed voice webhook; `event` is the query our TwiML puts on the callback URLs it hands Twilio."""
    query = {"event": event} if event else None
    url = PUBLIC_URL + VOICE_PATH + (f"?{urlencode(query)}" if query else "")
    pairs = list(form.items())
    signature = compute_signature(token, url, pairs)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return http_event("POST", VOICE_PATH, body=urlencode(pairs), headers=headers, query=query)


def kinesis_event(payloads: Sequence[bytes]) -> dict[str, Any]:
    """A Kinesis Data Streams batch as Lambda receives it, one record per payload."""
    stream = "arn:aws:kinesis:us-east-1:123456789012:stream/threadline-connect-records"
    records = []
    for index, payload in enumerate(payloads):
        sequence = f"4959{index:052d}"
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": f"partition-{index}",
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(payload).decode(),
                    "approximateArrivalTimestamp": 1793800000.0 + index,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/threadline-connect",
                "awsRegion": "us-east-1",
                "eventSourceARN": stream,
            }
        )
    return {"Records": records}


def sns_event(messages: Sequence[str], *, timestamp: str = "2026-11-04T10:15:07.235Z") -> dict[str, Any]:
    """The event SNS hands a subscribed function, built around the stored EUM notification."""
    template = json.loads(event_fixture("eum", "sns_event.json"))["Records"][0]
    notification = template["Sns"]
    return {
        "Records": [
            {**template, "Sns": {**notification, "Message": body, "MessageId": f"msg-{n}", "Timestamp": timestamp}}
            for n, body in enumerate(messages)
        ]
    }


def signed_event(signed: SignedRequest, *, base64_body: bool = False) -> dict[str, Any]:
    """A `threadline send` sample as API Gateway hands it to Lambda (binary bodies arrive base64)."""
    from urllib.parse import parse_qsl

    return http_event(
        signed.method,
        signed.path,
        body=signed.body,
        headers=signed.headers,
        query=dict(parse_qsl(signed.query)),
        base64_body=base64_body,
    )


API_KEY = "dev-api-key"


def api_event(
    method: str, path: str, *, query: dict[str, str] | None = None, body: Any = None, api_key: str = API_KEY
) -> dict[str, Any]:
    """A /v1 call as API Gateway hands it to the api function, with the local x-api-key."""
    headers = {"x-api-key": api_key, "content-type": "application/json"}
    raw = json.dumps(body) if body is not None else ""
    return http_event(method, path, body=raw, headers=headers, query=query)


def timeline_of(customer_id: str) -> tuple[list[Contact], str | None]:
    """A customer's first timeline page, newest first, as /v1 reads it."""
    from shared.adapters.dynamo.admin import TimelineFilter
    from shared.wiring import get_admin_store

    return get_admin_store().filtered_timeline(customer_id, TimelineFilter(), limit=10, cursor=None)


def cases_of(customer_id: str) -> tuple[list[CaseRecord], str | None]:
    from shared.wiring import get_admin_store

    return get_admin_store().merged_cases(customer_id, limit=10, cursor=None)


def stored_contact(provider: str, message_id: str) -> Contact:
    """The contact the processor stored for a provider message; fails the test if there is none."""
    from shared.wiring import get_store

    store = get_store()
    contact_id = store.find_contact_id(provider, message_id)
    assert contact_id, f"{provider} {message_id} was not stored"
    contact = store.get_contact(contact_id)
    assert contact is not None
    return contact
