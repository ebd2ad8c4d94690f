"""Where a contact that arrived late lands: rule 5 replayed over the customer's recent contacts, on provider time.

Pure. A contact is late when a contact of the same customer with a later
provider time has already moved the customer's active case (a DLQ redrive, a
provider retrying after an outage, a replay). Live, it would have been linked
before those contacts, and they after it: they might have joined its case
instead of opening their own, or joined the case it followed by a thread key.
`refold` replays the open-case rule (DESIGN.md rule 5, third and fourth match)
over every contact from one reopen window before the late one onwards, in
provider-time order, and says what changes. Contacts linked by a thread key or a
case reference go where their key leads after the replay (the case of the contact
that owns the key, or of the one that opened the quoted case); contacts before
the late one keep theirs. Contacts that joined no case (outbound, automated)
are replayed too: live, they might have joined the late one's case. Case ids are
named after the contact that opens them, so the result does not depend on the
order the contacts arrived in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from shared.linking import rules
from shared.model import minted, thread_keys
from shared.model.contact import Assurance, Contact, Link, LinkRule
from shared.model.records import CaseRecord, CaseStatus

REFOLDED = "re-linked on provider time after a late contact"


class Kind(Enum):
    FIXED = "fixed"  # linked by its own thread key or case reference: keeps its case, moves the active one
    CLAIMED = "claimed"  # linked to another customer's case: keeps it, moves nothing
    WINDOW = "window"  # linked by the open-case rule: its case follows from the contacts before it


@dataclass(frozen=True)
class Entry:
    contact: Contact
    kind: Kind

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.contact.occurred_at, self.contact.contact_id)


@dataclass(frozen=True)
class Refold:
    late_case: str | None  # the case the late contact joins (or opens)
    late_opens: bool
    late_rule: LinkRule
    moved: tuple[Contact, ...]  # stored contacts whose case changes, with their new case and link
    opened: tuple[str, ...]  # cases a moved contact opens now
    retired: tuple[tuple[str, str], ...]  # (case, the case its contacts joined): emptied by the replay
    active: tuple[str, datetime] | None  # the active case after the replay, and its last activity
    before_active: tuple[str, datetime] | None  # what the stored contacts made it, before the replay
    latest: tuple[datetime, str] | None  # provider time and id of the customer's latest contact


def kind_of(contact: Contact) -> Kind | None:
    """How a stored contact was linked; None for one that is not the customer's own timeline (anonymous)."""
    link = contact.link
    if link is None or link.rule is LinkRule.ANONYMOUS:
        return None
    if link.assurance is Assurance.CLAIMED:
        return Kind.CLAIMED
    if link.rule in (LinkRule.THREAD, LinkRule.REFERENCE):
        return Kind.FIXED
    return Kind.WINDOW


def refold(
    late: Entry,
    history: Sequence[Contact],
    cases: Mapping[str, CaseRecord],
    window: timedelta,
) -> Refold:
    """Rule 5 replayed from the late contact on; `history` is every stored contact of the customer from one
    reopen window before it, `cases` the records of the cases they name (and of cases they may open)."""
    entries = sorted(
        (Entry(contact, kind) for contact in history if (kind := kind_of(contact)) is not None),
        key=lambda entry: entry.order,
    )
    before = [entry for entry in entries if entry.order < late.order]
    after = [entry for entry in entries if entry.order > late.order]
    start = _replayed(before)

    def joinable(case_id: str, moment: datetime) -> bool:
        record = cases.get(case_id)
        return record is None or record.open_at(moment)

    state = start
    placed: dict[str, tuple[str | None, LinkRule]] = {}
    key_owners = {key: e.contact.contact_id for e in [*before, late, *after] for key in thread_keys.owned(e.contact)}
    for entry in [late, *after]:
        contact, at = entry.contact, entry.contact.occurred_at
        if entry.kind is not Kind.WINDOW:
            case = contact.case_id
            if entry.kind is Kind.FIXED:
                case = _followed(contact, placed, key_owners) or case
                if case is not None:
                    state = (case, at)
            placed[contact.contact_id] = (case, contact.link.rule if contact.link else LinkRule.THREAD)
        elif case := _followed(contact, placed, key_owners):
            # A reply that arrived before the message it answers: live, it would have threaded to it.
            state = (case, at)
            placed[contact.contact_id] = (case, LinkRule.THREAD)
        elif state is not None and at - state[1] <= window and joinable(state[0], at):
            state = (state[0], at)
            placed[contact.contact_id] = (state[0], LinkRule.OPEN_CASE)
        elif rules.may_open_case(contact):
            state = (minted.case_id(contact.contact_id), at)
            placed[contact.contact_id] = (state[0], LinkRule.NEW_CASE)
        else:
            placed[contact.contact_id] = (None, LinkRule.NO_CASE)

    moved = tuple(
        _relinked(entry.contact, *placed[entry.contact.contact_id])
        for entry in after
        if entry.kind is not Kind.CLAIMED and placed[entry.contact.contact_id][0] != entry.contact.case_id
    )
    late_case, late_rule = placed[late.contact.contact_id]
    members = {case for case, _ in placed.values() if case} | {e.contact.case_id for e in before if e.contact.case_id}
    openers = {minted.case_id(contact_id): contact_id for contact_id in placed}
    retired = tuple(
        (case_id, into)
        for case_id, record in sorted(cases.items())
        if case_id not in members
        and record.status is not CaseStatus.MERGED
        and (opener := openers.get(case_id)) is not None
        and (into := placed[opener][0]) is not None
    )
    opened = tuple(
        case
        for case, rule in (placed[entry.contact.contact_id] for entry in after)
        if rule is LinkRule.NEW_CASE and case is not None
    )
    # Every contact of the customer's own timeline counts, with a case or without (`note_latest`).
    latest = max((entry.order for entry in [*before, late, *after] if entry.kind is not Kind.CLAIMED), default=None)
    return Refold(
        late_case=late_case,
        late_opens=late_rule is LinkRule.NEW_CASE,
        late_rule=late_rule,
        moved=moved,
        opened=opened,
        retired=retired,
        active=state,
        before_active=_replayed(entries),
        latest=latest,
    )


def _followed(
    contact: Contact, placed: Mapping[str, tuple[str | None, LinkRule]], key_owners: Mapping[str, str]
) -> str | None:
    """Where a reply's key leads after the replay: the case the contact that owns the key (or, for a case
    reference, the contact that opened the case) was placed in, when the replay placed it."""
    if contact.link is not None and contact.link.rule is LinkRule.REFERENCE:
        openers = {minted.case_id(contact_id): contact_id for contact_id in placed}
        opener = openers.get(contact.case_id or "")
        return placed[opener][0] if opener is not None else None
    for key in thread_keys.quoted(contact):
        owner = key_owners.get(key)
        if owner is not None and owner != contact.contact_id and owner in placed:
            return placed[owner][0]
    return None


def _replayed(entries: Sequence[Entry]) -> tuple[str, datetime] | None:
    """The active case the stored contacts leave, as they were linked: the last one that moved it."""
    state = None
    for entry in entries:
        if entry.kind is not Kind.CLAIMED and entry.contact.case_id is not None:
            state = (entry.contact.case_id, entry.contact.occurred_at)
    return state


def _relinked(contact: Contact, case_id: str | None, rule: LinkRule) -> Contact:
    assert contact.link is not None
    if rule is contact.link.rule and rule in (LinkRule.THREAD, LinkRule.REFERENCE):
        evidence = contact.link.evidence.removesuffix(f", {REFOLDED}")
    else:
        evidence = {
            LinkRule.NEW_CASE: "no open case in reopen window",
            LinkRule.OPEN_CASE: "open case in reopen window",
            LinkRule.NO_CASE: "no open case",
            LinkRule.THREAD: "thread key of a message that arrived after it",
        }[rule]
    link = Link(
        rule=rule,
        evidence=f"{evidence}, {REFOLDED}",
        customer_evidence=contact.link.customer_evidence,
        assurance=contact.link.assurance,
    )
    return contact.model_copy(update={"case_id": case_id, "link": link})
