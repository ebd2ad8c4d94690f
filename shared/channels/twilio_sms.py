"""Twilio Messaging (SMS, MMS and WhatsApp through Twilio) → contacts."""

from __future__ import annotations

from shared.channels.phone import phone_party
from shared.channels.twilio import required
from shared.ingest.errors import MalformedPayload
from shared.ingest.request import WebhookRequest
from shared.model import identifiers, minted
from shared.model.contact import (
    Assurance,
    Attachment,
    AttachmentType,
    Channel,
    Contact,
    Content,
    Direction,
    Party,
    Provider,
)

MAX_MEDIA = 10  # Twilio delivers at most 10 media items per message
WHATSAPP_PREFIX = "whatsapp:"


def _attachment_type(content_type: str) -> AttachmentType:
    major = content_type.split("/", 1)[0]
    return {"image": AttachmentType.IMAGE, "audio": AttachmentType.AUDIO, "video": AttachmentType.VIDEO}.get(
        major, AttachmentType.FILE
    )


def _party(address: str, default_region: str) -> Party:
    """A phone address; WhatsApp senders also carry their wa_id, which is the same number."""
    if not address.startswith(WHATSAPP_PREFIX):
        return phone_party(address, Assurance.CHANNEL, default_region)
    party = phone_party(address.removeprefix(WHATSAPP_PREFIX), Assurance.CHANNEL, default_region)
    return Party(identifiers=identifiers.whatsapp(party.primary.value)) if party.primary else party


def _media(form: dict[str, str]) -> tuple[Attachment, ...]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError as error:
        raise MalformedPayload("NumMedia is not a number") from error
    if not 0 <= count <= MAX_MEDIA:
        raise MalformedPayload(f"NumMedia must be between 0 and {MAX_MEDIA}")
    attachments = []
    for index in range(count):
        url = form.get(f"MediaUrl{index}")
        if not url:
            raise MalformedPayload(f"MediaUrl{index} is missing")
        content_type = form.get(f"MediaContentType{index}") or "application/octet-stream"
        attachments.append(Attachment(type=_attachment_type(content_type), url=url, content_type=content_type))
    return tuple(attachments)


def parse(request: WebhookRequest, *, default_region: str) -> list[Contact]:
    """One inbound message per webhook; MMS when it carries media, WhatsApp when Twilio says so."""
    form = request.form
    sid = (form.get("MessageSid") or form.get("SmsMessageSid") or "").strip()
    if not sid:
        raise MalformedPayload("missing fields: MessageSid")
    sender, recipient = required(form, "From", "To")
    attachments = _media(form)
    channel = Channel.MMS if attachments else Channel.SMS
    if sender.startswith(WHATSAPP_PREFIX):
        channel = Channel.WHATSAPP
    # Twilio sends no message time: the moment we received it is the best we have.
    occurred_at = request.received_at
    return [
        Contact(
            contact_id=minted.contact_id(Provider.TWILIO.value, sid, occurred_at),
            channel=channel,
            provider=Provider.TWILIO,
            direction=Direction.INBOUND,
            provider_message_id=sid,
            occurred_at=occurred_at,
            received_at=request.received_at,
            sender=_party(sender, default_region),
            recipient=_party(recipient, default_region),
            content=Content(text=form.get("Body") or None, attachments=attachments),
        )
    ]
