"""Stored changes → events, from the table's real stream (moto), through the events function."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from boto3.dynamodb.types import TypeSerializer

from shared import config
from shared.adapters.dynamo.stream import RawChange, decode
from shared.events.derivation import derive_events
from shared.model.contact import Contact, Content
from shared.model.events import EventType
from shared.model.records import LinkWrites
from shared.wiring import get_contact_processor, get_event_publisher, get_store
from tests.builders import sms_contact, stored_contact
from tests.conftest import Account
from tests.streams import Stream, publish, published

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_serializer = TypeSerializer()
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/threadline-test/stream/2026-11-01T00:00:00.000"


def stored(sid: str) -> Contact:
    return stored_contact("twilio", sid)


def test_first_sms_of_a_new_customer_yields_customer_created_case_opened_and_contact_received(
    stream: Stream, events_file: Path
) -> None:
    get_contact_processor().process(sms_contact("SM1", at=T0))

    assert publish(stream.new_batch()) == {"batchItemFailures": []}

    events = {event["type"]: event for event in published(events_file)}
    assert sorted(events) == ["case.opened", "contact.received", "customer.created"]
    contact = stored("SM1")
    received = events["contact.received"]
    assert Contact.model_validate(received["data"]) == contact
    assert (received["customer_id"], received["case_id"]) == (contact.customer_id, contact.case_id)
    assert events["customer.created"]["data"]["customer_id"] == contact.customer_id
    assert events["case.opened"]["data"]["status"] == "open"
    assert events["case.opened"]["case_id"] == contact.case_id
    assert all(event["schema_version"] == 1 for event in events.values())


def test_sms_on_an_open_case_yields_only_contact_received(stream: Stream, events_file: Path) -> None:
    processor = get_contact_processor()
    processor.process(sms_contact("SM1", at=T0))
    publish(stream.new_batch())

    processor.process(sms_contact("SM2", at=T0 + timedelta(hours=1)))
    publish(stream.new_batch())

    later = published(events_file)[3:]
    assert [event["type"] for event in later] == ["contact.received"]
    assert later[0]["data"]["provider_message_id"] == "SM2"


def test_each_stored_change_yields_one_event_and_redelivery_repeats_the_same_ids(
    stream: Stream, events_file: Path
) -> None:
    processor = get_contact_processor()
    contact = sms_contact("SM1", at=T0)
    for _ in range(3):  # SQS redelivers the same message: stored once
        processor.process(contact)
    processor.process(sms_contact("SM2", at=T0 + timedelta(minutes=5)))
    batch = stream.new_batch()

    publish(batch)
    first = published(events_file)
    publish(batch)  # Lambda retries the same stream batch
    second = published(events_file)[len(first) :]

    assert Counter(event["type"] for event in first) == {
        "contact.received": 2,
        "customer.created": 1,
        "case.opened": 1,
    }
    assert len({event["event_id"] for event in first}) == len(first)
    assert [event["event_id"] for event in second] == [event["event_id"] for event in first]


def test_a_stored_contact_that_changes_yields_contact_updated(stream: Stream, events_file: Path) -> None:
    get_contact_processor().process(sms_contact("SM1", at=T0))
    publish(stream.new_batch())
    contact = stored("SM1")
    changed = contact.model_copy(update={"content": Content(text=contact.content.text, status="delivered")})

    get_store().save(changed, LinkWrites())
    publish(stream.new_batch())

    updates = [event for event in published(events_file) if event["type"] == "contact.updated"]
    assert len(updates) == 1
    assert updates[0]["data"]["content"]["status"] == "delivered"
    assert updates[0]["customer_id"] == contact.customer_id


def test_rewriting_a_contact_unchanged_yields_no_event(stream: Stream, events_file: Path) -> None:
    get_contact_processor().process(sms_contact("SM1", at=T0))
    publish(stream.new_batch())
    before = published(events_file)

    get_store().save(stored("SM1"), LinkWrites())
    batch = stream.new_batch()
    publish(batch)

    assert {record["eventName"] for record in batch["Records"]} == {"MODIFY"}  # moto streams it anyway
    assert published(events_file) == before


# --- case changes: images of the real case item, as a later close/reopen would write them ----------


def stream_record(name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> DynamoDBRecord:
    item = new or old
    assert item is not None
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1793610000.0,
        "Keys": {"PK": {"S": item["PK"]}, "SK": {"S": item["SK"]}},
        "SequenceNumber": "4100000000021000001",
        "SizeBytes": 300,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old:
        dynamodb["OldImage"] = {key: _serializer.serialize(value) for key, value in old.items()}
    if new:
        dynamodb["NewImage"] = {key: _serializer.serialize(value) for key, value in new.items()}
    return DynamoDBRecord(
        {
            "eventID": f"{name.lower()}-1",
            "eventName": name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": dynamodb,
            "eventSourceARN": STREAM_ARN,
        }
    )


def stored_item(aws: Account, pk: str, sk: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb").Table(aws.table)
    item: dict[str, Any] = table.get_item(Key={"PK": pk, "SK": sk})["Item"]
    return item


def case_item(aws: Account) -> dict[str, Any]:
    get_contact_processor().process(sms_contact("SM1", at=T0))
    return stored_item(aws, f"CASE#{stored('SM1').case_id}", "CASE")


def derived_types(record: DynamoDBRecord) -> list[EventType]:
    return [event.type for event in derive_events(decode(RawChange.from_record(record)))]


def test_closing_a_case_yields_case_closed(aws: Account) -> None:
    opened = case_item(aws)
    events = derive_events(
        decode(RawChange.from_record(stream_record("MODIFY", opened, {**opened, "status": "closed"})))
    )

    assert [event.type for event in events] == [EventType.CASE_CLOSED]
    assert events[0].case_id == opened["case_id"]
    assert events[0].customer_id == opened["customer_id"]
    assert events[0].time == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_reopening_a_case_yields_case_updated(aws: Account) -> None:
    opened = case_item(aws)
    closed = {**opened, "status": "closed"}

    assert derived_types(stream_record("MODIFY", closed, opened)) == [EventType.CASE_UPDATED]


def test_a_case_rewritten_unchanged_yields_nothing(aws: Account) -> None:
    opened = case_item(aws)

    assert derived_types(stream_record("MODIFY", opened, {**opened, "GSI1SK": opened["GSI1SK"]})) == []


def test_items_that_are_not_contacts_customers_or_cases_yield_nothing(aws: Account) -> None:
    get_contact_processor().process(sms_contact("SM1", at=T0))
    contact = stored("SM1")
    table = boto3.resource("dynamodb").Table(aws.table)
    others = [item for item in table.scan()["Items"] if item["SK"] in {"MSG", "THR", "IDN", "LAST"}]
    merge_log = {"PK": f"CUS#{contact.customer_id}", "SK": "MERGE#2026-11-02T09:00:00.000000Z", "into": "cus_x"}

    assert {item["SK"] for item in others} == {"MSG", "THR", "IDN", "LAST"}
    for item in [*others, merge_log]:
        assert derived_types(stream_record("INSERT", None, item)) == []
    assert derived_types(stream_record("REMOVE", stored_item(aws, f"CON#{contact.contact_id}", "CON"), None)) == []


def test_a_profile_whose_active_case_moves_yields_nothing(aws: Account) -> None:
    get_contact_processor().process(sms_contact("SM1", at=T0))
    profile = stored_item(aws, f"CUS#{stored('SM1').customer_id}", "PROFILE")
    moved = {**profile, "active_case_at": "2026-11-02T10:00:00.000000Z"}

    assert derived_types(stream_record("MODIFY", profile, moved)) == []


def test_a_record_that_cannot_be_read_fails_alone_and_logs_no_personal_data(
    stream: Stream, events_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    get_contact_processor().process(sms_contact("SM1", at=T0, text="my card is 4242"))
    batch = stream.new_batch()
    contact_record = next(r for r in batch["Records"] if r["dynamodb"]["Keys"]["PK"]["S"].startswith("CON#"))
    contact_record["dynamodb"]["NewImage"]["contact"] = {"S": '{"text": "my card is 4242", "from": "+14155550123"'}

    response = publish(batch)

    assert response == {"batchItemFailures": [{"itemIdentifier": contact_record["dynamodb"]["SequenceNumber"]}]}
    assert sorted(event["type"] for event in published(events_file)) == ["case.opened", "customer.created"]
    [warning] = [record for record in caplog.records if record.getMessage() == "stream record failed"]
    assert warning.error == "ValidationError"  # type: ignore[attr-defined]
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert "4242" not in logged
    assert "+14155550123" not in logged


def test_events_that_cannot_be_published_fail_their_records_only(
    stream: Stream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADLINE_EVENTS_FILE", str(tmp_path))  # a directory: every append fails
    config.clear_caches()
    get_event_publisher.cache_clear()
    get_contact_processor().process(sms_contact("SM1", at=T0))
    batch = stream.new_batch()
    yielding = {
        record["dynamodb"]["SequenceNumber"]
        for record in batch["Records"]
        if derive_events(decode(RawChange.from_record(DynamoDBRecord(record))))
    }
    assert len(yielding) == 3  # the contact, its customer and its case

    response = publish(batch)

    assert {failure["itemIdentifier"] for failure in response["batchItemFailures"]} == yielding
    assert len(batch["Records"]) > len(yielding)
