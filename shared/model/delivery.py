"""What travels on the outbound queue: a reply to send, a provider's delivery report, a consent change.

The queue is FIFO. A reply is grouped by its case, so two replies on one case go
out in the order they were written; a report by the reply it is about; a
consent change by the phone number it concerns. Webhooks build reports and
consent changes (they do no DynamoDB work); the sender function applies them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.model.contact import DeliveryError, DeliveryStatus, Provider, UtcDatetime

# What a provider call came to; adapters of AWS senders (SES, End User Messaging) answer these too.


@dataclass(frozen=True)
class Accepted:
    """The provider took the message and named it."""

    provider_message_id: str


@dataclass(frozen=True)
class Refused:
    """The provider refused it for good (a bad number, an unsubscribed recipient, a closed window)."""

    error: DeliveryError
    opted_out: bool = False


@dataclass(frozen=True)
class RetryLater:
    """Throttled (429) or a provider error (5xx): the message was not taken; try again after `after_s`."""

    reason: str
    after_s: int


@dataclass(frozen=True)
class Unknown:
    """The call began and no answer came back (a timeout): the provider may or may not have the message."""

    reason: str


SendOutcome = Accepted | Refused | RetryLater | Unknown


# Our contact ids (ULIDs): what a provider hands back as our correlation, when it is one of ours.
CONTACT_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")

# A complaint (the recipient marked a delivered reply as spam): recorded on the delivery, which stays delivered.
COMPLAINT = "complaint"

# The error code we record when a send began but its outcome never came back (docs/decisions.md).
OUTCOME_UNKNOWN = "outcome_unknown"


class DeliveryReport(BaseModel):
    """A provider's word on one of our messages: Twilio's status callback, a Meta status, an SES event.

    `contact_id` is set when the provider hands back the correlation we gave it
    (Twilio's StatusCallback URL, WhatsApp's biz_opaque_callback_data, an SES
    message tag); otherwise the provider's message id finds the reply.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Provider
    provider_message_id: str | None = Field(default=None, min_length=1, max_length=256)
    contact_id: str | None = Field(default=None, pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    status: DeliveryStatus
    error: DeliveryError | None = None
    occurred_at: UtcDatetime
    opted_out: bool = False  # the provider says the recipient unsubscribed (Twilio 21610)

    @property
    def key(self) -> str:
        return self.contact_id or f"{self.provider.value}#{self.provider_message_id}"


class ConsentChange(BaseModel):
    """An SMS keyword (STOP, START, ...) or a provider's opt-out error: replies to the number stop or resume."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phone: str = Field(pattern=r"^\+[1-9]\d{6,14}$")
    opted_out: bool
    at: UtcDatetime
    reason: str = Field(max_length=64, description="The keyword or error code, never the message text")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class SendReply(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["send"] = "send"
    contact_id: str
    case_id: str

    @property
    def group_id(self) -> str:
        return _digest("case", self.case_id)[:64]

    @property
    def deduplication_id(self) -> str:
        # A repeated API request within 5 minutes queues the reply once; the sender's state machine
        # makes a later duplicate harmless too.
        return _digest("send", self.contact_id)


class ReportDelivery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["report"] = "report"
    report: DeliveryReport

    @property
    def group_id(self) -> str:
        return _digest("reply", self.report.key)[:64]

    @property
    def deduplication_id(self) -> str:
        report = self.report
        return _digest("report", report.key, report.status.value, report.error.code if report.error else "")


class ChangeConsent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["consent"] = "consent"
    consent: ConsentChange

    @property
    def group_id(self) -> str:
        return _digest("phone", self.consent.phone)[:64]

    @property
    def deduplication_id(self) -> str:
        consent = self.consent
        return _digest("consent", consent.phone, str(consent.opted_out), consent.at.isoformat())


OutboundWork = Annotated[SendReply | ReportDelivery | ChangeConsent, Field(discriminator="type")]


class OutboundMessage(BaseModel):
    """The body of one outbound queue message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    work: OutboundWork

    @property
    def body(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @property
    def group_id(self) -> str:
        return self.work.group_id

    @property
    def deduplication_id(self) -> str:
        return self.work.deduplication_id
