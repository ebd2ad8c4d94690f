"""Resolve a contact's customer and choose its case, through the store port: the I/O half of rules 2 and 5.

`ContactLinker.link` makes the round trips between the first look-up and the
last write (claiming identifiers, moving the customer's active case) and asks
`shared.linking.rules` and `shared.linking.decision` what each answer means.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from shared.config import Settings
from shared.linking import decision, rules, timeline
from shared.linking.decision import CaseChoice
from shared.linking.ports import ContactStore
from shared.linking.rules import CaseStepKind, CustomerResolution
from shared.model import minted
from shared.model.contact import Contact, Identifier, LinkRule
from shared.model.failures import ConditionFailed, backoff
from shared.model.records import NO_ACTIVE_CASE, ActiveCase, LinkWrites, Lookup, Profile, Suggestion, ThreadHit
from shared.model.times import sortable_time

MAX_CASE_ATTEMPTS = 4
MAX_MERGE_REDIRECTS = 2  # a profile merged into one merged in turn
MAX_LATE_ATTEMPTS = 5  # the late path waits out a neighbour between its two writes, then leaves it to SQS


class CaseContention(RuntimeError):
    """The customer's active case kept changing under us; SQS redelivers and we try again."""


@dataclass(frozen=True)
class Looked:
    """What the first round trip looked up, for which identifiers and keys."""

    usable: tuple[Identifier, ...]
    thread_keys: tuple[str, ...]
    reference_keys: tuple[str, ...]
    found: Lookup
    claimed: tuple[Identifier, ...] = ()
    disputes: tuple[Identifier, ...] = ()  # verified here, owned by someone holding another account: contest


@dataclass(frozen=True)
class Linked:
    contact: Contact
    resolution: CustomerResolution
    choice: CaseChoice
    writes: LinkWrites

    @property
    def suggested(self) -> tuple[Suggestion, ...]:
        return self.writes.suggested


class ContactLinker:
    def __init__(self, store: ContactStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def link(self, contact: Contact, looked: Looked) -> Linked:
        usable, found = looked.usable, looked.found
        owners = found.owners_of(usable)
        resolution = rules.resolve_customer(contact, usable, owners, found.contested)
        if resolution.customer_id:
            resolution = self._attach_identifiers(contact, resolution, usable, found)

        customer = resolution.customer_id
        thread_hit = self._owned_now(
            rules.first_thread_hit(looked.thread_keys, found.thread_hits(looked.thread_keys)), customer
        )
        reference_hit = self._owned_now(
            rules.first_thread_hit(looked.reference_keys, found.thread_hits(looked.reference_keys)), customer
        )
        foreign = None
        if customer is None:
            choice = decision.without_customer(contact, resolution, thread_hit or reference_hit)
        elif match := decision.by_keys(contact, resolution, thread_hit, reference_hit):
            choice, foreign = match.choice, match.foreign
            assert choice.case_id is not None
            if match.follows:
                profile = self._store.follow_thread(customer, choice.case_id, contact)
                if profile is not None and profile.is_late(contact.occurred_at):
                    # Older than what the customer did since: the contacts after it may have joined its case.
                    self._place_late(contact, customer, fixed=choice)
            elif match.needs_profile:
                self._store.ensure_profile(customer, contact.occurred_at)
        else:
            guess = NO_ACTIVE_CASE if resolution.created else found.hint(usable, customer)
            choice = self._settle_case(contact, customer, guess)
            if choice.survivor_id:
                customer = choice.survivor_id
                resolution = CustomerResolution(customer, False, resolution.evidence + ", merged into survivor")

        linked = decision.linked(contact, customer, resolution, choice)
        found_suggestions = decision.suggested(linked, resolution, found.owners_of(looked.claimed), foreign)
        writes = decision.writes(linked, choice, decision.hint_identifiers(usable, choice), found_suggestions)
        return Linked(linked, resolution, choice, writes)

    def _owned_now(self, hit: ThreadHit | None, customer_id: str | None) -> ThreadHit | None:
        """A key written under a customer since merged into this one names this customer's own case.

        Keys are not rewritten by a merge, so a hit naming another customer reads that
        profile (one round trip, only for such hits) and follows `merged_into`.
        """
        if hit is None or customer_id is None or hit.customer_id in (None, customer_id):
            return hit
        owner = hit.customer_id
        for _ in range(MAX_MERGE_REDIRECTS):
            profile = self._store.profile(owner)
            if profile is None or profile.merged_into is None:
                return hit
            owner = profile.merged_into
            if owner == customer_id:
                return replace(hit, customer_id=customer_id)
        return hit

    def _attach_identifiers(
        self,
        contact: Contact,
        resolution: CustomerResolution,
        usable: tuple[Identifier, ...],
        found: Lookup,
    ) -> CustomerResolution:
        """Claim the sender's unowned identifiers, race-safely for every one of them.

        Claims go in one canonical order (`decision.claim_order`), so two first
        contacts of one person racing on different channels contend on the same
        item first. A new customer that loses any claim to a racer joins the
        racer's customer and hands over what it already claimed. Per-kind limits:
        a new customer holds only what this contact names (counted here, no I/O);
        a known customer gaining an identifier costs one COUNT query, so the common
        case (everything known) keeps its round trips.
        """
        assert resolution.customer_id is not None
        customer = resolution.customer_id
        owners = found.owners
        attached: dict[str, int] = {}
        claimed: list[Identifier] = []
        earlier_claims = found.own_claims
        for identifier in decision.claim_order(i for i in usable if i.assurance.finds_customer):
            if identifier.key in owners:
                continue
            if earlier_claims.get(identifier.key, customer) != customer:
                # Claimed on an earlier, unfinished delivery for a customer this contact does not end up with.
                self._store.hand_over_identifier(identifier, earlier_claims[identifier.key], customer)
                continue
            if not self._within_limit(resolution, identifier, attached):
                over = f", {identifier.kind.value} over the identifier limit, not attached"
                resolution = replace(resolution, evidence=resolution.evidence + over, over_limit=True)
                continue
            attached[identifier.kind.value] = attached.get(identifier.kind.value, 0) + 1
            owner = self._store.claim_identifier(identifier, customer, contact)
            if owner == customer:
                claimed.append(identifier)
            elif resolution.created:
                # Another processor created this person first: join its customer, hand over our claims.
                for mine in claimed:
                    self._store.hand_over_identifier(mine, customer, owner)
                customer = owner
                resolution = replace(
                    resolution, customer_id=owner, created=False, evidence=resolution.evidence + ", raced"
                )
        return resolution

    def _within_limit(self, resolution: CustomerResolution, identifier: Identifier, attached: dict[str, int]) -> bool:
        limit = self._settings.identifier_limits.get(identifier.kind.value)
        if limit is None:
            return True
        held = attached.get(identifier.kind.value, 0)
        if not resolution.created:
            assert resolution.customer_id is not None
            held += self._store.count_identifiers(resolution.customer_id, identifier.kind.value, up_to=limit)
        return held < limit

    def _settle_case(self, contact: Contact, customer_id: str, guess: ActiveCase) -> CaseChoice:
        """Rule 5's last two matches: continue the open case in the window, or open one, on the profile's say.

        The guess (an identifier's hint) only picks which conditional update to try
        first; the profile's condition decides. A contact that may not open a case
        (outbound, automated) reads the profile when the guess names no case, so it
        finds the customer's active case whichever identifier opened it.
        """
        window = self._settings.reopen_window
        at = contact.occurred_at
        candidate = minted.case_id(contact.contact_id)
        active, resolved, profile_read = guess, customer_id, False
        for _ in range(MAX_CASE_ATTEMPTS + MAX_MERGE_REDIRECTS):
            survivor = resolved if resolved != customer_id else None
            if active.case_id is None and not profile_read and not rules.may_open_case(contact):
                active, profile_read = self._store.active_case(resolved), True
            step = rules.plan_case_step(active, at, window)
            if step.kind is CaseStepKind.LATE:
                placed = self._place_late(contact, resolved)
                if placed is not None:
                    return replace(placed, survivor_id=survivor)
                active = self._store.active_case(resolved)  # the hint was stale: the profile says in time
                continue
            if step.kind in (CaseStepKind.CONTINUE, CaseStepKind.KEEP):
                assert step.case_id is not None
                current = (
                    self._store.continue_case(resolved, step.case_id, contact, at - window)
                    if step.kind is CaseStepKind.CONTINUE
                    else self._store.keep_case(resolved, step.case_id, contact)
                )
                if current is None:
                    return decision.joined(step.case_id, candidate, "open case in reopen window", survivor)
            elif not rules.may_open_case(contact):
                # Recorded as the latest all the same: a contact older than it that arrives after it is late,
                # and its replay may find this one a case it would have joined live.
                current = self._store.note_latest(resolved, contact, at - window)
                if current is None:
                    evidence = "automated or outbound, no open case"
                    return CaseChoice(None, LinkRule.NO_CASE, evidence, survivor_id=survivor)
            else:
                current = self._store.open_case(resolved, candidate, contact, at - window)
                if current is None:
                    return decision.joined(candidate, candidate, "no open case in reopen window", survivor)
            if current.merged_into:
                # A merge pointed this profile at its survivor: follow it, the survivor's case decides.
                resolved, current, profile_read = current.merged_into, NO_ACTIVE_CASE, False
            active = current
        raise CaseContention(customer_id)

    def _place_late(self, contact: Contact, customer_id: str, fixed: CaseChoice | None = None) -> CaseChoice | None:
        """A contact older than what the profile recorded: rule 5 replayed on provider time (`timeline.refold`).

        The contacts after it that would have joined its case live are moved there,
        cases the replay empties are marked merged into the case their contacts
        joined, and the profile's active case becomes what the replay says, only if
        the profile did not change meanwhile. Every write is conditional or
        idempotent, so a redelivery after a crash replays to the same result. A
        contact of the same customer caught between its two writes (or not yet in
        the index) makes it wait a moment and replay again.
        Returns None when the profile says the contact is not late after all.
        """
        for attempt in range(MAX_LATE_ATTEMPTS):
            profile = self._store.profile(customer_id)
            if profile is None or profile.merged_into or profile.latest_at is None or not _older(contact, profile):
                return None  # not late after all, or merged meanwhile: the caller follows the profile
            try:
                return self._replay(contact, customer_id, profile, fixed)
            except (ConditionFailed, _InFlight):
                backoff(attempt)
        raise CaseContention(customer_id)

    def _replay(self, contact: Contact, customer_id: str, profile: Profile, fixed: CaseChoice | None) -> CaseChoice:
        # The customer's own contacts only: a merge does not rewrite history, so contacts of a customer
        # merged into this one keep the cases they had when they were someone else's.
        window = self._settings.reopen_window
        since = contact.occurred_at - window
        history = self._store.recent_contacts([customer_id], since)
        known = {stored.contact.contact_id for stored in history}
        if profile.latest_contact not in (*known, contact.contact_id):
            raise _InFlight  # the newest contact is between its two writes
        named = {stored.contact.case_id for stored in history if stored.contact.case_id}
        cases = self._store.cases_of(named | {minted.case_id(contact_id) for contact_id in known})
        late = decision.linked(contact, customer_id, CustomerResolution(customer_id, False, ""), fixed or _WINDOW)
        plan = timeline.refold(
            timeline.Entry(late, timeline.kind_of(late) or timeline.Kind.WINDOW),
            [stored.contact for stored in history],
            cases,
            window,
        )
        stored = {s.contact.contact_id: s for s in history}
        for moved in plan.moved:
            opened = decision.case_record(moved) if moved.case_id == minted.case_id(moved.contact_id) else None
            before = stored[moved.contact_id]
            self._store.relink(moved, before.links.model_copy(update={"opened_case": opened}), before.contact.case_id)
        for case_id, into in plan.retired:
            self._store.retire_case(case_id, into)
        active = plan.active if _set_by_contacts(profile, plan, since) else _mapped(profile, plan)
        self._store.set_active(customer_id, profile, active, plan.latest, first_seen=contact.occurred_at)
        if fixed is not None:
            return fixed
        if plan.late_case is None:
            return CaseChoice(None, LinkRule.NO_CASE, "automated or outbound, no open case (arrived late)")
        candidate = minted.case_id(contact.contact_id)
        return decision.joined(plan.late_case, candidate, "open case in reopen window (arrived late)", None)


class _InFlight(Exception):
    """The profile names a contact the index does not show yet."""


_WINDOW = CaseChoice(None, LinkRule.OPEN_CASE, "")


def _older(contact: Contact, profile: Profile) -> bool:
    assert profile.latest_at is not None
    return sortable_time(contact.occurred_at) < profile.latest_at


def _sortable(active: tuple[str, datetime] | None) -> tuple[str, str] | None:
    return (active[0], sortable_time(active[1])) if active else None


def _set_by_contacts(profile: Profile, plan: timeline.Refold, since: datetime) -> bool:
    """The profile's active case is what the customer's contacts left it, not a reopen's or a merge's: the
    replay's result replaces it. One older than the replayed history is out of the window for all of it."""
    if profile.active is None or profile.active == _sortable(plan.before_active):
        return True
    return plan.before_active is None and profile.active[1] < sortable_time(since)


def _mapped(profile: Profile, plan: timeline.Refold) -> tuple[str, datetime] | None:
    """The profile's active case set by something else than a contact (a reopen, a merge), through retirements."""
    if profile.active is None:
        return None
    case, at = profile.active
    return (dict(plan.retired).get(case, case), datetime.fromisoformat(at))
