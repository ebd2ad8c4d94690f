"""The records and value types the rules, the use cases and the store share (no I/O).

Use cases talk to the store through ports (`shared.linking.ports`,
`shared.api.ports`) in these types, so the store never imports the rules and
the rules never see an item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.model.contact import Assurance, Channel, Contact, Identifier, UtcDatetime


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"  # its contacts joined an earlier case when a late contact bridged the gap between them


class CaseRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    customer_id: str | None
    reference: str
    status: CaseStatus
    opened_at: UtcDatetime
    opened_by: str
    channel: Channel
    # Set when a merge kept two open cases: the one that stayed the customer's active case.
    related_case_id: str | None = None
    status_changed_at: UtcDatetime | None = None  # when an agent last closed or reopened it
    merged_into: str | None = None  # status `merged`: the case its contacts now belong to

    def open_at(self, moment: datetime) -> bool:
        """Whether a contact at `moment` could join it: open, or closed only after that moment."""
        if self.status is CaseStatus.OPEN:
            return True
        if self.status is CaseStatus.CLOSED:
            return self.status_changed_at is not None and moment < self.status_changed_at
        return False


class CustomerRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    status: str
    created_at: UtcDatetime
    active_case_id: str | None
    active_case_at: datetime | None


class IdentityRecord(BaseModel):
    """Who owns an identifier, and how strongly that was established."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identifier: Identifier
    customer_id: str
    assurance: Assurance
    first_seen: UtcDatetime
    contested_with: tuple[str, ...] = ()  # other customers who verified it too: it finds none of them


@dataclass(frozen=True)
class Profile:
    customer_id: str
    status: str
    created_at: str
    merged_into: str | None
    active_case_id: str | None
    active_case_at: str | None
    merge_id: str | None = None  # the merge that pointed this profile at `merged_into`
    latest_at: str | None = None  # provider time of the latest contact that moved the active case
    latest_contact: str | None = None  # that contact's id
    absorbed: frozenset[str] = frozenset()  # customers merged into this one

    @property
    def active(self) -> tuple[str, str] | None:
        """The active case and its last activity (sortable time), if it has one."""
        return (self.active_case_id, self.active_case_at) if self.active_case_id and self.active_case_at else None

    @classmethod
    def from_item(cls, customer_id: str, item: Mapping[str, Any]) -> Profile:
        return cls(
            customer_id=customer_id,
            status=item.get("status", "active"),
            created_at=item.get("created_at", ""),
            merged_into=item.get("merged_into"),
            active_case_id=item.get("active_case_id"),
            active_case_at=item.get("active_case_at"),
            merge_id=item.get("merge_id"),
            latest_at=item.get("latest_at"),
            latest_contact=item.get("latest_contact"),
            absorbed=frozenset(item.get("absorbed", ())),
        )


@dataclass(frozen=True)
class OwnedIdentifier:
    identifier: Identifier
    customer_id: str
    merged_by: str | None


@dataclass(frozen=True)
class ThreadHit:
    """A thread key already in the table: which case (and customer) it belongs to."""

    key: str
    case_id: str
    customer_id: str | None


@dataclass(frozen=True)
class ActiveCase:
    """The customer's most recently active open case, as the profile records it."""

    case_id: str | None
    last_activity: datetime | None
    merged_into: str | None = None  # the profile was merged: the contact belongs to this survivor
    latest_at: datetime | None = None  # the latest contact that moved it: a contact older than that is late

    def is_late(self, moment: datetime) -> bool:
        """Another contact of this customer, later in provider time, already moved the active case.

        Only contacts count: an agent's reopen or a merge may set an activity time later
        than a contact that is not late at all (it joins that case without moving it back).
        """
        return self.latest_at is not None and moment < self.latest_at


NO_ACTIVE_CASE = ActiveCase(case_id=None, last_activity=None)


class Suggestion(BaseModel):
    """A suggested identity link (rule 4), for a person to confirm; the stream makes it `identity.suggested`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: str
    customer_id: str | None  # who sent the contact
    identifier: Identifier  # at `claimed` assurance
    candidate_customer_id: str | None  # who already owns it (or whose case was quoted), if anyone
    case_id: str | None
    evidence: str

    @property
    def item_key(self) -> str:
        """One suggestion per (contact, identifier, candidate): a redelivery rewrites the same item."""
        candidate = f"#{self.candidate_customer_id}" if self.candidate_customer_id else ""
        return f"{self.identifier.key}{candidate}"


@dataclass(frozen=True)
class VersionedContact:
    """A contact that later reports merge into (a call), with the version its item holds.

    Every write of such an item is conditional on the version it read, so two
    processors merging into one call never overwrite each other (docs/channels/telephony.md).
    """

    contact: Contact
    version: int


@dataclass(frozen=True)
class StoredContact:
    """A stored contact and what it linked, as the late path reads them back."""

    contact: Contact
    links: LinkWrites


@dataclass(frozen=True)
class CaseHint:
    """The case an identifier last wrote to: a guess that saves a round trip, never a truth."""

    customer_id: str
    case_id: str
    at: datetime


@dataclass(frozen=True)
class Lookup:
    """What the first round trip of the hot path found for one contact (docs/data-model.md)."""

    duplicate_of: str | None = None  # the contact id its provider message id is stored under
    owners: Mapping[str, str] = field(default_factory=dict)  # identifier key → owning customer id
    hints: Mapping[str, CaseHint] = field(default_factory=dict)  # identifier key → its hint
    threads: Mapping[str, ThreadHit] = field(default_factory=dict)  # thread key → the case it names
    stored: VersionedContact | None = None  # the contact's own item, when an earlier delivery wrote it
    stored_links: LinkWrites | None = None  # what that delivery linked, to be written again after a crash
    candidate_case_exists: bool = False  # the case this contact would open (case_<contact id>) is stored
    erased: bool = False  # this provider message belonged to a customer who was erased
    contested: Mapping[str, frozenset[str]] = field(default_factory=dict)  # identifier key → other verified holders
    own_claims: Mapping[str, str] = field(default_factory=dict)  # identifier key → owner, claimed by this contact
    merged_by: Mapping[str, str] = field(default_factory=dict)  # identifier key → the merge that moved it

    def owners_of(self, identifiers: Iterable[Identifier]) -> dict[str, str]:
        return {i.key: self.owners[i.key] for i in identifiers if i.key in self.owners}

    def thread_hits(self, thread_keys: Iterable[str]) -> dict[str, ThreadHit]:
        return {key: self.threads[key] for key in thread_keys if key in self.threads}

    def hint(self, identifiers: Iterable[Identifier], customer_id: str) -> ActiveCase:
        """The freshest case any of these identifiers last wrote to for this customer: a guess, never a truth."""
        mine = [h for i in identifiers if (h := self.hints.get(i.key)) is not None and h.customer_id == customer_id]
        if not mine:
            return NO_ACTIVE_CASE
        freshest = max(mine, key=lambda hint: hint.at)
        return ActiveCase(case_id=freshest.case_id, last_activity=freshest.at)

    def versioned(self, contact_id: str) -> VersionedContact | None:
        stored = self.stored
        return stored if stored is not None and stored.contact.contact_id == contact_id else None


@dataclass(frozen=True)
class CustomerState:
    """A profile and whether the customer was erased, read in one round trip."""

    profile: CustomerRecord | None
    erased_at: datetime | None
    absorbed: frozenset[str] = frozenset()  # customers merged into this one


@dataclass(frozen=True)
class TimelineFilter:
    channel: Channel | None = None
    since: datetime | None = None
    case_id: str | None = None

    @property
    def filters_items(self) -> bool:
        """`since` is a key condition; only channel and case need a FilterExpression."""
        return self.channel is not None or self.case_id is not None


@dataclass(frozen=True)
class CaseChange:
    """A case after close/reopen; `changed` is False when it already had that status (idempotent)."""

    case: CaseRecord
    changed: bool


@dataclass(frozen=True)
class ErasureResult:
    erased_at: datetime
    deleted_items: int


class LinkWrites(BaseModel):
    """What a contact writes besides itself: its thread keys, the case it opened, hints and suggestions.

    Stored with the contact (`links`), so a redelivery after a crash rewrites
    exactly what the first delivery decided instead of deciding again.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    opened_case: CaseRecord | None = None
    thread_keys: tuple[str, ...] = ()
    case_owner: str | None = None  # the customer whose case the thread keys name (its owner, not the sender)
    hint_identifiers: tuple[Identifier, ...] = ()
    suggested: tuple[Suggestion, ...] = ()


class MergeState(StrEnum):
    """A merge log moves applying → applied → undoing → undone; `abandoned` when it never applied."""

    APPLYING = "applying"
    APPLIED = "applied"
    UNDOING = "undoing"
    UNDONE = "undone"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class MergeLogRecord:
    merge_id: str
    state: str
    surviving_customer_id: str
    merged_customer_id: str
    evidence: str
    merged_at: datetime
    undone_at: datetime | None = None


@dataclass(frozen=True)
class ErasureRecord:
    """What an erased customer leaves: ids and a time only."""

    customer_id: str
    erased_at: datetime


class StoredKind(StrEnum):
    """The kinds of stored item a change can be about; dedupe markers, hints and keys are not among them."""

    CONTACT = "contact"
    CUSTOMER = "customer"
    CASE = "case"
    ERASURE = "erasure"
    MERGE_LOG = "merge_log"
    SUGGESTION = "suggestion"


StoredRecord = Contact | CustomerRecord | CaseRecord | ErasureRecord | MergeLogRecord | Suggestion


@dataclass(frozen=True)
class StoredChange:
    """One change the table recorded, decoded: the record before and after (None where there was none)."""

    change_id: str  # the stream record's id: events derived from it take their ids from it
    at: datetime
    kind: StoredKind
    before: StoredRecord | None
    after: StoredRecord | None

    @property
    def created(self) -> StoredRecord | None:
        """The record, when this change stored it where nothing was."""
        return self.after if self.before is None else None
