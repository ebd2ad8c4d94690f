"""A parsed email → the one `Contact`, with the same rules for every email provider."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.channels.email.headers import Correspondent
from shared.channels.email.parsed import ParsedEmail
from shared.model import identifiers, minted
from shared.model.contact import (
    Assurance,
    Attachment,
    Channel,
    Claim,
    ClaimKind,
    Contact,
    Content,
    Direction,
    Identifier,
    Party,
    Provider,
    Thread,
)
from shared.model.identifiers import InvalidIdentifier

MAX_PROVIDER_MESSAGE_ID = 256  # the schema's bound; longer Message-IDs are hashed
# A Date header is the sender's claim: trusted only near the time the provider saw the mail.
DATE_MAX_AGE = timedelta(days=3)
DATE_MAX_AHEAD = timedelta(minutes=15)


@dataclass(frozen=True)
class Delivery:
    """What the provider says beside the message itself."""

    provider: Provider
    received_at: datetime
    fallback_message_id: str  # the provider's own id, or a digest of the content
    provider_time: datetime | None = None  # when the provider received the mail (SES says)
    sender_assurance: Assurance = Assurance.WEAK  # CHANNEL only on a provider's DMARC pass
    envelope_recipient: str | None = None  # the RCPT TO address: ours for certain


def digest_id(*chunks: bytes) -> str:
    """A stable id for a delivery without a Message-ID: the same content, the same id on a retry."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def bounded_id(value: str) -> str:
    if len(value) <= MAX_PROVIDER_MESSAGE_ID:
        return value
    return digest_id(value.encode())


def provider_message_id(parsed: ParsedEmail, delivery: Delivery) -> str:
    """The Message-ID (dedupe is per provider), else the provider's id for the delivery."""
    return bounded_id(parsed.headers.message_id or delivery.fallback_message_id)


def occurred_at(parsed: ParsedEmail, delivery: Delivery) -> datetime:
    """The Date header when it is plausible, else the provider's time, else our receipt time.

    The Date header is stable across provider retries (our receipt time is not),
    which keeps the contact id stable; a forged date far off is ignored.
    """
    anchor = delivery.provider_time or delivery.received_at
    date = parsed.headers.date
    if date is not None and anchor - DATE_MAX_AGE <= date <= anchor + DATE_MAX_AHEAD:
        return date
    return anchor


def _party(correspondent: Correspondent | None, assurance: Assurance) -> Party:
    if correspondent is None:
        return Party()
    found: tuple[Identifier, ...]
    try:
        found = (identifiers.email(correspondent.address, assurance),)
    except InvalidIdentifier:
        found = ()
    return Party(identifiers=found, display_name=correspondent.name)


def to_contact(parsed: ParsedEmail, delivery: Delivery, attachments: tuple[Attachment, ...]) -> Contact:
    """`attachments` are the parsed ones after storage (with storage keys where stored)."""
    headers = parsed.headers
    message_id = provider_message_id(parsed, delivery)
    at = occurred_at(parsed, delivery)
    ours = Correspondent(delivery.envelope_recipient) if delivery.envelope_recipient else None
    return Contact(
        contact_id=minted.contact_id(delivery.provider.value, message_id, at),
        channel=Channel.EMAIL,
        provider=delivery.provider,
        direction=Direction.INBOUND,
        provider_message_id=message_id,
        occurred_at=at,
        received_at=delivery.received_at,
        sender=_party(headers.sender, delivery.sender_assurance),
        recipient=_party(ours or (headers.to[0] if headers.to else None), Assurance.CHANNEL),
        thread=Thread(
            message_id=headers.message_id,
            in_reply_to=headers.in_reply_to,
            references=headers.references,
            subject=headers.subject,
            conversation_id=headers.conversation_key,
        ),
        content=Content(
            text=parsed.body.text,
            full_text=parsed.body.full_text,
            subject=headers.subject,
            attachments=attachments,
        ),
        claims=tuple(Claim(kind=ClaimKind.CASE_REFERENCE, value=ref) for ref in parsed.case_references),
        automated=parsed.automated is not None,
    )
