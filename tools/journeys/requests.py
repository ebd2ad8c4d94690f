"""What each journey step sends: signed webhooks, injected stream records and /v1 calls.

Webhooks start from the sample builders (`infra.local.samples`), so a payload's
shape lives in one place; where a journey needs what the builders cannot say
(a provider time in the past, a reply to an earlier post), the payload is
adjusted and signed again with the provider's own signing function.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from infra import topology
from infra.local.samples import SampleOptions, SignedRequest, samples
from shared.channels import meta, x
from shared.ingest.signatures import hmac_hex
from tools.journeys import email as journey_email
from tools.journeys.identities import OUR_NUMBER, OUR_SECOND_NUMBER, Identities, mistyped_reference
from tools.journeys.steps import (
    PLACEHOLDER,
    ApiStep,
    AppStep,
    CallStep,
    ConnectStep,
    EmailStep,
    MessageStep,
)

WITHHELD_NUMBER = "+266696687"  # what Twilio puts in From when the caller withholds the number
APP_PATH = "/webhooks/app"
APP_SIGNATURE_HEADER = "x-threadline-signature"
SAMPLE_OF_CHANNEL = {
    "sms": "twilio-sms",
    "whatsapp": "meta-whatsapp",
    "whatsapp-status": "meta-whatsapp",
    "messenger": "meta-messenger",
    "instagram": "meta-instagram",
    "x-dm": "x-dm",
    "x-mention": "x-mention",
    "call": "twilio-voice",
}
_RESIGN: dict[str, tuple[str, str, Callable[[str, bytes], str]]] = {
    "meta": ("META_APP_SECRET", meta.SIGNATURE_HEADER, meta.signature),
    "x": ("X_CONSUMER_SECRET", x.SIGNATURE_HEADER, x.signature),
}


@dataclass(frozen=True)
class Injection:
    """A record for a source without an HTTP route (`POST /_local/inject/<source>`)."""

    source: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ApiCall:
    method: str
    path: str
    body: dict[str, Any]


Call = SignedRequest | Injection | ApiCall


@dataclass(frozen=True)
class ContactKey:
    """How the API finds the contact a step created: `GET /v1/contacts?provider=&provider_message_id=`."""

    provider: str
    provider_message_id: str


@dataclass(frozen=True)
class Built:
    calls: tuple[Call, ...]
    key: ContactKey | None = None
    record: dict[str, Any] | None = None  # a Connect record, for a later copy of it


class Lookups(Protocol):
    """What steps read from earlier ones: answers of the stack, and what earlier steps sent."""

    def reference(self, label: str) -> str: ...
    def customer(self, label: str) -> str: ...
    def case(self, label: str) -> str: ...
    def merge_id(self, name: str) -> str: ...
    def built(self, label: str) -> Built: ...


@dataclass(frozen=True)
class StepContext:
    public_url: str
    identities: Identities
    lookups: Lookups
    occurred_at: datetime  # the provider time of the step


def render(text: str, context: StepContext) -> str:
    """Fill `{ref:m1}`, `{ref-typo:m1}`, `{phone:ann}`, `{email:ann}` in a text the customer writes."""

    def fill(match: Any) -> str:
        kind, value = match.group(1), match.group(2)
        if kind == "ref":
            return context.lookups.reference(value)
        if kind == "ref-typo":
            return mistyped_reference(context.lookups.reference(value))
        return context.identities.as_typed(f"{kind}:{value}")

    return PLACEHOLDER.sub(fill, text)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _numeric_id() -> str:
    return str(secrets.randbelow(9 * 10**18) + 10**18)


def _resigned(request: SignedRequest, provider: str, change: Callable[[dict[str, Any]], None]) -> SignedRequest:
    payload = json.loads(request.body)
    change(payload)
    body = json.dumps(payload).encode()
    secret, header, sign = _RESIGN[provider]
    headers = {name: value for name, value in request.headers.items() if name.lower() != header}
    return replace(request, body=body, headers={**headers, header: sign(topology.local_secret(secret), body)})


def message_step(step: MessageStep, context: StepContext) -> Built:
    values = context.identities
    sender = values.value(step.sender)
    text = render(step.text, context)
    at = context.occurred_at
    if step.channel == "sms-eum":
        message_id = str(uuid.uuid4())
        record = {
            "originationNumber": sender,
            "destinationNumber": OUR_SECOND_NUMBER,
            "messageKeyword": "KEYWORD_123456789012",
            "messageBody": text,
            "inboundMessageId": message_id,
            "previousPublishedMessageId": None,
        }
        return Built((Injection("eum_sms_topic", record),), ContactKey("eum", message_id))
    build = samples()[SAMPLE_OF_CHANNEL[step.channel]]
    options = SampleOptions(public_url=context.public_url, text=text, sender=sender)
    if step.channel == "sms":
        sid = "SM" + uuid.uuid4().hex
        request = build(replace(options, recipient=OUR_NUMBER, message_id=sid))
        return Built((request,), ContactKey("twilio", sid))
    if step.channel in ("whatsapp", "whatsapp-status"):
        wamid = "wamid." + uuid.uuid4().hex.upper()
        kind = "status" if step.channel == "whatsapp-status" else None
        # The wa_id is the number as WhatsApp writes it: an Argentine mobile with its 9, unlike SMS and calls.
        wa_number = values.mobile_e164(step.sender)
        request = build(replace(options, sender=wa_number, message_id=wamid, kind=kind))

        def whatsapp_time(payload: dict[str, Any]) -> None:
            for item in payload["entry"][0]["changes"][0]["value"].get("messages", []):
                item["timestamp"] = str(int(at.timestamp()))

        key = ContactKey("meta", wamid) if kind is None else None
        return Built((_resigned(request, "meta", whatsapp_time),), key)
    if step.channel in ("messenger", "instagram"):
        mid = "m_" + uuid.uuid4().hex
        page = values.value(f"page:{step.page}") if step.page else None
        kind = "echo" if step.direction == "outbound" else None
        request = build(replace(options, message_id=mid, recipient=page, kind=kind))

        def meta_time(payload: dict[str, Any]) -> None:
            payload["entry"][0]["time"] = payload["entry"][0]["messaging"][0]["timestamp"] = _millis(at)

        return Built((_resigned(request, "meta", meta_time),), ContactKey("meta", mid))
    post_id = _numeric_id()
    kind = "outbound" if step.direction == "outbound" else None
    request = build(replace(options, message_id=post_id, kind=kind))
    replied = context.lookups.built(step.replies_to).key if step.replies_to else None

    def x_time(payload: dict[str, Any]) -> None:
        for event in payload.get("direct_message_events", []):
            event["created_timestamp"] = str(_millis(at))
        for post in payload.get("tweet_create_events", []):
            post["timestamp_ms"] = str(_millis(at))
            post["created_at"] = at.strftime("%a %b %d %H:%M:%S +0000 %Y")
            if replied:
                post["in_reply_to_status_id_str"] = replied.provider_message_id
                post["in_reply_to_user_id_str"] = sender

    return Built((_resigned(request, "x", x_time),), ContactKey("x", post_id))


def call_step(step: CallStep, context: StepContext) -> Built:
    """One Twilio call: each callback a signed webhook about the same CallSid, in the order given.

    For an outbound call `caller` is the customer we called (the sample puts our number in From)."""
    build = samples()[SAMPLE_OF_CHANNEL["call"]]
    sid = "CA" + uuid.uuid4().hex
    withheld = step.sender == "withheld"
    caller = WITHHELD_NUMBER if withheld else context.identities.value(step.sender)
    transcript = render(step.transcript or "", context)
    requests = []
    for callback in step.reports:
        kind = "withheld" if withheld and callback == "incoming" else callback
        if step.direction == "outbound":
            kind = "outbound"  # the status callback of the call we placed to `caller`
        text = transcript if callback == "transcription" else ""
        options = SampleOptions(context.public_url, text=text, sender=caller, recipient=OUR_NUMBER, message_id=sid)
        requests.append(build(replace(options, kind=kind)))
    return Built(tuple(requests), ContactKey("twilio", sid))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def connect_step(step: ConnectStep, context: StepContext) -> Built:
    """A contact record as Connect streams it; a revising step is a later copy of an earlier record."""
    at = context.occurred_at
    attributes = {name: render(value, context) for name, value in step.attributes.items()}
    if step.revises:
        original = context.lookups.built(step.revises)
        assert original.record is not None, "revises names a Connect step (checked by the suite)"
        copy = {
            **original.record,
            "LastUpdateTimestamp": _iso(at),
            "Attributes": {**original.record["Attributes"], **attributes},
        }
        return Built((Injection("connect_stream", copy),), record=copy)
    contact_id = str(uuid.uuid4())
    duration = step.duration_delta
    if step.sender == "withheld":
        endpoint = {"Address": "anonymous", "Type": "TELEPHONE_NUMBER"}
    else:
        endpoint = {"Address": context.identities.value(step.sender), "Type": "TELEPHONE_NUMBER"}
    previous = context.lookups.built(step.continues).key if step.continues else None
    record: dict[str, Any] = {
        "AWSAccountId": "123456789012",
        "AWSContactTraceRecordFormatVersion": "2017-03-10",
        "Channel": "VOICE" if step.channel == "connect-voice" else "CHAT",
        "ContactId": contact_id,
        "InitialContactId": previous.provider_message_id if previous else None,
        "PreviousContactId": previous.provider_message_id if previous else None,
        "InitiationMethod": step.initiation,
        "InitiationTimestamp": _iso(at),
        "ConnectedToSystemTimestamp": _iso(at + timedelta(seconds=2)),
        "DisconnectTimestamp": _iso(at + duration),
        "LastUpdateTimestamp": _iso(at + duration + timedelta(seconds=40)),
        "DisconnectReason": "CUSTOMER_DISCONNECT",
        "CustomerEndpoint": endpoint,
        "SystemEndpoint": {"Address": OUR_NUMBER, "Type": "TELEPHONE_NUMBER"},
        "Attributes": attributes,
        "Queue": {"Name": "Orders", "Duration": 29},
        "Agent": {"Username": "maria.lopez", "AgentInteractionDuration": int(duration.total_seconds())},
        "Recording": None,
        "Recordings": None,
    }
    return Built((Injection("connect_stream", record),), ContactKey("connect", contact_id), record)


def email_step(step: EmailStep, context: StepContext) -> Built:
    sender = context.identities.value(step.sender)
    replied = context.lookups.built(step.replies_to).key if step.replies_to else None
    email = journey_email.Email(
        sender=sender,
        display_name=step.display_name,
        subject=render(step.subject, context),
        text=render(step.text, context),
        sent_at=context.occurred_at,
        message_id=journey_email.new_message_id(sender),
        replies_to=replied.provider_message_id if replied else None,
        automated=step.automated,
    )
    key = ContactKey(journey_email.MAILGUN_PROVIDER, email.message_id)
    return Built((journey_email.mailgun_request(email),), key)


def app_step(step: AppStep, context: StepContext) -> Built:
    """The first-party app's signed JSON (`X-Threadline-Signature: t=<unix>,v1=<hex HMAC of "t.body">`)."""
    values = context.identities
    event_id = "evt_" + uuid.uuid4().hex
    # As the app stores what it verified: phones in libphonenumber's E.164 (an Argentine mobile with its 9).
    verified = {
        symbol.partition(":")[0]: values.mobile_e164(symbol) if symbol.startswith("phone:") else values.value(symbol)
        for symbol in step.verified
    }
    payload = {
        "event_id": event_id,
        "occurred_at": _iso(context.occurred_at),
        "customer": {"app_customer_id": values.value(step.account), "verified": verified},
        "message": {"text": render(step.text, context)},
    }
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    signature = hmac_hex(topology.local_secret("APP_WEBHOOK_SECRET"), stamp.encode() + b"." + body)
    headers = {"Content-Type": "application/json", APP_SIGNATURE_HEADER: f"t={stamp},v1={signature}"}
    return Built((SignedRequest("POST", APP_PATH, body, headers),), ContactKey("app", event_id))


def api_step(step: ApiStep, context: StepContext) -> Built:
    lookups = context.lookups
    evidence = f"journey suite: CRM {step.action}"
    if step.action == "attach":
        assert step.customer_of is not None
        assert step.identifier is not None
        kind = step.identifier.partition(":")[0]
        # A CRM keeps phones as libphonenumber writes them, as the app does: an Argentine mobile with its 9.
        value = context.identities.mobile_e164(step.identifier)
        body = {"kind": kind, "value": value, "evidence": evidence}
        call = ApiCall("POST", f"/v1/customers/{lookups.customer(step.customer_of)}/identifiers", body)
    elif step.action == "merge":
        assert step.customer_of is not None
        assert step.other_customer_of is not None
        body = {"other_customer_id": lookups.customer(step.other_customer_of), "evidence": evidence}
        call = ApiCall("POST", f"/v1/customers/{lookups.customer(step.customer_of)}/merge", body)
    elif step.action == "undo":
        assert step.undoes
        call = ApiCall("POST", f"/v1/merges/{lookups.merge_id(step.undoes)}/undo", {})
    else:
        assert step.case_of
        call = ApiCall("POST", f"/v1/cases/{lookups.case(step.case_of)}/{step.action}", {})
    return Built((call,))
