"""Builders for realistic inputs: API Gateway v2 events, Twilio forms, SQS batches."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from shared import identifiers, ids
from shared.channels.twilio import compute_signature
from shared.ingest import ContactMessage
from shared.schema import Assurance, Channel, Contact, Direction, Party, Provider

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
        contact_id=ids.contact_id("twilio", sid, at),
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
