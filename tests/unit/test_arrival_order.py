"""The case a contact joins depends on its provider time, not on when it arrived (issue 13, class 6).

For random journeys of a few people over a few weeks, each message delayed by up to
the providers' retry horizon (WhatsApp retries for 7 days; a DLQ redrive or a replay
lands as late), processing in arrival order must group the contacts into the same
customers and the same cases as processing them live, in provider-time order.
Grouping is compared as partitions: ids name whichever contact came first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.config import Settings
from shared.linking.merging import Merging
from shared.linking.processor import ContactProcessor
from shared.model.contact import Channel, Contact, Direction
from tests.builders import email_contact, sms_contact, whatsapp_contact
from tests.fakes import InMemoryStore

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RETRY_HORIZON = timedelta(days=7)
PEOPLE = (("14155550101", "ann@shop-customers.org"), ("14155550102", "bob@shop-customers.org"))


@dataclass(frozen=True)
class Message:
    person: int
    channel: Channel
    hours: int  # provider time, hours after T0
    delay_hours: int  # how much later than its provider time it reaches us
    outbound: bool = False  # our agent's message to them: joins their case, never opens one
    replies: bool = False  # an email answering the person's previous email: linked by its thread key

    @property
    def arrives(self) -> int:
        return self.hours + self.delay_hours


def message_id(index: int) -> str:
    return f"<m{index}@mail.shop-customers.org>"


def answered(index: int, journey: Sequence[Message]) -> int | None:
    """The person's latest email before this one, which a reply quotes in In-Reply-To."""
    message = journey[index]
    earlier = [
        (other.hours, i)
        for i, other in enumerate(journey)
        if other.person == message.person and other.channel is Channel.EMAIL and other.hours < message.hours
    ]
    return max(earlier)[1] if message.replies and earlier else None


def contact(index: int, journey: Sequence[Message]) -> Contact:
    message = journey[index]
    phone, address = PEOPLE[message.person]
    at = T0 + timedelta(hours=message.hours)
    sid = f"m{index}"
    if message.channel is Channel.SMS:
        return sms_contact(
            sid, "+" + phone, at=at, direction=Direction.OUTBOUND if message.outbound else Direction.INBOUND
        )
    if message.channel is Channel.WHATSAPP:
        return whatsapp_contact(sid, phone, at=at)
    quoted = answered(index, journey)
    in_reply_to = message_id(quoted) if quoted is not None else None
    return email_contact(message_id(index), address, at=at, in_reply_to=in_reply_to)


messages = st.builds(
    Message,
    person=st.integers(0, len(PEOPLE) - 1),
    channel=st.sampled_from([Channel.SMS, Channel.WHATSAPP, Channel.EMAIL]),
    # Three weeks: gaps around the seven-day reopen window are common.
    hours=st.integers(0, 21 * 24),
    delay_hours=st.one_of(st.just(0), st.integers(0, int(RETRY_HORIZON.total_seconds() // 3600))),
    outbound=st.booleans(),
    replies=st.booleans(),
)
journeys = st.lists(messages, min_size=2, max_size=9, unique_by=lambda m: (m.person, m.hours))


def grouping(contacts: Iterable[Contact]) -> tuple[frozenset[frozenset[str]], frozenset[frozenset[str]]]:
    """The contacts' partition into customers and into cases, by provider message id."""
    customers: dict[str | None, set[str]] = {}
    cases: dict[str | None, set[str]] = {}
    for stored in contacts:
        customers.setdefault(stored.customer_id or stored.contact_id, set()).add(stored.provider_message_id)
        cases.setdefault(stored.case_id or stored.contact_id, set()).add(stored.provider_message_id)
    return frozenset(map(frozenset, customers.values())), frozenset(map(frozenset, cases.values()))


def processed(order: list[tuple[int, Message]]) -> tuple[frozenset[frozenset[str]], frozenset[frozenset[str]]]:
    store = InMemoryStore()
    processor = ContactProcessor(store, Settings(), Merging(store))
    journey = [message for _, message in sorted(order)]
    for index, _ in order:
        processor.process(contact(index, journey))
    return grouping(versioned.contact for versioned in store.contacts.values())


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journeys)
def test_every_arrival_order_within_the_retry_horizon_groups_as_live(journey: list[Message]) -> None:
    indexed = list(enumerate(journey))
    live = sorted(indexed, key=lambda item: (item[1].hours, item[0]))
    arrived = sorted(indexed, key=lambda item: (item[1].arrives, item[0]))

    assert processed(arrived) == processed(live)
