"""Races against moto in-process: creation settled on the identifier item, merges that lose nothing."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.client import BaseClient

from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.dynamo.identity import DynamoIdentityStore
from shared.config import get_settings
from shared.linking.linker import CaseContention
from shared.linking.merging import Merging
from shared.linking.processor import ContactProcessor
from shared.model.contact import Contact
from tests.builders import sms_contact, whatsapp_contact
from tests.conftest import Account

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ADA, ADA_WORK = "+14155550123", "+14155550124"
ROUNDS = 10


@pytest.fixture(autouse=True)
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each request atomically; moto in-process does not under threads, so serialize
    requests (never the processors: they interleave freely between any two of their calls)."""
    one_at_a_time = threading.Lock()
    make_api_call = BaseClient._make_api_call

    def atomic(self: BaseClient, operation: str, params: dict[str, object]) -> object:
        with one_at_a_time:
            return make_api_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", atomic)


def new_processor() -> ContactProcessor:
    """One per thread, as Lambda runs one processor per concurrent invocation."""
    client = boto3.client("dynamodb")
    table = get_settings().table_name
    return ContactProcessor(DynamoStore(client, table), get_settings(), Merging(DynamoIdentityStore(client, table)))


def run_together(*work: Callable[[], object]) -> None:
    """Start every callable at the same moment on its own thread; re-raise the first failure."""
    barrier = threading.Barrier(len(work))
    failures: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def delivered(processor: ContactProcessor, contact: Contact, attempts: int = 5) -> None:
    """Process until it goes through, as SQS redelivers a record that failed on contention."""
    for _ in range(attempts - 1):
        try:
            processor.process(contact)
        except CaseContention:
            continue
        return
    processor.process(contact)


def stored(contact: Contact) -> Contact:
    found = DynamoStore(boto3.client("dynamodb"), get_settings().table_name).get_contact(contact.contact_id)
    assert found is not None, f"{contact.provider_message_id} was lost"
    return found


def test_two_first_contacts_of_one_new_customer_in_parallel_make_one_customer_and_one_case(aws: Account) -> None:
    for round_ in range(ROUNDS):
        phone = f"+1415555{round_:04d}"
        first = sms_contact(f"SM{round_}a", phone, at=T0 + timedelta(seconds=round_))
        second = sms_contact(f"SM{round_}b", phone, at=T0 + timedelta(seconds=round_, milliseconds=1))
        processors = (new_processor(), new_processor())

        run_together(*(functools.partial(p.process, c) for p, c in zip(processors, (first, second), strict=True)))

        a, b = stored(first), stored(second)
        assert a.customer_id == b.customer_id is not None, f"round {round_}"
        assert a.case_id == b.case_id is not None, f"round {round_}"


def test_first_whatsapp_message_and_first_sms_of_one_person_in_parallel_make_one_customer(aws: Account) -> None:
    # Different FIFO groups before, so deployed they could be processed at once: real threads, each request atomic.
    for round_ in range(ROUNDS):
        phone = f"+1415555{round_:04d}"
        at = T0 + timedelta(minutes=round_)
        whatsapp = whatsapp_contact(f"wamid.{round_}", phone.lstrip("+"), at=at)
        sms = sms_contact(f"SM{round_}", phone, at=at + timedelta(milliseconds=1))
        processors = (new_processor(), new_processor())

        run_together(*(functools.partial(p.process, c) for p, c in zip(processors, (whatsapp, sms), strict=True)))

        a, b = stored(whatsapp), stored(sms)
        assert a.customer_id == b.customer_id is not None, f"round {round_}"
        assert a.case_id == b.case_id is not None, f"round {round_}"
        store = DynamoStore(boto3.client("dynamodb"), get_settings().table_name)
        owned = {i.identifier.kind.value: i.customer_id for i in store.customer_identities(a.customer_id or "")}
        assert owned == {"phone": a.customer_id, "whatsapp": a.customer_id}, f"round {round_}"
        # And the next WhatsApp message finds that one customer, not two that share the number.
        later = whatsapp_contact(f"wamid.{round_}.later", phone.lstrip("+"), at=at + timedelta(minutes=5))
        new_processor().process(later)
        assert stored(later).customer_id == a.customer_id, f"round {round_}"


def test_a_merge_racing_with_new_contacts_of_both_customers_loses_nothing(aws: Account) -> None:
    # Given two customers with a contact each
    setup = new_processor()
    setup.process(sms_contact("SM0", ADA, at=T0))
    setup.process(sms_contact("SM1", ADA_WORK, at=T0 + timedelta(minutes=1)))
    survivor, other = (
        stored(sms_contact("SM0", ADA, at=T0)).customer_id,
        stored(sms_contact("SM1", ADA_WORK, at=T0 + timedelta(minutes=1))).customer_id,
    )
    assert survivor and other and survivor != other
    merging = Merging(DynamoIdentityStore(boto3.client("dynamodb"), get_settings().table_name))
    later = [sms_contact(f"SM{n}", ADA if n % 2 else ADA_WORK, at=T0 + timedelta(minutes=10 + n)) for n in range(2, 8)]
    processors = [new_processor() for _ in later]

    # When the merge runs while new contacts of both arrive
    jobs: list[Callable[[], object]] = [lambda: merging.merge_customers(survivor, other, "CRM record")]
    jobs += [functools.partial(delivered, p, c) for p, c in zip(processors, later, strict=True)]
    run_together(*jobs)

    # Then every contact is stored and its customer resolves to the survivor
    for contact in later:
        landed = stored(contact)
        assert landed.customer_id is not None
        assert merging.resolve_customer_id(landed.customer_id) == (survivor, landed.customer_id != survivor)
    # And every identifier belongs to the survivor
    store = DynamoStore(boto3.client("dynamodb"), get_settings().table_name)
    assert {i.customer_id for i in store.customer_identities(other)} <= {survivor}
    assert {i.identifier.value for i in store.customer_identities(survivor)} == {ADA, ADA_WORK}
