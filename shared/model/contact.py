"""The one contact schema every channel normalizes into (DESIGN.md section 2).

Models here are our own data, so they are strict (`extra="forbid"`): a field that
a parser invents by mistake fails loudly in tests instead of vanishing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _as_utc(value: datetime) -> datetime:
    """Every time we store is timezone-aware UTC, so keys sort and compare correctly."""
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a timezone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class Channel(StrEnum):
    X = "x"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"
    SMS = "sms"
    MMS = "mms"
    EMAIL = "email"
    VOICE = "voice"
    APP = "app"
    CHAT = "chat"  # a contact-center chat (Amazon Connect CHAT)
    TASK = "task"  # a contact-center work item (Amazon Connect TASK)


class Provider(StrEnum):
    X = "x"
    META = "meta"
    TWILIO = "twilio"
    EUM = "eum"
    SES = "ses"
    SENDGRID = "sendgrid"
    MAILGUN = "mailgun"
    CONNECT = "connect"
    APP = "app"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Assurance(StrEnum):
    """How far an identifier proves who sent a contact, strongest first."""

    VERIFIED = "verified"
    CHANNEL = "channel"
    WEAK = "weak"
    CLAIMED = "claimed"

    @property
    def rank(self) -> int:
        return _ASSURANCE_RANK[self]

    @property
    def finds_customer(self) -> bool:
        """Rule 2: only a sender identifier (channel or weak) looks a customer up."""
        return self.rank >= _ASSURANCE_RANK[Assurance.WEAK]


_ASSURANCE_RANK = {Assurance.VERIFIED: 3, Assurance.CHANNEL: 2, Assurance.WEAK: 1, Assurance.CLAIMED: 0}


class IdentifierKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    X = "x"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"
    APP = "app"
    CRM = "crm"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identifier(Strict):
    """A normalized identifier; build it with `shared.model.identifiers`, which normalizes once."""

    kind: IdentifierKind
    value: str = Field(min_length=1, max_length=320)
    assurance: Assurance

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.value}"


class Party(Strict):
    """Sender or recipient. No identifiers means anonymous (a withheld caller id, say)."""

    identifiers: tuple[Identifier, ...] = ()
    display_name: str | None = Field(default=None, max_length=256)
    handle: str | None = Field(default=None, max_length=256)

    @property
    def primary(self) -> Identifier | None:
        return self.identifiers[0] if self.identifiers else None


class Thread(Strict):
    """What threads a contact on its own channel."""

    message_id: str | None = Field(default=None, max_length=998)
    in_reply_to: str | None = Field(default=None, max_length=998)
    references: tuple[str, ...] = ()
    subject: str | None = Field(default=None, max_length=998)
    conversation_id: str | None = Field(default=None, max_length=256)
    call_id: str | None = Field(default=None, max_length=256)
    initial_contact_id: str | None = Field(default=None, max_length=256)
    previous_contact_id: str | None = Field(default=None, max_length=256)


class AttachmentType(StrEnum):
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    FILE = "file"
    LOCATION = "location"
    OTHER = "other"


class Attachment(Strict):
    type: AttachmentType
    url: str | None = Field(default=None, max_length=2048)
    storage_key: str | None = Field(default=None, max_length=1024)
    content_type: str | None = Field(default=None, max_length=255)
    size: int | None = Field(default=None, ge=0)
    name: str | None = Field(default=None, max_length=512)
    content_id: str | None = Field(default=None, max_length=998)


class Visibility(StrEnum):
    """Who else can read a contact: a public X mention is not a DM, and an agent answers it differently."""

    PRIVATE = "private"
    PUBLIC = "public"


class Content(Strict):
    text: str | None = None
    full_text: str | None = None
    subject: str | None = Field(default=None, max_length=998)
    attachments: tuple[Attachment, ...] = ()
    duration_s: int | None = Field(default=None, ge=0)
    status: str | None = Field(default=None, max_length=64)
    recording_url: str | None = Field(default=None, max_length=2048)
    transcript: str | None = None
    visibility: Visibility = Visibility.PRIVATE
    recording_duration_s: int | None = Field(default=None, ge=0)
    disconnect_reason: str | None = Field(default=None, max_length=64)


class ClaimKind(StrEnum):
    CASE_REFERENCE = "case_reference"
    EMAIL = "email"
    PHONE = "phone"
    ORDER = "order"


class Claim(Strict):
    """An identifier or reference found inside content: evidence, never proof (rule 4)."""

    kind: ClaimKind
    value: str = Field(min_length=1, max_length=320)

    @property
    def identifier(self) -> Identifier | None:
        """The identifier a phone or email claim names, at `claimed` assurance; None for references and orders."""
        kind = _CLAIMED_KINDS.get(self.kind)
        return Identifier(kind=kind, value=self.value, assurance=Assurance.CLAIMED) if kind else None


_CLAIMED_KINDS = {ClaimKind.EMAIL: IdentifierKind.EMAIL, ClaimKind.PHONE: IdentifierKind.PHONE}


class LinkRule(StrEnum):
    """Which rule of DESIGN.md section 4 linked a contact; stored so anyone can see why."""

    THREAD = "thread"
    REFERENCE = "reference"
    OPEN_CASE = "open_case"
    NEW_CASE = "new_case"
    ANONYMOUS = "anonymous"
    NO_CASE = "no_case"


class Link(Strict):
    rule: LinkRule
    evidence: str = Field(max_length=1024)
    customer_evidence: str = Field(max_length=1024)
    assurance: Assurance | None = None


class Revision(Strict):
    """Marks a contact as one version of a provider object that changes after it is reported (a call).

    A contact with a revision merges into the stored contact of the same provider
    message id instead of being dropped as a duplicate (rules in `shared.linking.calls`).
    """

    key: str = Field(min_length=1, max_length=256, description="What this version reports, e.g. `status:completed`")
    updated_at: UtcDatetime | None = Field(
        default=None, description="The provider's own last-update time (Connect LastUpdateTimestamp): newest wins"
    )
    partial: bool = Field(default=False, description="Names neither party (a recording callback): fills in only")


class DeliveryStatus(StrEnum):
    """Where an outbound reply is: queued → sending → sent → delivered | read | failed."""

    QUEUED = "queued"
    SENDING = "sending"  # the provider call has begun: a crash now leaves the outcome unknown
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class SendPolicy(StrEnum):
    """Which of the channel's rules let a reply go out (Meta's 24-hour window and its exceptions)."""

    STANDARD = "standard"  # no window on this channel (SMS, email, X)
    RESPONSE = "response"  # Messenger/Instagram within 24 h: messaging_type RESPONSE; WhatsApp free text
    HUMAN_AGENT = "human_agent"  # Messenger/Instagram up to 7 days: MESSAGE_TAG with tag HUMAN_AGENT
    TEMPLATE = "template"  # WhatsApp outside the 24-hour window: an approved template


class DeliveryError(Strict):
    code: str = Field(min_length=1, max_length=64, description="The provider's error code, or ours")
    message: str = Field(max_length=512)


class Template(Strict):
    """An approved WhatsApp message template and the values of its body parameters."""

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: str = Field(default="en_US", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    parameters: tuple[str, ...] = Field(default=(), max_length=20)


class Delivery(Strict):
    """An outbound reply's delivery, updated by the sender and by the providers' status callbacks."""

    status: DeliveryStatus
    updated_at: UtcDatetime
    policy: SendPolicy = SendPolicy.STANDARD
    template: Template | None = None
    attempts: int = Field(default=0, ge=0, description="Provider calls begun (a 429 or 5xx is retried)")
    provider_message_id: str | None = Field(
        default=None, max_length=256, description="The id the provider gave the message when it accepted it"
    )
    error: DeliveryError | None = None


class Contact(Strict):
    """One inbound or outbound interaction on one channel."""

    contact_id: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    channel: Channel
    provider: Provider
    direction: Direction
    provider_message_id: str = Field(min_length=1, max_length=256)
    occurred_at: UtcDatetime
    received_at: UtcDatetime
    sender: Party
    recipient: Party
    thread: Thread = Thread()
    content: Content = Content()
    claims: tuple[Claim, ...] = ()
    automated: bool = Field(default=False, description="Auto-replies, bounces and our own echoes never open a case")
    customer_id: str | None = None
    case_id: str | None = None
    link: Link | None = None
    revision: Revision | None = None
    delivery: Delivery | None = Field(default=None, description="Outbound replies sent through /v1: their delivery")

    @property
    def customer_party(self) -> Party:
        """The customer's side of the contact: the sender inbound, the recipient outbound."""
        return self.sender if self.direction is Direction.INBOUND else self.recipient
