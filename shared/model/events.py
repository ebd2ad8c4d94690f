"""The events CRM sync consumers receive: one stable envelope, one typed payload per event type.

Each class below is published as a JSON Schema under docs/schemas/<type>.json
(`python -m shared.events.schemas` writes them; a test fails when a model
changes without its schema). A change that breaks consumers bumps that type's
`schema_version`; adding an optional field does not.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.model.contact import Contact, Identifier, UtcDatetime
from shared.model.records import CaseRecord, CustomerRecord

EVENT_SOURCE = "threadline"  # the EventBridge `source` of every event


class EventType(StrEnum):
    """Also the EventBridge `detail-type`, so a rule can match on it."""

    CONTACT_RECEIVED = "contact.received"
    CONTACT_UPDATED = "contact.updated"
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_MERGED = "customer.merged"
    CUSTOMER_UNMERGED = "customer.unmerged"
    CUSTOMER_ERASED = "customer.erased"
    CASE_OPENED = "case.opened"
    CASE_UPDATED = "case.updated"
    CASE_CLOSED = "case.closed"
    IDENTITY_SUGGESTED = "identity.suggested"
    REPLY_SENT = "reply.sent"
    REPLY_DELIVERED = "reply.delivered"
    REPLY_FAILED = "reply.failed"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerMergedData(_Payload):
    merge_id: str = Field(description="Names the merge; `POST /v1/merges/{merge_id}/undo` reverses it")
    surviving_customer_id: str
    merged_customer_id: str = Field(description="Now answers with the surviving id")
    evidence: str = Field(max_length=1024, description="The verified evidence that allowed the merge")
    merged_at: UtcDatetime


class CustomerUnmergedData(_Payload):
    merge_id: str
    surviving_customer_id: str
    restored_customer_id: str = Field(description="The customer the undone merge had absorbed, active again")
    unmerged_at: UtcDatetime


class CustomerErasedData(_Payload):
    """Ids only: the person's data is gone from Threadline, and consumers should erase their copy."""

    customer_id: str
    erased_at: UtcDatetime


class IdentitySuggestedData(_Payload):
    """A claimed identifier (typed in a message) that an agent, a CRM or a one-time code may confirm."""

    contact_id: str = Field(description="The contact the identifier was found in")
    customer_id: str | None = Field(description="The customer who sent that contact, if resolved")
    identifier: Identifier = Field(description="The claimed identifier, normalized")
    candidate_customer_id: str | None = Field(description="The customer who already owns the identifier, if any")
    case_id: str | None
    evidence: str = Field(max_length=1024)


class EventEnvelope(BaseModel):
    """What every event carries, whatever its type; the EventBridge `detail` is exactly this."""

    # `type` and `schema_version` have defaults but are always sent: the schema says so.
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)

    event_id: UUID = Field(
        description="Stable across redeliveries and replays of the same stored change: consumers dedupe on it"
    )
    type: EventType
    time: UtcDatetime = Field(description="When the change was stored (the stream's approximate creation time)")
    schema_version: Literal[1] = 1
    customer_id: str | None = Field(description="The customer the event is about, if any")
    case_id: str | None = Field(description="The case the event is about, if any")
    data: BaseModel


class ContactReceived(EventEnvelope):
    """A contact was stored for the first time, already linked to its customer and case."""

    type: Literal[EventType.CONTACT_RECEIVED] = EventType.CONTACT_RECEIVED
    data: Contact


class ContactUpdated(EventEnvelope):
    """A stored contact changed (a call's status, duration, recording or transcript); `data` is all of it."""

    type: Literal[EventType.CONTACT_UPDATED] = EventType.CONTACT_UPDATED
    data: Contact


class CustomerCreated(EventEnvelope):
    """A new customer profile was created from the first contact of an unknown sender."""

    type: Literal[EventType.CUSTOMER_CREATED] = EventType.CUSTOMER_CREATED
    data: CustomerRecord


class CustomerMerged(EventEnvelope):
    """Two customers were merged on verified evidence; `customer_id` is the surviving one."""

    type: Literal[EventType.CUSTOMER_MERGED] = EventType.CUSTOMER_MERGED
    data: CustomerMergedData


class CustomerUnmerged(EventEnvelope):
    """A merge was undone; `customer_id` is the surviving customer of that merge."""

    type: Literal[EventType.CUSTOMER_UNMERGED] = EventType.CUSTOMER_UNMERGED
    data: CustomerUnmergedData


class CustomerErased(EventEnvelope):
    """A person's data was erased (`DELETE /v1/customers/{id}`)."""

    type: Literal[EventType.CUSTOMER_ERASED] = EventType.CUSTOMER_ERASED
    data: CustomerErasedData


class CaseOpened(EventEnvelope):
    """A contact opened a new case."""

    type: Literal[EventType.CASE_OPENED] = EventType.CASE_OPENED
    data: CaseRecord


class CaseUpdated(EventEnvelope):
    """A stored case changed other than by closing (reopened, reassigned, ...); `data` is the case now."""

    type: Literal[EventType.CASE_UPDATED] = EventType.CASE_UPDATED
    data: CaseRecord


class CaseClosed(EventEnvelope):
    """A case's status became closed."""

    type: Literal[EventType.CASE_CLOSED] = EventType.CASE_CLOSED
    data: CaseRecord


class IdentitySuggested(EventEnvelope):
    """A contact quoted an identifier or case reference its sender does not own: a link to confirm."""

    type: Literal[EventType.IDENTITY_SUGGESTED] = EventType.IDENTITY_SUGGESTED
    data: IdentitySuggestedData


class ReplySent(EventEnvelope):
    """An agent's reply was accepted by its provider; `data.delivery.provider_message_id` is the provider's id."""

    type: Literal[EventType.REPLY_SENT] = EventType.REPLY_SENT
    data: Contact


class ReplyDelivered(EventEnvelope):
    """The provider reports the reply delivered to the customer (or read, which implies it): once per reply."""

    type: Literal[EventType.REPLY_DELIVERED] = EventType.REPLY_DELIVERED
    data: Contact


class ReplyFailed(EventEnvelope):
    """The reply will not reach the customer: `data.delivery.error` says why (the provider's code, or
    `outcome_unknown` when a send's answer was lost and it was not sent again)."""

    type: Literal[EventType.REPLY_FAILED] = EventType.REPLY_FAILED
    data: Contact


ThreadlineEvent = Annotated[
    ContactReceived
    | ContactUpdated
    | CustomerCreated
    | CustomerMerged
    | CustomerUnmerged
    | CustomerErased
    | CaseOpened
    | CaseUpdated
    | CaseClosed
    | IdentitySuggested
    | ReplySent
    | ReplyDelivered
    | ReplyFailed,
    Field(discriminator="type"),
]

EVENT_MODELS: dict[EventType, type[EventEnvelope]] = {
    EventType.CONTACT_RECEIVED: ContactReceived,
    EventType.CONTACT_UPDATED: ContactUpdated,
    EventType.CUSTOMER_CREATED: CustomerCreated,
    EventType.CUSTOMER_MERGED: CustomerMerged,
    EventType.CUSTOMER_UNMERGED: CustomerUnmerged,
    EventType.CUSTOMER_ERASED: CustomerErased,
    EventType.CASE_OPENED: CaseOpened,
    EventType.CASE_UPDATED: CaseUpdated,
    EventType.CASE_CLOSED: CaseClosed,
    EventType.IDENTITY_SUGGESTED: IdentitySuggested,
    EventType.REPLY_SENT: ReplySent,
    EventType.REPLY_DELIVERED: ReplyDelivered,
    EventType.REPLY_FAILED: ReplyFailed,
}

event_adapter: TypeAdapter[ThreadlineEvent] = TypeAdapter(ThreadlineEvent)
