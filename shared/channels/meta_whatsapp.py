"""WhatsApp Cloud API webhooks (`entry[].changes[].value.messages[]`) → contacts.

A WhatsApp id is the person's phone number, so the sender carries two
identifiers, the wa_id and the phone in E.164: the phone is what links a
WhatsApp customer to their SMS and calls.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import Field

from shared.channels.payloads import (
    ItemUnreadable,
    ParsedBatch,
    ProviderPayload,
    epoch_time,
    location_attachment,
    type_name,
)
from shared.ingest.request import WebhookRequest
from shared.model import identifiers, minted
from shared.model.contact import (
    Assurance,
    Attachment,
    AttachmentType,
    Channel,
    Contact,
    Content,
    DeliveryError,
    DeliveryStatus,
    Direction,
    Identifier,
    Party,
    Provider,
)
from shared.model.delivery import CONTACT_ID, DeliveryReport
from shared.model.identifiers import InvalidIdentifier

MEDIA_TYPES = {
    "image": AttachmentType.IMAGE,
    "sticker": AttachmentType.IMAGE,
    "audio": AttachmentType.AUDIO,
    "video": AttachmentType.VIDEO,
    "document": AttachmentType.FILE,
}
STORED_TYPES = frozenset({"text", "location", "interactive", "button", *MEDIA_TYPES})
_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}
_VALUE_FIELDS = frozenset({"messaging_product", "metadata", "contacts", "messages", "statuses", "errors"})
_NOT_DIGITS = re.compile(r"\D")
# Phone numbers are never assumed to be local here: WhatsApp sends them in international form.
_ANY_REGION = "US"


class _Media(ProviderPayload):
    id: str = Field(min_length=1)
    mime_type: str | None = None
    caption: str | None = None
    filename: str | None = None


class _Location(ProviderPayload):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class _Reply(ProviderPayload):
    title: str | None = None


class _FlowReply(ProviderPayload):
    body: str | None = None


class _Interactive(ProviderPayload):
    button_reply: _Reply | None = None
    list_reply: _Reply | None = None
    nfm_reply: _FlowReply | None = None  # a completed WhatsApp Flow


class _Button(ProviderPayload):
    text: str | None = None


class _Text(ProviderPayload):
    body: str | None = None


class _Message(ProviderPayload):
    sender: str = Field(alias="from", min_length=1)
    id: str = Field(min_length=1)
    timestamp: int
    type: str
    text: _Text | None = None
    image: _Media | None = None
    sticker: _Media | None = None
    audio: _Media | None = None
    video: _Media | None = None
    document: _Media | None = None
    location: _Location | None = None
    interactive: _Interactive | None = None
    button: _Button | None = None


class _Profile(ProviderPayload):
    name: str | None = None


class _ContactCard(ProviderPayload):
    wa_id: str | None = None
    profile: _Profile | None = None


class _Metadata(ProviderPayload):
    display_phone_number: str | None = None
    phone_number_id: str | None = None


class _Value(ProviderPayload):
    metadata: _Metadata = _Metadata()
    contacts: list[_ContactCard] = []
    messages: list[object] = []
    statuses: list[object] = []
    errors: list[object] = []


class _StatusError(ProviderPayload):
    code: int | str
    title: str | None = None
    message: str | None = None


class _Status(ProviderPayload):
    id: str = Field(min_length=1, max_length=256)
    status: str
    timestamp: str = Field(pattern=r"^\d{1,12}$")
    biz_opaque_callback_data: str | None = None  # ours: the reply's contact id
    errors: list[_StatusError] = []


class _Change(ProviderPayload):
    field: str
    value: dict[str, object]


class _Entry(ProviderPayload):
    id: str = Field(min_length=1)
    changes: list[object] = []


def parse_entries(entries: Sequence[object], request: WebhookRequest, batch: ParsedBatch) -> None:
    for raw_entry in entries:
        with batch.isolated("whatsapp.entry"):
            for raw_change in _Entry.model_validate(raw_entry).changes:
                with batch.isolated("whatsapp.change"):
                    _parse_change(_Change.model_validate(raw_change), request, batch)


def _parse_change(change: _Change, request: WebhookRequest, batch: ParsedBatch) -> None:
    if change.field != "messages":
        # Template reviews, quality ratings, account updates: about the account, not a customer.
        batch.ignore(f"whatsapp.{change.field[:40]}")
        return
    value = _Value.model_validate(change.value)
    for status in value.statuses:
        # sent / delivered / read / failed of our own outbound messages: reports, not contacts.
        name = type_name(status, "status")
        if name not in _STATUSES:
            batch.ignore(f"whatsapp.status.{name}")
            continue
        with batch.isolated(f"whatsapp.status.{name}"):
            batch.reports.append(_report(_Status.model_validate(status), request))
    batch.ignore("whatsapp.error", len(value.errors))
    for name, items in change.value.items():
        if name not in _VALUE_FIELDS and isinstance(items, list):
            batch.ignore(f"whatsapp.{name[:40]}", len(items))
    business = _business_party(value.metadata)
    names = {card.wa_id: card.profile.name for card in value.contacts if card.wa_id and card.profile}
    for raw_message in value.messages:
        message_type = type_name(raw_message)
        if message_type not in STORED_TYPES:
            # reaction, contacts, order, system, unsupported, and types Meta adds later.
            batch.ignore(f"whatsapp.message.{message_type}")
            continue
        with batch.isolated(f"whatsapp.message.{message_type}"):
            message = _Message.model_validate(raw_message)
            batch.contacts.append(_contact(message, names.get(message.sender), business, request))


def _report(status: _Status, request: WebhookRequest) -> DeliveryReport:
    error = None
    if status.errors:
        first = status.errors[0]
        error = DeliveryError(code=str(first.code)[:64], message=(first.message or first.title or "failed")[:512])
    correlation = status.biz_opaque_callback_data
    return DeliveryReport(
        provider=Provider.META,
        provider_message_id=status.id,
        contact_id=correlation if correlation and CONTACT_ID.match(correlation) else None,
        status=_STATUSES[status.status],
        error=error if _STATUSES[status.status] is DeliveryStatus.FAILED else None,
        occurred_at=epoch_time(int(status.timestamp), "s", received_at=request.received_at),
    )


def _contact(message: _Message, name: str | None, business: Party, request: WebhookRequest) -> Contact:
    occurred_at = epoch_time(message.timestamp, "s", received_at=request.received_at)
    return Contact(
        contact_id=minted.contact_id(Provider.META.value, message.id, occurred_at),
        channel=Channel.WHATSAPP,
        provider=Provider.META,
        direction=Direction.INBOUND,
        provider_message_id=message.id,
        occurred_at=occurred_at,
        received_at=request.received_at,
        sender=Party(identifiers=_customer_identifiers(message.sender), display_name=name[:256] if name else None),
        recipient=business,
        content=_content(message),
    )


def _content(message: _Message) -> Content:
    if message.type in MEDIA_TYPES:
        media = getattr(message, message.type)
        if not isinstance(media, _Media):
            raise ItemUnreadable(f"{message.type} is missing")
        attachment = Attachment(
            type=MEDIA_TYPES[message.type],
            content_id=media.id,  # fetched from the Graph API by id; the URL it gives expires
            content_type=media.mime_type,
            name=media.filename[:512] if media.filename else None,
        )
        return Content(text=media.caption or None, attachments=(attachment,))
    if message.type == "location":
        if message.location is None:
            raise ItemUnreadable("location is missing")
        place = message.location
        return Content(attachments=(location_attachment(place.latitude, place.longitude, place.name or place.address),))
    if message.type == "interactive" and message.interactive:
        reply = message.interactive.button_reply or message.interactive.list_reply
        # The reply's title is what the person tapped, as their chat shows it; its id is ours.
        return Content(text=(reply.title if reply else None) or _flow_body(message.interactive), status="interactive")
    if message.type == "button" and message.button:
        return Content(text=message.button.text or None, status="button")
    return Content(text=message.text.body if message.text and message.text.body else None)


def _flow_body(interactive: _Interactive) -> str | None:
    return interactive.nfm_reply.body if interactive.nfm_reply else None


def _customer_identifiers(wa_id: str) -> tuple[Identifier, ...]:
    try:
        return identifiers.whatsapp(wa_id)
    except InvalidIdentifier as error:
        raise ItemUnreadable("from is not a WhatsApp id") from error


def _business_party(metadata: _Metadata) -> Party:
    """Our number; the handle is the phone_number_id a reply is sent from."""
    handle = metadata.phone_number_id[:256] if metadata.phone_number_id else None
    digits = _NOT_DIGITS.sub("", metadata.display_phone_number or "")
    try:
        phone = identifiers.phone("+" + digits, _ANY_REGION, Assurance.CHANNEL)
    except InvalidIdentifier:
        return Party(handle=handle)
    return Party(identifiers=(phone,), handle=handle)
