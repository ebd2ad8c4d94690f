"""The late path, by example: a message older than what the customer did since lands where it would have live.

`test_arrival_order.py` states the property over random journeys; these are the
stories it stands for, each readable on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.linking.processor import ContactProcessor
from shared.model import identifiers, minted
from shared.model.contact import Assurance, Contact, Direction, LinkRule, Party
from shared.model.records import CaseStatus
from tests.builders import email_contact, sms_contact
from tests.fakes import InMemoryStore

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ANN = "+14155550123"
SHOP = Party(identifiers=(identifiers.email("help@shop.example.net", Assurance.CHANNEL),))


def email(message_id: str, at: datetime, in_reply_to: str | None = None) -> Contact:
    return email_contact(message_id, "ann@example.org", at=at, in_reply_to=in_reply_to)


def case_of(store: InMemoryStore, contact: Contact) -> str | None:
    return store.contacts[contact.contact_id].contact.case_id


def test_a_redrive_from_last_week_joins_that_weeks_case_and_takes_todays_with_it(
    store: InMemoryStore, processor: ContactProcessor
) -> None:
    monday, thursday, next_week = T0, T0 + timedelta(days=5), T0 + timedelta(days=9)
    first, today = sms_contact("SM1", ANN, at=monday), sms_contact("SM2", ANN, at=next_week)
    redriven = sms_contact("SM3", ANN, at=thursday)  # stuck in the DLQ until after `today`
    for contact in (first, today, redriven):
        processor.process(contact)

    # Live, Thursday's message kept the case open, and next week's joined it four days later.
    assert case_of(store, first) == case_of(store, redriven) == case_of(store, today)
    emptied = store.cases[minted.case_id(today.contact_id)]
    assert (emptied.status, emptied.merged_into) == (CaseStatus.MERGED, case_of(store, first))


def test_a_reply_that_arrives_before_the_email_it_answers_threads_to_it(
    store: InMemoryStore, processor: ContactProcessor
) -> None:
    old_case = email("<a0@example.org>", T0 - timedelta(days=20))
    original = email("<a1@example.org>", T0, in_reply_to="<a0@example.org>")  # answers a case from last month
    reply = email("<a2@example.org>", T0 + timedelta(days=8), in_reply_to="<a1@example.org>")  # a week on
    for contact in (old_case, reply, original):
        processor.process(contact)

    assert case_of(store, original) == case_of(store, reply) == case_of(store, old_case)
    moved = store.contacts[reply.contact_id].contact
    assert moved.link is not None and moved.link.rule is LinkRule.THREAD


def test_our_reply_sent_when_no_case_was_open_joins_the_case_a_late_message_opens(
    store: InMemoryStore, processor: ContactProcessor
) -> None:
    first = sms_contact("SM1", ANN, at=T0)
    late = sms_contact("SM2", ANN, at=T0 + timedelta(days=8))
    answer = sms_contact("SM3", ANN, at=T0 + timedelta(days=8, hours=1), direction=Direction.OUTBOUND)
    for contact in (first, answer, late):  # our answer reached us before the message it answers
        processor.process(contact)

    assert case_of(store, answer) == case_of(store, late) != case_of(store, first)
