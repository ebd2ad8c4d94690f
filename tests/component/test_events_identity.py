"""Merges and undos reach CRM sync consumers as one event each, read off the real table stream."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.dynamo.identity import DynamoIdentityStore
from shared.config import get_settings
from shared.linking.merging import Merging
from shared.linking.processor import ContactProcessor
from shared.model.events import EventType
from tests.builders import sms_contact
from tests.conftest import Account
from tests.streams import Stream, publish, published

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EVIDENCE = "CRM record 0031x00000AbCdE holds both numbers"


@pytest.fixture
def merging(aws: Account) -> Merging:
    return Merging(DynamoIdentityStore(boto3.client("dynamodb"), aws.table), clock=lambda: T0 + timedelta(days=1))


def two_customers(aws: Account, merging: Merging) -> tuple[str, str]:
    processor = ContactProcessor(DynamoStore(boto3.client("dynamodb"), aws.table), get_settings(), merging)
    store = DynamoStore(boto3.client("dynamodb"), aws.table)
    customers = []
    for sid, phone, at in (("SM1", "+14155550123", T0), ("SM2", "+14155550124", T0 + timedelta(hours=1))):
        processor.process(sms_contact(sid, phone, at=at))
        contact = store.get_contact(store.find_contact_id("twilio", sid) or "")
        assert contact is not None
        assert contact.customer_id
        customers.append(contact.customer_id)
    return customers[0], customers[1]


def test_a_merge_and_its_undo_are_one_event_each(
    aws: Account, merging: Merging, stream: Stream, events_file: Path
) -> None:
    older, newer = two_customers(aws, merging)
    publish(stream.new_batch())

    record = merging.merge_customers(older, newer, EVIDENCE)
    publish(stream.new_batch())
    merging.undo_merge(record.merge_id)
    publish(stream.new_batch())

    identity_events = [e for e in published(events_file) if e["type"].startswith("customer.") and "merge" in e["type"]]
    assert [e["type"] for e in identity_events] == [EventType.CUSTOMER_MERGED, EventType.CUSTOMER_UNMERGED]
    merged, unmerged = (e["data"] for e in identity_events)
    assert (merged["merge_id"], merged["surviving_customer_id"], merged["merged_customer_id"]) == (
        record.merge_id,
        older,
        newer,
    )
    assert merged["evidence"] == EVIDENCE
    assert (unmerged["merge_id"], unmerged["restored_customer_id"]) == (record.merge_id, newer)


def test_a_redelivered_stream_batch_republishes_the_same_merge_event(
    aws: Account, merging: Merging, stream: Stream, events_file: Path
) -> None:
    older, newer = two_customers(aws, merging)
    publish(stream.new_batch())
    merging.merge_customers(older, newer, EVIDENCE)
    batch = stream.new_batch()

    publish(batch)
    publish(batch)

    merges = [e for e in published(events_file) if e["type"] == EventType.CUSTOMER_MERGED]
    assert len(merges) == 2
    assert Counter(e["event_id"] for e in merges).most_common(1)[0][1] == 2  # same id: consumers dedupe
