"""AWS End User Messaging SMS two-way messages, as published to an SNS topic, → contacts.

The SNS notification's Message is the inbound SMS as JSON. The sender is a
phone number at channel assurance, exactly like a Twilio SMS sender, so the
same person texting either number, or calling, is one customer.
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.channels.phone import phone_party
from shared.ingest.errors import MalformedPayload
from shared.model import minted
from shared.model.contact import Assurance, Channel, Contact, Content, Direction, Provider, Thread


class InboundSms(BaseModel):
    """The two-way SMS payload; fields we do not read are ignored, as AWS adds some."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    originationNumber: str = Field(min_length=1, max_length=64)
    destinationNumber: str = Field(min_length=1, max_length=64)
    messageBody: str | None = None
    messageKeyword: str | None = None
    inboundMessageId: str = Field(min_length=1, max_length=256)
    previousPublishedMessageId: str | None = Field(default=None, max_length=998)


def parse(message: str, *, published_at: str, received_at: datetime, default_region: str) -> Contact:
    """One SNS Message → one contact; SNS's publish time (its ISO 8601 Timestamp) is the message time."""
    try:
        raw = json.loads(message)
        sent = datetime.fromisoformat(published_at)
    except json.JSONDecodeError as error:
        raise MalformedPayload("SNS message is not JSON") from error
    except ValueError as error:
        raise MalformedPayload("SNS Timestamp is not ISO 8601") from error
    sms = InboundSms.model_validate(raw)
    return Contact(
        contact_id=minted.contact_id(Provider.EUM.value, sms.inboundMessageId, sent),
        channel=Channel.SMS,
        provider=Provider.EUM,
        direction=Direction.INBOUND,
        provider_message_id=sms.inboundMessageId,
        occurred_at=sent,
        received_at=received_at,
        sender=phone_party(sms.originationNumber, Assurance.CHANNEL, default_region),
        recipient=phone_party(sms.destinationNumber, Assurance.CHANNEL, default_region),
        # The id of our message this one answers: threads it once outbound SMS are stored with their id.
        thread=Thread(in_reply_to=sms.previousPublishedMessageId),
        content=Content(text=sms.messageBody or None),
    )
