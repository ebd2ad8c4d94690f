"""The store ports the linking use cases talk to: what they need of a table, not how it is kept.

`shared.adapters.dynamo` implements them against DynamoDB; `tests/fakes.py`
implements them in memory for fast unit tests, and `tests/contract` runs one
suite against both so the two cannot drift. Every method is one round trip
(docs/data-model.md counts them per contact).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from shared.model.contact import Assurance, Contact, Identifier
from shared.model.records import (
    ActiveCase,
    CaseRecord,
    LinkWrites,
    Lookup,
    OwnedIdentifier,
    Profile,
    StoredContact,
    VersionedContact,
)


class ContactStore(Protocol):
    """The processor's hot path (shared.linking.processor)."""

    def lookup(self, contact: Contact, identifiers: Sequence[Identifier], thread_keys: Sequence[str]) -> Lookup:
        """One consistent batch read: the contact's marker and own item, the case it would open, the hashed
        marker of an erasure, each identifier (not counting claims of this very contact) and its hint, each
        thread key."""
        ...

    def claim_identifier(self, identifier: Identifier, customer_id: str, by: Contact) -> str:
        """Attach an unowned identifier to `customer_id` for contact `by`; answers its owner (maybe a faster racer).

        `lookup` does not count an identifier as owned when `by` itself claimed it (an
        earlier delivery that did not finish), so a redelivery decides as the first did.
        """
        ...

    def hand_over_identifier(self, identifier: Identifier, from_customer: str, to_customer: str) -> None:
        """Move a claim made for a customer that lost its creation race to the winner (if still the loser's)."""
        ...

    def contest_identifier(self, identifier: Identifier, customer_id: str) -> None:
        """`customer_id` verified an identifier another customer owns: `lookup` reports it contested from now on."""
        ...

    def count_identifiers(self, customer_id: str, kind: str, *, up_to: int) -> int: ...

    def active_case(self, customer_id: str) -> ActiveCase:
        """The profile's active case, read consistently."""
        ...

    def continue_case(
        self, customer_id: str, case_id: str, contact: Contact, window_start: datetime
    ) -> ActiveCase | None:
        """Move the active case's last activity to the contact's time: None when done, else the profile as it is
        (the condition fails for another case, one outside the window, or a later contact already recorded)."""
        ...

    def keep_case(self, customer_id: str, case_id: str, contact: Contact) -> ActiveCase | None:
        """Join the active case whose activity is later than the contact (a reopen, a merge) without moving it
        back: None when done."""
        ...

    def open_case(self, customer_id: str, case_id: str, contact: Contact, window_start: datetime) -> ActiveCase | None:
        """Make `case_id` the active case unless an open case is still in the window: None when done."""
        ...

    def note_latest(self, customer_id: str, contact: Contact, window_start: datetime) -> ActiveCase | None:
        """Record a contact that joins no case (outbound, automated) as the customer's latest, creating the
        profile if need be, unless an open case is in the window or a later contact is recorded: None when
        done, else the profile as it is."""
        ...

    def follow_thread(self, customer_id: str, case_id: str, contact: Contact) -> ActiveCase | None:
        """A reply on a case's thread makes it the customer's most recently active case: None when done."""
        ...

    def ensure_profile(self, customer_id: str, at: datetime) -> None: ...

    # The late path (shared.linking.timeline): a contact older than what the profile recorded.

    def profile(self, customer_id: str) -> Profile | None: ...

    def recent_contacts(self, customer_ids: Sequence[str], since: datetime) -> list[StoredContact]:
        """Every contact of these customers from `since` on, with what each linked."""
        ...

    def cases_of(self, case_ids: Iterable[str]) -> dict[str, CaseRecord]: ...

    def relink(self, contact: Contact, writes: LinkWrites, was: str | None) -> None:
        """Move a stored contact to `contact.case_id` only if it is still on `was` (else `ConditionFailed`)."""
        ...

    def retire_case(self, case_id: str, into: str) -> None:
        """Mark a case whose contacts all joined `into` as merged into it (else `ConditionFailed`)."""
        ...

    def set_active(
        self,
        customer_id: str,
        seen: Profile,
        active: tuple[str, datetime] | None,
        latest: tuple[datetime, str] | None,
        first_seen: datetime | None = None,
    ) -> None:
        """Set the active case a replay decided, only if the profile is still as `seen` (else `ConditionFailed`);
        an earlier `first_seen` becomes the customer's creation time."""
        ...

    def save(self, contact: Contact, writes: LinkWrites) -> None:
        """The contact (recording `writes`), its dedupe marker and everything it links (one batch)."""
        ...

    def repair(self, contact: Contact, writes: LinkWrites, case_stored: bool) -> None:
        """`save` again for a redelivery of a stored contact, leaving an existing case record as it is."""
        ...

    def save_links(self, contact: Contact, writes: LinkWrites, case_stored: bool | None) -> None:
        """A call's links, before `put_versioned` writes the version that names them.

        The case it opened is written with them when known absent, left alone when known
        stored, and written only if absent (one more round trip) when not known.
        """
        ...

    def claim_message(self, contact: Contact) -> str:
        """Make `contact` the one stored under its provider message id; answers the owner's contact id."""
        ...

    def get_versioned(self, contact_id: str) -> VersionedContact | None: ...

    def put_versioned(self, contact: Contact, expected_version: int | None) -> VersionedContact | None:
        """Write as version `expected + 1` (1 when new): None when written, else what is stored."""
        ...


class IdentityStore(Protocol):
    """Verified merges and their undo (shared.linking.merging); conditional writes raise `ConditionFailed`."""

    def profile(self, customer_id: str) -> Profile | None: ...
    def identifiers(self, customer_id: str) -> list[OwnedIdentifier]: ...
    def identifier_owner(self, identifier: Identifier) -> OwnedIdentifier | None: ...
    def merge_log(self, merge_id: str) -> Mapping[str, Any] | None: ...
    def attach(self, identifier: Identifier, customer_id: str, at: datetime) -> str: ...
    def set_assurance(self, identifier: Identifier, customer_id: str, assurance: Assurance) -> None: ...
    def contest_identifier(self, identifier: Identifier, customer_id: str) -> None: ...
    def settle_dispute(self, identifier: Identifier, owner: str) -> None: ...
    def repoint(self, identifier: Identifier, source: str, target: str, merge_id: str | None) -> None: ...
    def mark_merged(self, merged: str, survivor: str, merge_id: str) -> None: ...
    def absorb(self, survivor: Profile, merged: str, active: tuple[str, str] | None) -> None: ...
    def restore_profile(self, merged: Profile, merge_id: str) -> None: ...
    def release(
        self, survivor: str, merged: str, restore_to: tuple[str, str] | None, set_by_merge: tuple[str, str] | None
    ) -> None: ...
    def relate_case(self, case_id: str, related_to: str | None, merge_id: str) -> None: ...
    def put_merge_log(self, merge_id: str, survivor: str, log: Mapping[str, Any], at: str) -> None: ...
    def set_merge_state(self, merge_id: str, state: str, expected: str, extra: Mapping[str, Any]) -> None: ...
