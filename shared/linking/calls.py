"""How later news about a call merges into its stored contact: pure rules, no I/O.

A call is reported several times: Twilio's incoming-call webhook, then status,
recording and transcription callbacks; Amazon Connect re-delivers its contact
record whenever it changes. Each report is a `Contact` with a `Revision`, keyed
by the same provider message id. `merge` folds any two reports into one, and it
is built so that the order and repetition of reports do not matter: merging is
commutative, associative and idempotent on everything but `contact_id`, which
is the stored contact's (its table key cannot move).

Field by field:
- status by lifecycle precedence: a terminal status beats `ringing` and
  `in-progress` whatever the order of arrival;
- durations take the larger value, so a late `ringing` never erases one;
- every other field fills in: a value that was set is never lost; when two
  reports disagree, the preferred one wins: the newer provider snapshot
  (`Revision.updated_at`, Connect's LastUpdateTimestamp), then the larger
  revision key, an arbitrary but fixed choice;
- claims and attachments are unions, parties unite their identifiers at the
  strongest assurance either report gave;
- the customer, case and link of the stored contact stay: a merge never
  re-runs resolution (the processor links a contact once, see `needs_linking`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypeVar

from shared.model.contact import Contact, Content, Identifier, Party, Revision, Thread

Value = TypeVar("Value")

# Call lifecycle, earliest first. Statuses outside the list rank below all of them.
_LIFECYCLE: dict[str, int] = {
    "queued": 0,
    "initiated": 0,
    "ringing": 1,
    "in-progress": 2,
    "busy": 3,
    "no-answer": 3,
    "failed": 3,
    "canceled": 3,
    "completed": 3,
}
TERMINAL_STATUSES = frozenset(status for status, rank in _LIFECYCLE.items() if rank == 3)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def status_rank(status: str | None) -> tuple[int, str]:
    """Lifecycle precedence; ties between two terminal statuses break on the name, so merges agree."""
    if status is None:
        return (-2, "")
    return (_LIFECYCLE.get(status, -1), status)


def needs_linking(contact: Contact) -> bool:
    """A merged call is linked once, by the first report that names its parties."""
    partial = contact.revision is not None and contact.revision.partial
    return contact.link is None and not partial


def merge(stored: Contact, update: Contact) -> Contact:
    """The stored contact with everything `update` adds (see the module docstring for the rules)."""
    if (stored.provider, stored.provider_message_id) != (update.provider, update.provider_message_id):
        raise ValueError("only reports about the same provider object merge")
    preferred, other = _by_preference(stored, update)
    resolved = stored if stored.link is not None or update.link is None else update
    return stored.model_copy(
        update={
            "occurred_at": min(stored.occurred_at, update.occurred_at),
            "received_at": min(stored.received_at, update.received_at),
            "direction": preferred.direction,
            "sender": _merge_party(preferred.sender, other.sender),
            "recipient": _merge_party(preferred.recipient, other.recipient),
            "thread": _fill(Thread, preferred.thread, other.thread),
            "content": _merge_content(preferred.content, other.content),
            "claims": _union(preferred.claims, other.claims),
            "automated": stored.automated or update.automated,
            "customer_id": resolved.customer_id,
            "case_id": resolved.case_id,
            "link": resolved.link,
            "revision": _merge_revision(preferred.revision, other.revision),
        }
    )


def _preference(contact: Contact) -> tuple[datetime, str]:
    revision = contact.revision
    if revision is None:
        return (_EARLIEST, "")
    return (revision.updated_at or _EARLIEST, revision.key)


def _by_preference(first: Contact, second: Contact) -> tuple[Contact, Contact]:
    if _preference(second) > _preference(first):
        return second, first
    return first, second


def _merge_revision(preferred: Revision | None, other: Revision | None) -> Revision | None:
    if preferred is None or other is None:
        return preferred or other
    stamps = [stamp for stamp in (preferred.updated_at, other.updated_at) if stamp is not None]
    return Revision(
        key=preferred.key,
        updated_at=max(stamps) if stamps else None,
        partial=preferred.partial and other.partial,
    )


def _merge_content(preferred: Content, other: Content) -> Content:
    filled = _fill(Content, preferred, other)
    return filled.model_copy(
        update={
            "status": max(preferred.status, other.status, key=status_rank),
            "duration_s": _largest(preferred.duration_s, other.duration_s),
            "recording_duration_s": _largest(preferred.recording_duration_s, other.recording_duration_s),
            "attachments": _union(preferred.attachments, other.attachments),
        }
    )


def _merge_party(preferred: Party, other: Party) -> Party:
    """Identifiers of both, each at the strongest assurance seen; the fuller party's order first."""
    first, second = (other, preferred) if len(other.identifiers) > len(preferred.identifiers) else (preferred, other)
    strongest: dict[str, Identifier] = {}
    for identifier in (*first.identifiers, *second.identifiers):
        known = strongest.get(identifier.key)
        if known is None or identifier.assurance.rank > known.assurance.rank:
            strongest[identifier.key] = identifier
    return Party(
        identifiers=tuple(strongest.values()),
        display_name=preferred.display_name or other.display_name,
        handle=preferred.handle or other.handle,
    )


Model = TypeVar("Model", Thread, Content)


def _fill(model: type[Model], preferred: Model, other: Model) -> Model:
    """Each field from `preferred` unless it is unset there (None or empty), then from `other`."""
    values = {}
    for name in model.model_fields:
        mine = getattr(preferred, name)
        values[name] = mine if mine not in (None, (), "") else getattr(other, name)
    return model.model_validate(values)


def _union(first: Iterable[Value], second: Iterable[Value]) -> tuple[Value, ...]:
    return tuple(dict.fromkeys((*first, *second)))


def _largest(first: int | None, second: int | None) -> int | None:
    present = [value for value in (first, second) if value is not None]
    return max(present) if present else None
