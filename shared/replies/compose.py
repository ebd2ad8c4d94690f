"""An agent's reply as an outbound contact of its case: ids, parties, threading, delivery `queued`. Pure.

The reply is stored before it is sent, under a provider message id of our own
(`reply:<digest>`): derived from the case and the Idempotency-Key when there is
one, so a retried request finds the reply it already stored. The provider's id
is added to `delivery` once the provider accepts the message.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime

from shared.model import minted
from shared.model.contact import (
    Attachment,
    AttachmentType,
    Channel,
    Contact,
    Content,
    Delivery,
    DeliveryStatus,
    Direction,
    Link,
    LinkRule,
    Party,
    Thread,
)
from shared.model.records import CaseRecord
from shared.replies.rules import Route

REPLY_ID_PREFIX = "reply:"
_RE_PREFIX = re.compile(r"^\s*(re|aw|sv|antw)\s*:\s*", re.IGNORECASE)


def reply_id(case_id: str, idempotency_key: str | None) -> str:
    """Our own message id for a reply: the same for a retried request with the same key."""
    if idempotency_key is None:
        return REPLY_ID_PREFIX + uuid.uuid4().hex
    return REPLY_ID_PREFIX + hashlib.sha256(f"{case_id}\x1f{idempotency_key}".encode()).hexdigest()[:40]


def email_message_id(contact_id: str, from_address: str) -> str:
    """Our Message-ID (stored without angle brackets, like every Message-ID): unique, on our domain."""
    return f"{contact_id.lower()}.reply@{from_address.rpartition('@')[2]}"


def email_subject(answered_subject: str | None, reference: str) -> str:
    """`Re: <their subject> [TL-…]`: one `Re:`, and the case reference a customer's answer can quote."""
    subject = _RE_PREFIX.sub("", answered_subject or "").strip() or "Your request"
    if reference not in subject:
        subject = f"{subject} [{reference}]"
    return f"Re: {subject}"[:998]


def _thread(route: Route, case: CaseRecord, contact_id: str, email_from: str) -> tuple[Thread, str | None]:
    answered = route.answered
    if route.channel is Channel.EMAIL:
        asked = answered.thread
        references = tuple(dict.fromkeys([*asked.references, *([asked.message_id] if asked.message_id else [])]))
        subject = email_subject(asked.subject or answered.content.subject, case.reference)
        thread = Thread(
            message_id=email_message_id(contact_id, email_from),
            in_reply_to=asked.message_id,
            references=references[-20:],
            subject=subject,
        )
        return thread, subject
    if route.channel is Channel.X and route.visibility.value == "public":
        # A public reply answers the customer's post; our post's own id becomes its thread key once sent.
        return Thread(in_reply_to=answered.provider_message_id), None
    return Thread(), None


def outbound_contact(
    route: Route,
    case: CaseRecord,
    *,
    text: str | None,
    attachment_urls: tuple[str, ...],
    our_message_id: str,
    now: datetime,
    email_from: str,
) -> Contact:
    provider = route.provider
    contact_id = minted.contact_id(provider.value, our_message_id, now)
    thread, subject = _thread(route, case, contact_id, email_from)
    business = route.answered.recipient
    sender = Party(identifiers=business.identifiers, handle=business.handle, display_name=business.display_name)
    if route.channel is Channel.EMAIL:
        sender = Party(handle=email_from)
    recipient = Party(
        identifiers=(route.recipient,),
        display_name=route.answered.sender.display_name,
        handle=route.answered.sender.handle,
    )
    attachments = tuple(Attachment(type=AttachmentType.FILE, url=url) for url in attachment_urls)
    return Contact(
        contact_id=contact_id,
        channel=route.channel,
        provider=provider,
        direction=Direction.OUTBOUND,
        provider_message_id=our_message_id,
        occurred_at=now,
        received_at=now,
        sender=sender,
        recipient=recipient,
        thread=thread,
        content=Content(text=text, subject=subject, attachments=attachments, visibility=route.visibility),
        customer_id=case.customer_id,
        case_id=case.case_id,
        link=Link(
            rule=LinkRule.REFERENCE,
            evidence=f"agent reply on case {case.reference}",
            customer_evidence="the case's customer",
        ),
        delivery=Delivery(status=DeliveryStatus.QUEUED, updated_at=now, policy=route.policy, template=route.template),
    )
