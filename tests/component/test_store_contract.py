"""One contract, two stores: the in-memory fake (tests/fakes.py) and the DynamoDB adapter (moto).

Every condition the processor and the merge use case rely on is stated once
here and checked against both, so the fast unit tests cannot pass on a fake
that drifted from the real table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.dynamo.identity import DynamoIdentityStore
from shared.linking.ports import ContactStore, IdentityStore
from shared.model import minted
from shared.model.contact import Assurance, Contact, Link, LinkRule, Revision
from shared.model.failures import ConditionFailed
from shared.model.records import CaseRecord, CaseStatus, LinkWrites, Profile, Suggestion
from shared.model.thread_keys import case_reference
from tests.builders import sms_contact
from tests.conftest import Account
from tests.fakes import InMemoryStore

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=7)
ANN = "+14155550123"


@dataclass
class Stores:
    contacts: ContactStore
    identity: IdentityStore


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "memory":
        fake = InMemoryStore()
        yield Stores(fake, fake)
        return
    account: Account = request.getfixturevalue("aws")
    client = boto3.client("dynamodb")
    yield Stores(DynamoStore(client, account.table), DynamoIdentityStore(client, account.table))


def contact(sid: str = "SM1", at: datetime = T0, **changes: object) -> Contact:
    return sms_contact(sid, ANN, at=at).model_copy(update=changes)


def test_an_identifier_belongs_to_the_first_customer_that_claims_it(stores: Stores) -> None:
    ann = contact().sender.identifiers[0]
    assert stores.contacts.claim_identifier(ann, "cus_a", contact()) == "cus_a"
    assert stores.contacts.claim_identifier(ann, "cus_b", contact()) == "cus_a"
    assert stores.contacts.claim_identifier(ann, "cus_a", contact()) == "cus_a"
    assert stores.contacts.count_identifiers("cus_a", "phone", up_to=5) == 1
    assert stores.contacts.count_identifiers("cus_b", "phone", up_to=5) == 0


def test_a_contested_identifier_is_reported_until_the_dispute_is_settled(stores: Stores) -> None:
    ann = contact().sender.identifiers[0]
    stores.contacts.claim_identifier(ann, "cus_a", contact())

    stores.contacts.contest_identifier(ann, "cus_b")
    stores.contacts.contest_identifier(ann, "cus_b")  # repeated: the same dispute
    assert stores.contacts.claim_identifier(ann, "cus_a", contact("SM2")) == "cus_a"  # a claim keeps the dispute
    assert stores.contacts.lookup(contact("SM3"), [ann], []).contested == {ann.key: frozenset({"cus_b"})}

    stores.identity.settle_dispute(ann, "cus_a")
    found = stores.contacts.lookup(contact("SM3"), [ann], [])
    assert found.contested == {} and found.owners == {ann.key: "cus_a"}
    with pytest.raises(ConditionFailed):
        stores.identity.settle_dispute(ann, "cus_b")  # only for its owner


def at(moment: datetime) -> Contact:
    """A contact at `moment`: what moves a profile's active case is a contact's provider time."""
    return contact(f"SM-{moment:%m%d%H%M}", moment)


def test_opening_a_case_holds_while_the_active_one_is_in_the_window(stores: Stores) -> None:
    store = stores.contacts
    assert store.open_case("cus_a", "case_1", at(T0), T0 - WINDOW) is None
    day = T0 + timedelta(days=1)
    refused = store.open_case("cus_a", "case_2", at(day), day - WINDOW)
    assert refused is not None and (refused.case_id, refused.last_activity) == ("case_1", T0)
    assert store.open_case("cus_a", "case_1", at(T0), T0 - WINDOW) is None  # a retry of the same open
    later = T0 + timedelta(days=8)
    assert store.open_case("cus_a", "case_2", at(later), later - WINDOW) is None


def test_continuing_moves_the_activity_only_for_the_active_case_in_the_window(stores: Stores) -> None:
    store = stores.contacts
    store.open_case("cus_a", "case_1", at(T0), T0 - WINDOW)
    two_days = T0 + timedelta(days=2)
    assert store.continue_case("cus_a", "case_1", at(two_days), two_days - WINDOW) is None
    wrong = store.continue_case("cus_a", "case_9", at(two_days), two_days - WINDOW)
    assert wrong is not None and (wrong.case_id, wrong.last_activity) == ("case_1", two_days)
    too_late = two_days + timedelta(days=8)
    assert store.continue_case("cus_a", "case_1", at(too_late), too_late - WINDOW) is not None
    missing = store.continue_case("cus_nobody", "case_1", at(two_days), two_days - WINDOW)
    assert missing is not None and missing.case_id is None


def test_a_contact_older_than_the_latest_one_recorded_moves_nothing_and_learns_it_is_late(stores: Stores) -> None:
    store = stores.contacts
    day = T0 + timedelta(days=1)
    store.open_case("cus_a", "case_2", at(day), T0 - WINDOW)
    for refused in (
        store.follow_thread("cus_a", "case_1", at(T0)),
        store.continue_case("cus_a", "case_2", at(T0), T0 - WINDOW),
        store.open_case("cus_a", "case_1", at(T0), T0 - WINDOW),
    ):
        assert refused is not None and refused.case_id == "case_2" and refused.is_late(T0)
    two_days = T0 + timedelta(days=2)
    assert store.follow_thread("cus_a", "case_1", at(two_days)) is None
    active = store.open_case("cus_a", "case_x", at(two_days), two_days - WINDOW)
    assert active is not None and active.case_id == "case_1"
    profile = store.profile("cus_a")
    assert profile is not None and (profile.latest_contact, profile.active_case_id) == (
        at(two_days).contact_id,
        "case_1",
    )


def test_the_late_path_moves_contacts_retires_cases_and_sets_the_active_case_under_conditions(stores: Stores) -> None:
    store = stores.contacts
    first, second = at(T0), at(T0 + timedelta(hours=1))
    opened = CaseRecord(
        case_id="case_1",
        customer_id="cus_a",
        reference=minted.case_reference("case_1"),
        status=CaseStatus.OPEN,
        opened_at=T0,
        opened_by=first.contact_id,
        channel=first.channel,
    )
    link = {
        "customer_id": "cus_a",
        "case_id": "case_1",
        "link": Link(rule=LinkRule.NEW_CASE, evidence="", customer_evidence=""),
    }
    for stored in (first, second):
        store.save(stored.model_copy(update=link), LinkWrites(opened_case=opened if stored is first else None))
    store.open_case("cus_a", "case_1", second, T0 - WINDOW)

    recent = store.recent_contacts(["cus_a"], T0)
    assert [s.contact.contact_id for s in recent] == [first.contact_id, second.contact_id]
    assert store.recent_contacts(["cus_a"], T0 + timedelta(minutes=30))[0].contact.contact_id == second.contact_id
    assert set(store.cases_of(["case_1", "case_none"])) == {"case_1"}

    moved = second.model_copy(update={**link, "case_id": "case_2"})
    with pytest.raises(ConditionFailed):
        store.relink(moved, LinkWrites(), was="case_9")
    store.relink(moved, LinkWrites(), was="case_1")
    assert store.recent_contacts(["cus_a"], T0)[1].contact.case_id == "case_2"
    store.retire_case("case_1", into="case_2")
    store.retire_case("case_1", into="case_2")  # repeated: done already
    with pytest.raises(ConditionFailed):
        store.retire_case("case_1", into="case_3")
    assert store.cases_of(["case_1"])["case_1"].merged_into == "case_2"

    seen = store.profile("cus_a")
    assert seen is not None
    stale = replace(seen, latest_contact="someone-else")
    with pytest.raises(ConditionFailed):
        store.set_active(
            "cus_a", stale, ("case_2", T0 + timedelta(hours=1)), (T0 + timedelta(hours=1), second.contact_id)
        )
    store.set_active("cus_a", seen, ("case_2", T0 + timedelta(hours=1)), (T0 + timedelta(hours=1), second.contact_id))
    after = store.profile("cus_a")
    assert after is not None and after.active_case_id == "case_2"


def test_a_saved_contact_is_found_by_its_marker_keys_and_hint(stores: Stores) -> None:
    store = stores.contacts
    first = contact(customer_id="cus_a", case_id="case_1")
    identifier = first.sender.identifiers[0]
    store.claim_identifier(identifier, "cus_a", contact("SM0"))
    opened = CaseRecord(
        case_id="case_1",
        customer_id="cus_a",
        reference=minted.case_reference("case_1"),
        status=CaseStatus.OPEN,
        opened_at=T0,
        opened_by=first.contact_id,
        channel=first.channel,
    )
    suggestion = Suggestion(
        contact_id=first.contact_id,
        customer_id="cus_a",
        identifier=identifier,
        candidate_customer_id=None,
        case_id="case_1",
        evidence="typed in",
    )
    links = LinkWrites(
        opened_case=opened,
        thread_keys=("msg#m1",),
        case_owner="cus_a",
        hint_identifiers=(identifier,),
        suggested=(suggestion,),
    )
    store.save(first, links)

    reference = case_reference(opened.reference)
    found = store.lookup(contact("SM2"), [identifier], ["msg#m1", reference, "msg#unknown"])
    assert found.duplicate_of is None
    assert found.owners == {identifier.key: "cus_a"}
    assert {key: (hit.case_id, hit.customer_id) for key, hit in found.threads.items()} == {
        "msg#m1": ("case_1", "cus_a"),
        reference: ("case_1", "cus_a"),
    }
    hint = found.hint([identifier], "cus_a")
    assert (hint.case_id, hint.last_activity) == ("case_1", T0)
    assert found.hint([identifier], "cus_other").case_id is None

    # A redelivery of the contact itself finds its item and what it linked, and not its own keys as known.
    again = store.lookup(contact("SM1"), [identifier], ["msg#m1", reference])
    assert again.duplicate_of == first.contact_id
    assert again.stored is not None and again.stored.contact == first and again.stored_links == links
    assert again.threads == {}
    assert not again.candidate_case_exists  # SM1 opens case_<its own id>, not case_1


def test_a_call_is_claimed_once_and_written_only_on_the_version_read(stores: Stores) -> None:
    store = stores.contacts
    first = contact("CA1", revision=Revision(key="status:ringing"))
    second = contact("CA1", at=T0 + timedelta(seconds=5), revision=Revision(key="status:completed"))
    assert store.claim_message(first) == first.contact_id
    assert store.claim_message(second) == first.contact_id

    assert store.put_versioned(first, None) is None
    conflict = store.put_versioned(first, None)
    assert conflict is not None and conflict.version == 1
    assert store.put_versioned(first, 1) is None
    stale = store.put_versioned(first, 1)
    assert stale is not None and stale.version == 2
    found = store.get_versioned(first.contact_id)
    assert found is not None and found.version == 2 and found.contact == first
    assert store.lookup(first, [], []).versioned(first.contact_id) == found


def test_merge_writes_fail_unless_what_they_read_still_holds(stores: Stores) -> None:
    identity, store = stores.identity, stores.contacts
    for customer, case in (("cus_a", "case_a"), ("cus_b", "case_b")):
        store.open_case(customer, case, at(T0), T0 - WINDOW)
    ann = contact().sender.identifiers[0]
    store.claim_identifier(ann, "cus_b", contact())

    identity.mark_merged("cus_b", "cus_a", "mrg_1")
    with pytest.raises(ConditionFailed):
        identity.mark_merged("cus_b", "cus_a", "mrg_2")
    merged = identity.profile("cus_b")
    assert merged is not None and merged.merged_into == "cus_a"
    assert store.open_case("cus_b", "case_x", at(T0 + timedelta(days=9)), T0) is not None  # merged: refused

    identity.repoint(ann, "cus_b", "cus_a", "mrg_1")
    with pytest.raises(ConditionFailed):
        identity.repoint(ann, "cus_b", "cus_a", "mrg_1")
    assert [(o.customer_id, o.merged_by) for o in identity.identifiers("cus_a")] == [("cus_a", "mrg_1")]

    survivor = identity.profile("cus_a")
    assert survivor is not None
    stale = Profile("cus_a", "active", survivor.created_at, None, "case_a", "2020-01-01T00:00:00.000000Z")
    assert survivor.active is not None
    with pytest.raises(ConditionFailed):
        identity.absorb(stale, "cus_b", survivor.active)
    identity.absorb(survivor, "cus_b", survivor.active)

    identity.put_merge_log("mrg_1", "cus_a", {"state": "applying"}, "2026-11-02T09:00:00.000000Z")
    with pytest.raises(ConditionFailed):
        identity.put_merge_log("mrg_1", "cus_a", {"state": "applying"}, "2026-11-02T09:00:00.000000Z")
    identity.set_merge_state("mrg_1", "applied", "applying", {})
    identity.set_merge_state("mrg_1", "applied", "applying", {})  # repeating a step is no error: it is done
    with pytest.raises(ConditionFailed):
        identity.set_merge_state("mrg_1", "undone", "undoing", {})
    log = identity.merge_log("mrg_1")
    assert log is not None and log["state"] == "applied"


def test_attaching_a_verified_identifier_raises_the_owners_assurance_only(stores: Stores) -> None:
    identity = stores.identity
    weak = contact().sender.identifiers[0].model_copy(update={"assurance": Assurance.WEAK})
    verified = weak.model_copy(update={"assurance": Assurance.VERIFIED})
    assert identity.attach(weak, "cus_a", T0) == "cus_a"
    assert identity.attach(verified, "cus_b", T0) == "cus_a"
    owner = identity.identifier_owner(weak)
    assert owner is not None and owner.identifier.assurance is Assurance.WEAK
    assert identity.attach(verified, "cus_a", T0) == "cus_a"
    owner = identity.identifier_owner(weak)
    assert owner is not None and owner.identifier.assurance is Assurance.VERIFIED
