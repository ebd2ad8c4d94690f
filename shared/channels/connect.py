"""Amazon Connect contact records, as streamed to Kinesis, → contacts.

Connect delivers a contact record at least once and again whenever the contact
changes (attributes set after the call, after-contact work, a recording that
becomes available). Every copy becomes a report keyed by ContactId whose
revision is the record's LastUpdateTimestamp: the processor keeps one contact
per ContactId and lets the newest copy's values win (`shared.linking.calls`).
Transfers and callbacks are new ContactIds that name the contact they continue
(PreviousContactId, InitialContactId); those are thread keys, so they land on
the same case.
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.channels.phone import phone_party
from shared.ingest.errors import MalformedPayload
from shared.model import identifiers, minted
from shared.model.contact import (
    Assurance,
    Attachment,
    AttachmentType,
    Channel,
    Claim,
    ClaimKind,
    Contact,
    Content,
    Direction,
    Party,
    Provider,
    Revision,
    Thread,
)
from shared.model.identifiers import InvalidIdentifier

CHANNELS = {"VOICE": Channel.VOICE, "CHAT": Channel.CHAT, "TASK": Channel.TASK, "EMAIL": Channel.EMAIL}
# Initiation methods where the business reached out: the customer is the recipient.
OUTBOUND_METHODS = frozenset({"OUTBOUND", "EXTERNAL_OUTBOUND", "CALLBACK", "AGENT_REPLY"})
# A supervisor listening in is not a contact with the customer; the monitored contact has its own record.
IGNORED_METHODS = frozenset({"MONITOR"})
# Contacts a flow creates by itself (a disconnect flow) thread onto a case but never open one.
FLOW_METHODS = frozenset({"DISCONNECT", "FLOW"})
_MEDIA_TYPES = {"AUDIO": AttachmentType.AUDIO, "VIDEO": AttachmentType.VIDEO, "CHAT": AttachmentType.FILE}


class _Record(BaseModel):
    """The fields of the contact record data model we read; Connect adds fields often."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Endpoint(_Record):
    Address: str | None = Field(default=None, max_length=256)
    Type: str | None = None


class RecordingInfo(_Record):
    Location: str | None = Field(default=None, max_length=1024)
    Status: str | None = None
    MediaStreamType: str | None = None
    Type: str | None = None  # the older `Recording` object names the media here


class ContactRecord(_Record):
    ContactId: str = Field(min_length=1, max_length=256)
    InitialContactId: str | None = Field(default=None, max_length=256)
    PreviousContactId: str | None = Field(default=None, max_length=256)
    RelatedContactId: str | None = Field(default=None, max_length=256)
    Channel: str
    InitiationMethod: str | None = None
    CustomerEndpoint: Endpoint | None = None
    SystemEndpoint: Endpoint | None = None
    InitiationTimestamp: datetime
    ConnectedToSystemTimestamp: datetime | None = None
    DisconnectTimestamp: datetime | None = None
    LastUpdateTimestamp: datetime
    DisconnectReason: str | None = Field(default=None, max_length=64)
    Attributes: dict[str, str | None] | None = None
    Recording: RecordingInfo | None = None
    Recordings: list[RecordingInfo] | None = Field(default=None, max_length=100)
    Name: str | None = Field(default=None, max_length=512)
    Description: str | None = Field(default=None, max_length=4096)


def parse(data: bytes, *, received_at: datetime, default_region: str, case_attribute: str) -> Contact | None:
    """One contact record (Kinesis record data) → its report; None for a record we do not store."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedPayload("contact record is not JSON") from error
    record = ContactRecord.model_validate(raw)
    channel = CHANNELS.get(record.Channel)
    method = record.InitiationMethod or "INBOUND"
    if channel is None or method in IGNORED_METHODS:
        return None
    outbound = method in OUTBOUND_METHODS or (method == "API" and channel is Channel.VOICE)
    customer = _customer(record.CustomerEndpoint, channel, default_region)
    system = _endpoint_party(record.SystemEndpoint, Assurance.CHANNEL, default_region)
    started = record.InitiationTimestamp
    return Contact(
        # InitiationTimestamp is the same in every copy, so every copy mints the same id.
        contact_id=minted.contact_id(Provider.CONNECT.value, record.ContactId, started),
        channel=channel,
        provider=Provider.CONNECT,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        provider_message_id=record.ContactId,
        occurred_at=started,
        received_at=received_at,
        sender=system if outbound else customer,
        recipient=customer if outbound else system,
        thread=Thread(
            call_id=record.ContactId,
            initial_contact_id=record.InitialContactId if record.InitialContactId != record.ContactId else None,
            # A task names the contact it is about as its related contact.
            previous_contact_id=record.PreviousContactId or record.RelatedContactId,
        ),
        content=_content(record),
        claims=_claims(record, case_attribute),
        automated=channel is Channel.TASK or method in FLOW_METHODS,
        revision=Revision(
            key=f"record:{record.LastUpdateTimestamp.isoformat()}", updated_at=record.LastUpdateTimestamp
        ),
    )


def _customer(endpoint: Endpoint | None, channel: Channel, default_region: str) -> Party:
    # A caller id proves little; a chat from a phone (SMS through Connect) is the carrier's sender.
    return _endpoint_party(endpoint, Assurance.WEAK if channel is Channel.VOICE else Assurance.CHANNEL, default_region)


def _endpoint_party(endpoint: Endpoint | None, assurance: Assurance, default_region: str) -> Party:
    if endpoint is None or not endpoint.Address:
        return Party()
    if endpoint.Type == "TELEPHONE_NUMBER":
        return phone_party(endpoint.Address, assurance, default_region)
    if endpoint.Type == "EMAIL_ADDRESS":
        try:
            # Connect says nothing about DMARC, so an address is weak evidence at best.
            return Party(identifiers=(identifiers.email(endpoint.Address, Assurance.WEAK),))
        except InvalidIdentifier:
            return Party()
    return Party(handle=endpoint.Address)


def _content(record: ContactRecord) -> Content:
    recordings = list(record.Recordings or ())
    if record.Recording and record.Recording.Location not in {r.Location for r in recordings}:
        recordings.insert(0, record.Recording)
    attachments = tuple(
        Attachment(type=_MEDIA_TYPES.get(r.MediaStreamType or r.Type or "AUDIO", AttachmentType.OTHER), storage_key=loc)
        for r in recordings
        if (loc := r.Location) and r.Status != "DELETED"
    )
    audio = next((a.storage_key for a in attachments if a.type is AttachmentType.AUDIO), None)
    ended = record.DisconnectTimestamp
    began = record.ConnectedToSystemTimestamp or record.InitiationTimestamp
    return Content(
        subject=record.Name,
        text=record.Description,
        status="completed" if ended else "in-progress",
        duration_s=max(0, int((ended - began).total_seconds())) if ended else None,
        recording_url=_s3_url(audio) if audio else None,
        disconnect_reason=record.DisconnectReason,
        attachments=attachments,
    )


def _s3_url(location: str) -> str:
    """Connect names a recording `bucket/key`; an s3:// URL says where that is."""
    return location if "://" in location else f"s3://{location}"


def _claims(record: ContactRecord, case_attribute: str) -> tuple[Claim, ...]:
    """An IVR that asked for the case reference stored it in an attribute: a claim (rule 5)."""
    typed = (record.Attributes or {}).get(case_attribute)
    reference = minted.parse_case_reference(typed) if typed else None
    return (Claim(kind=ClaimKind.CASE_REFERENCE, value=reference),) if reference else ()
