"""The processor's use case on the in-memory store: the rules of DESIGN.md section 4 and its round trips.

The same behaviour runs against DynamoDB (moto) in tests/component; here each
test takes milliseconds, so every branch of the orchestration gets one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.linking.processor import ContactProcessor, Outcome
from shared.model import minted
from shared.model.contact import Contact, Direction, LinkRule
from tests.builders import sms_contact
from tests.fakes import InMemoryStore

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ANN, BOB = "+14155550123", "+14155550177"


def stored(store: InMemoryStore, contact: Contact) -> Contact:
    contact_id = store.markers[(contact.provider.value, contact.provider_message_id)]
    return store.contacts[contact_id].contact


def round_trips(store: InMemoryStore, processor: ContactProcessor, contact: Contact) -> int:
    before = store.round_trips
    processor.process(contact)
    return store.round_trips - before


def test_a_new_customer_costs_four_round_trips_and_a_known_one_three(
    store: InMemoryStore, processor: ContactProcessor
) -> None:
    assert round_trips(store, processor, sms_contact("SM1", ANN, at=T0)) == 4
    assert round_trips(store, processor, sms_contact("SM2", ANN, at=T0 + timedelta(hours=1))) == 3
    assert round_trips(store, processor, sms_contact("SM3", ANN, at=T0 + timedelta(days=9))) == 3
    # A provider's retry (its own receipt time, so another contact id) is a duplicate in one round trip;
    # the queue redelivering the same message finds its own item and writes its links again: two.
    assert round_trips(store, processor, sms_contact("SM3", ANN, at=T0 + timedelta(days=9, seconds=5))) == 1
    assert round_trips(store, processor, sms_contact("SM3", ANN, at=T0 + timedelta(days=9))) == 2


def test_contacts_in_the_window_share_a_case_and_a_gap_opens_a_new_one(
    store: InMemoryStore, processor: ContactProcessor
) -> None:
    first, second, late = (
        sms_contact("SM1", ANN, at=T0),
        sms_contact("SM2", ANN, at=T0 + timedelta(days=6)),
        sms_contact("SM3", ANN, at=T0 + timedelta(days=14)),
    )
    for contact in (first, second, late):
        processor.process(contact)

    one, two, three = (stored(store, c) for c in (first, second, late))
    assert one.customer_id == two.customer_id == three.customer_id
    assert one.case_id == two.case_id != three.case_id
    assert (one.link and one.link.rule, two.link and two.link.rule) == (LinkRule.NEW_CASE, LinkRule.OPEN_CASE)
    assert set(store.cases) == {one.case_id, three.case_id}


def test_a_redelivered_contact_is_stored_once(store: InMemoryStore, processor: ContactProcessor) -> None:
    contact = sms_contact("SM1", ANN, at=T0)
    results = [processor.process(contact) for _ in range(3)]

    assert [r.outcome for r in results] == [Outcome.STORED, Outcome.REPAIRED, Outcome.REPAIRED]
    assert len(store.contacts) == 1


def test_automated_and_outbound_contacts_never_open_a_case(store: InMemoryStore, processor: ContactProcessor) -> None:
    auto = sms_contact("SM1", ANN, at=T0, automated=True)
    outbound = sms_contact("SM2", BOB, at=T0, direction=Direction.OUTBOUND)
    processor.process(auto)
    processor.process(outbound)

    assert stored(store, auto).case_id is None
    assert stored(store, outbound).case_id is None
    assert store.cases == {}


def test_a_quoted_reference_to_anothers_case_is_claimed_and_suggested(
    store: InMemoryStore, processor: ContactProcessor
) -> None:
    ann = sms_contact("SM1", ANN, at=T0)
    processor.process(ann)
    anns = stored(store, ann)
    assert anns.case_id is not None
    reference = minted.case_reference(anns.case_id)

    bob = sms_contact("SM2", BOB, at=T0 + timedelta(hours=1), text=f"about {reference}")
    processor.process(bob)

    bobs = stored(store, bob)
    assert bobs.case_id == anns.case_id
    assert bobs.customer_id != anns.customer_id
    assert bobs.link and bobs.link.rule is LinkRule.REFERENCE and bobs.link.assurance == "claimed"
    assert [s.candidate_customer_id for s in store.suggestions.values()] == [anns.customer_id]


def test_a_number_another_processor_just_claimed_joins_that_customer_and_case(
    store: InMemoryStore, processor: ContactProcessor
) -> None:
    # Another processor claimed the phone first (its customer is in the store, its case not yet).
    racer = "cus_racer"
    racer_contact = sms_contact("SMx", ANN, at=T0)
    store.claim_identifier(racer_contact.sender.identifiers[0], racer, racer_contact)
    store.open_case(racer, "case_racer", racer_contact, T0 - timedelta(days=7))

    contact = sms_contact("SM1", ANN, at=T0 + timedelta(minutes=1))
    processor.process(contact)

    assert stored(store, contact).customer_id == racer
    assert stored(store, contact).case_id == "case_racer"
