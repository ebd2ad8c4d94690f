"""The local stream poller against moto's DynamoDB Streams: Lambda-shaped batches, retries, end to end."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

from functions.events.handler import lambda_handler
from infra.local.stream_poller import TableStreamPoller
from shared.wiring import get_contact_processor
from tests.builders import FakeContext, sms_contact
from tests.conftest import Account
from tests.streams import IN_PROCESS_STREAMS

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Recorder:
    """An invoke target that records each batch and answers with the failures it is told to report."""

    def __init__(self, fail: set[int] | None = None, raise_times: int = 0) -> None:
        self.batches: list[dict[str, Any]] = []
        self._fail = fail or set()  # positions in the table's stream (0 = first record ever)
        self._raise_times = raise_times
        self.position: dict[str, int] = {}

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.batches.append(event)
        if self._raise_times:
            self._raise_times -= 1
            raise RuntimeError("handler bug")
        failures = [
            {"itemIdentifier": record["dynamodb"]["SequenceNumber"]}
            for record in event["Records"]
            if self.position.setdefault(record["eventID"], len(self.position)) in self._fail
        ]
        return {"batchItemFailures": failures}

    def sequence(self, batch: int) -> list[int]:
        return [self.position[record["eventID"]] for record in self.batches[batch]["Records"]]


def poller(aws: Account, invoke: Any, **options: Any) -> TableStreamPoller:
    streams = boto3.client("dynamodbstreams", config=IN_PROCESS_STREAMS)
    return TableStreamPoller.for_table(aws.dynamodb, streams, aws.table, invoke, retry_wait_s=0, **options)


def put(aws: Account, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        aws.dynamodb.put_item(TableName=aws.table, Item={"PK": {"S": f"MSG#twilio#SM{number}"}, "SK": {"S": "MSG"}})


def test_batches_are_shaped_as_lambda_receives_dynamodb_stream_events(aws: Account) -> None:
    get_contact_processor().process(sms_contact("SM1", at=T0))
    recorder = Recorder()

    poller(aws, recorder).poll_once()

    [batch] = recorder.batches
    record = batch["Records"][0]
    assert set(record) == {
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    }
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"].startswith(f"arn:aws:dynamodb:us-east-1:123456789012:table/{aws.table}/stream/")
    assert {"ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber", "SizeBytes", "StreamViewType"} <= set(
        record["dynamodb"]
    )
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    json.dumps(batch)  # plain JSON, as Lambda delivers it
    parsed = list(DynamoDBStreamEvent(batch).records)
    assert parsed[0].dynamodb is not None
    assert parsed[0].dynamodb.keys["SK"] == "IDN"


def test_each_record_is_delivered_once_and_a_quiet_stream_delivers_nothing(aws: Account) -> None:
    recorder = Recorder()
    source = poller(aws, recorder, batch_size=3)
    put(aws, 5)

    delivered = [source.poll_once(), source.poll_once(), source.poll_once()]
    put(aws, 1, start=5)

    assert delivered == [3, 2, 0]
    assert source.poll_once() == 1
    assert [recorder.sequence(index) for index in range(len(recorder.batches))] == [[0, 1, 2], [3, 4], [5]]


def test_a_reported_failure_retries_the_batch_from_the_lowest_failed_record(aws: Account) -> None:
    put(aws, 4)
    recorder = Recorder(fail={1, 3})
    source = poller(aws, recorder, max_attempts=10)

    source.poll_once()
    source.poll_once()

    assert recorder.sequence(0) == [0, 1, 2, 3]
    assert recorder.sequence(1) == [1, 2, 3]


def test_a_record_that_keeps_failing_is_skipped_after_the_attempt_limit(aws: Account) -> None:
    put(aws, 3)
    recorder = Recorder(fail={1})
    source = poller(aws, recorder, max_attempts=2)

    for _ in range(3):
        source.poll_once()

    assert [recorder.sequence(index) for index in range(3)] == [[0, 1, 2], [1, 2], [2]]
    assert source.status()["skipped"] == 1


def test_a_handler_that_raises_gets_the_whole_batch_again(aws: Account) -> None:
    put(aws, 2)
    recorder = Recorder(raise_times=1)
    source = poller(aws, recorder)

    assert source.poll_once() == 0
    assert source.poll_once() == 2
    assert recorder.sequence(1) == [0, 1]


def test_starting_at_latest_skips_what_was_written_before(aws: Account) -> None:
    put(aws, 2)
    recorder = Recorder()
    source = poller(aws, recorder, start_at="LATEST")
    source.poll_once()

    put(aws, 1, start=2)
    source.poll_once()

    assert len(recorder.batches) == 1
    assert recorder.batches[0]["Records"][0]["dynamodb"]["Keys"]["PK"] == {"S": "MSG#twilio#SM2"}


def test_stored_contacts_become_events_in_the_local_file_through_the_events_function(
    aws: Account, events_file: Path
) -> None:
    processor = get_contact_processor()
    processor.process(sms_contact("SM1", at=T0))
    processor.process(sms_contact("SM2", at=T0 + timedelta(minutes=3)))
    source = poller(aws, lambda event: lambda_handler(event, FakeContext()))  # type: ignore[arg-type]

    source.poll_once()
    source.poll_once()

    types = [json.loads(line)["type"] for line in events_file.read_text().splitlines()]
    assert sorted(types) == ["case.opened", "contact.received", "contact.received", "customer.created"]
    assert source.status()["failed"] == 0


def test_started_in_a_thread_it_polls_until_stopped(aws: Account) -> None:
    delivered = threading.Event()
    recorder = Recorder()

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        result = recorder(event)
        delivered.set()
        return result

    source = poller(aws, invoke, idle_wait_s=0.05)
    source.start()
    put(aws, 1)
    try:
        assert delivered.wait(timeout=30)
    finally:
        source.stop()
    assert source.status()["delivered"] == 1
