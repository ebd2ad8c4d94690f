"""Messenger and Instagram messaging webhooks (`entry[].messaging[]`) → contacts.

Both products send the same event shape. A person is known by a page-scoped id,
unique only within one page (or Instagram account), so the identifier holds both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field

from shared.channels.payloads import ParsedBatch, ProviderPayload, epoch_time, location_attachment, type_name
from shared.ingest.request import WebhookRequest
from shared.model import identifiers, minted
from shared.model.contact import (
    Attachment,
    AttachmentType,
    Channel,
    Contact,
    Content,
    DeliveryStatus,
    Direction,
    IdentifierKind,
    Party,
    Provider,
)
from shared.model.delivery import CONTACT_ID, DeliveryReport

STORED_EVENTS = ("message", "postback", "referral")
# Everything else Meta may put in a messaging item: receipts, reactions, handover, and more later.
_ENVELOPE_FIELDS = frozenset({"sender", "recipient", "timestamp"})
_ATTACHMENT_TYPES = {
    "image": AttachmentType.IMAGE,
    "sticker": AttachmentType.IMAGE,
    "audio": AttachmentType.AUDIO,
    "video": AttachmentType.VIDEO,
    "file": AttachmentType.FILE,
}


@dataclass(frozen=True)
class _Page:
    """The page (or Instagram account) an entry is about, and which product it came through."""

    id: str
    channel: Channel
    kind: IdentifierKind

    def label(self, item: str) -> str:
        return f"{self.channel.value}.{item}"


class _Account(ProviderPayload):
    id: str = Field(min_length=1)


class _Coordinates(ProviderPayload):
    lat: float
    long: float


class _AttachmentPayload(ProviderPayload):
    url: str | None = None
    title: str | None = None
    coordinates: _Coordinates | None = None


class _Attachment(ProviderPayload):
    type: str
    payload: _AttachmentPayload | None = None
    # Before webhook v6.0 fallback attachments carried these at the top level.
    title: str | None = None
    url: str | None = None


class _Message(ProviderPayload):
    mid: str = Field(min_length=1)
    text: str | None = None
    is_echo: bool = False
    metadata: str | None = None  # what the Send API call put in message.metadata (ours: a contact id)
    is_deleted: bool = False
    attachments: list[_Attachment] = []


class _Postback(ProviderPayload):
    mid: str | None = None
    title: str | None = None


class _Event(ProviderPayload):
    sender: _Account
    recipient: _Account
    timestamp: int
    message: _Message | None = None
    postback: _Postback | None = None


class _Delivery(ProviderPayload):
    mids: list[str] = []


class _DeliveryEvent(ProviderPayload):
    timestamp: int
    delivery: _Delivery


class _Entry(ProviderPayload):
    id: str = Field(min_length=1)
    messaging: list[object] = []
    standby: list[object] = []  # messages while another app owns the thread (handover)
    changes: list[object] = []  # feed and comment changes: not messages


def parse_entries(
    entries: Sequence[object],
    channel: Channel,
    kind: IdentifierKind,
    request: WebhookRequest,
    batch: ParsedBatch,
) -> None:
    for raw_entry in entries:
        with batch.isolated(f"{channel.value}.entry"):
            entry = _Entry.model_validate(raw_entry)
            page = _Page(entry.id, channel, kind)
            for raw_event in entry.messaging + entry.standby:
                _parse_event(raw_event, page, request, batch)
            for change in entry.changes:
                batch.ignore(page.label(f"change.{type_name(change, 'field')}"))


def _event_type(raw_event: object) -> str:
    """The one field that says what happened (message, read, delivery, reaction, ...): a name, never a value."""
    if not isinstance(raw_event, dict):
        return "unknown"
    stored = next((name for name in STORED_EVENTS if name in raw_event), None)
    if stored:
        return stored
    return next((str(name)[:40] for name in raw_event if name not in _ENVELOPE_FIELDS), "unknown")


def _parse_event(raw_event: object, page: _Page, request: WebhookRequest, batch: ParsedBatch) -> None:
    event_type = _event_type(raw_event)
    if event_type == "delivery":
        # Our messages reached the person: a report per message id. (`read` carries only a watermark,
        # no ids, so it is counted, not reported.)
        with batch.isolated(page.label(event_type)):
            delivered = _DeliveryEvent.model_validate(raw_event)
            at = epoch_time(delivered.timestamp, "ms", received_at=request.received_at)
            batch.reports += [
                DeliveryReport(
                    provider=Provider.META, provider_message_id=mid, status=DeliveryStatus.DELIVERED, occurred_at=at
                )
                for mid in delivered.delivery.mids
            ]
        return
    if event_type not in STORED_EVENTS:
        batch.ignore(page.label(event_type))
        return
    with batch.isolated(page.label(event_type)):
        event = _Event.model_validate(raw_event)
        if event.message and event.message.is_deleted:
            batch.ignore(page.label("message_deleted"))
            return
        if event.message and event.message.is_echo and CONTACT_ID.match(event.message.metadata or ""):
            # The echo of a reply we sent (its metadata is the reply's contact id): the reply is the contact;
            # the echo says Meta took it, which settles a send whose answer we lost.
            at = epoch_time(event.timestamp, "ms", received_at=request.received_at)
            batch.reports.append(
                DeliveryReport(
                    provider=Provider.META,
                    provider_message_id=event.message.mid,
                    contact_id=event.message.metadata,
                    status=DeliveryStatus.SENT,
                    occurred_at=at,
                )
            )
            return
        batch.contacts.append(_contact(event, event_type, page, request))


def _contact(event: _Event, event_type: str, page: _Page, request: WebhookRequest) -> Contact:
    # An echo is a message the page sent (an agent in the inbox, or our own app): the customer is the recipient.
    echo = bool(event.message and event.message.is_echo)
    customer_scoped_id = event.recipient.id if echo else event.sender.id
    customer = Party(identifiers=(identifiers.page_scoped(page.kind, page.id, customer_scoped_id),))
    business = Party(handle=page.id)
    occurred_at = epoch_time(event.timestamp, "ms", received_at=request.received_at)
    message_id, content = _message_id_and_content(event, event_type, page.id, customer_scoped_id)
    return Contact(
        contact_id=minted.contact_id(Provider.META.value, message_id, occurred_at),
        channel=page.channel,
        provider=Provider.META,
        direction=Direction.OUTBOUND if echo else Direction.INBOUND,
        provider_message_id=message_id,
        occurred_at=occurred_at,
        received_at=request.received_at,
        sender=business if echo else customer,
        recipient=customer if echo else business,
        content=content,
    )


def _message_id_and_content(
    event: _Event, event_type: str, page_id: str, customer_scoped_id: str
) -> tuple[str, Content]:
    # Referrals (and postbacks of old API versions) have no mid: derive one from what makes
    # the event unique, so a redelivery still dedupes.
    derived_id = f"{event_type}:{page_id}:{customer_scoped_id}:{event.timestamp}"
    if event.message:
        attachments = tuple(_attachment(attachment) for attachment in event.message.attachments)
        return event.message.mid, Content(text=event.message.text or None, attachments=attachments)
    if event.postback:
        # The title is the button the person tapped, as their thread shows it; the payload is ours.
        return event.postback.mid or derived_id, Content(text=event.postback.title or None, status="postback")
    return derived_id, Content(status="referral")


def _attachment(attachment: _Attachment) -> Attachment:
    payload = attachment.payload or _AttachmentPayload()
    title = (payload.title or attachment.title or "")[:512] or None
    if attachment.type == "location" and payload.coordinates:
        return location_attachment(payload.coordinates.lat, payload.coordinates.long, title)
    return Attachment(
        type=_ATTACHMENT_TYPES.get(attachment.type, AttachmentType.OTHER),
        url=payload.url or attachment.url,
        name=title,
    )
