"""The table's stream, polled in-process: what a DynamoDB Streams event source mapping does when deployed.

It reads moto's (or any) DynamoDB Streams API shard by shard, children after
their parents, builds the exact Lambda event of a stream batch, invokes the
function, and honours `batchItemFailures` as Lambda does: the batch is retried
from the failed record with the lowest sequence number. A record that keeps
failing is skipped after `max_attempts` with an error log (deployed, the event
source mapping's retry limit and on-failure destination do this).

Registered for `Source.TABLE_STREAM` with `start()`/`stop()`/`status()`, the
interface of the local pollers; `run(stop_event)` is the same loop, blocking.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

log = logging.getLogger("threadline.local")

Invoke = Callable[[dict[str, Any]], Any]
StartAt = Literal["TRIM_HORIZON", "LATEST"]
BATCH_SIZE = 100  # the event source mapping default for DynamoDB Streams
IDLE_WAIT_S = 0.5
RETRY_WAIT_S = 1.0
MAX_ATTEMPTS = 3


def _as_event_value(value: Any) -> Any:
    """boto3 decodes binary attributes to bytes; the Lambda event carries them base64-encoded."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {key: _as_event_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_event_value(item) for item in value]
    return value


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """One GetRecords record as the event source mapping delivers it to Lambda."""
    stream = {key: _as_event_value(value) for key, value in record["dynamodb"].items()}
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        # Lambda gives epoch seconds, as a number, at second precision.
        stream["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    event: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or stream_arn.split(":")[3],
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }
    identity = record.get("userIdentity")
    if identity:  # TTL deletions name the DynamoDB service
        event["userIdentity"] = {"principalId": identity.get("PrincipalId"), "type": identity.get("Type")}
    return event


def _retry_from(result: Any, sequence_numbers: list[str]) -> str | None:
    """Lambda's rule: the lowest failed sequence number; a malformed report fails the whole batch."""
    if not isinstance(result, Mapping) or result.get("batchItemFailures") is None:
        return None
    failures = result["batchItemFailures"]
    if not failures:
        return None
    try:
        failed = {str(item["itemIdentifier"]) for item in failures}
    except (KeyError, TypeError):
        return sequence_numbers[0]
    if not failed <= set(sequence_numbers):
        return sequence_numbers[0]
    return min(failed, key=int)


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    finished: bool = False
    failing_at: str | None = None  # sequence number the last batch failed from
    attempts: int = 0


class TableStreamPoller:
    def __init__(
        self,
        streams: DynamoDBStreamsClient,
        stream_arn: str,
        invoke: Invoke,
        *,
        name: str = "events",
        start_at: StartAt = "TRIM_HORIZON",
        batch_size: int = BATCH_SIZE,
        max_attempts: int = MAX_ATTEMPTS,
        idle_wait_s: float = IDLE_WAIT_S,
        retry_wait_s: float = RETRY_WAIT_S,
    ) -> None:
        self._streams = streams
        self._arn = stream_arn
        self._invoke = invoke
        self._name = name
        self._start_at = start_at
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._idle_wait_s = idle_wait_s
        self._retry_wait_s = retry_wait_s
        self._shards: dict[str, _Shard] = {}
        self._listed = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._delivered = 0
        self._failed = 0
        self._skipped = 0

    @classmethod
    def for_table(
        cls, dynamodb: DynamoDBClient, streams: DynamoDBStreamsClient, table_name: str, invoke: Invoke, **options: Any
    ) -> TableStreamPoller:
        arn = dynamodb.describe_table(TableName=table_name)["Table"].get("LatestStreamArn")
        if not arn:
            raise ValueError(f"table {table_name} has no stream")
        return cls(streams, arn, invoke, **options)

    # --- the local poller interface -------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, args=(self._stopping,), name=f"poller-{self._name}")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout=self._idle_wait_s + self._retry_wait_s + 5)

    def status(self) -> dict[str, Any]:
        return {
            "function": self._name,
            "shards": len(self._shards),
            "delivered": self._delivered,
            "failed": self._failed,
            "skipped": self._skipped,
        }

    def run(self, stop_event: threading.Event) -> None:
        """Poll until `stop_event` is set; waits only when a pass delivered nothing."""
        while not stop_event.is_set():
            try:
                delivered = self.poll_once()
            except (BotoCoreError, ClientError):
                if stop_event.is_set():
                    return
                log.exception("polling the table stream failed; retrying")
                delivered = 0
            if not delivered:
                stop_event.wait(self._retry_wait_s if self._retrying() else self._idle_wait_s)

    # --- one pass -------------------------------------------------------------------------

    def poll_once(self) -> int:
        """Read one batch from every readable shard and deliver it; returns the records delivered."""
        # Shards are listed again when one closes (its children open) or none is open yet.
        if not self._listed or all(shard.finished for shard in self._shards.values()):
            self._list_shards()
        delivered = 0
        for shard in list(self._shards.values()):
            if shard.finished or not self._parent_done(shard):
                continue
            iterator = shard.iterator or self._iterator(shard)
            if iterator is None:
                shard.finished = True
                continue
            response = self._streams.get_records(ShardIterator=iterator, Limit=self._batch_size)
            records = response.get("Records", [])
            next_iterator = response.get("NextShardIterator")
            if records:
                delivered += self._deliver(shard, records, next_iterator)
            else:
                shard.iterator = next_iterator
            if shard.iterator is None:
                shard.finished = True  # a closed shard, read to its end
                self._listed = False
        return delivered

    def _deliver(self, shard: _Shard, records: list[Any], next_iterator: str | None) -> int:
        sequence_numbers = [str(record["dynamodb"]["SequenceNumber"]) for record in records]
        event = {"Records": [lambda_record(record, self._arn) for record in records]}
        try:
            retry_from = _retry_from(self._invoke(event), sequence_numbers)
        except Exception:
            log.exception("%s raised: the whole batch will be retried (a bug)", self._name)
            retry_from = sequence_numbers[0]
        if retry_from is None:
            shard.iterator, shard.failing_at, shard.attempts = next_iterator, None, 0
            self._delivered += len(records)
            return len(records)
        done = sequence_numbers.index(retry_from)
        self._delivered += done
        self._failed += len(records) - done
        shard.attempts = shard.attempts + 1 if shard.failing_at == retry_from else 1
        shard.failing_at = retry_from
        if shard.attempts >= self._max_attempts:
            log.error("%s: skipping stream record %s after %d attempts", self._name, retry_from, shard.attempts)
            self._skipped += 1
            shard.iterator = self._iterator(shard, "AFTER_SEQUENCE_NUMBER", retry_from)
            shard.failing_at, shard.attempts = None, 0
        else:
            log.warning("%s: %d of %d records failed; retrying", self._name, len(records) - done, len(records))
            shard.iterator = self._iterator(shard, "AT_SEQUENCE_NUMBER", retry_from)
        return done

    # --- shards ---------------------------------------------------------------------------

    def _list_shards(self) -> None:
        first_listing = not self._shards
        request: dict[str, Any] = {"StreamArn": self._arn}
        while True:
            description = self._streams.describe_stream(**request)["StreamDescription"]
            for shard in description.get("Shards", []):
                if shard["ShardId"] not in self._shards:
                    known = _Shard(shard["ShardId"], shard.get("ParentShardId"))
                    # Shards that appear later are read from their start: nothing in them is old.
                    known.iterator = None if first_listing else self._iterator(known, "TRIM_HORIZON")
                    self._shards[known.shard_id] = known
            last = description.get("LastEvaluatedShardId")
            if not last:
                break
            request["ExclusiveStartShardId"] = last
        self._listed = True

    def _parent_done(self, shard: _Shard) -> bool:
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        return parent is None or parent.finished  # a parent past retention is gone: nothing to wait for

    def _iterator(self, shard: _Shard, kind: str | None = None, sequence_number: str | None = None) -> str | None:
        request: dict[str, Any] = {
            "StreamArn": self._arn,
            "ShardId": shard.shard_id,
            "ShardIteratorType": kind or self._start_at,
        }
        if sequence_number is not None:
            request["SequenceNumber"] = sequence_number
        return self._streams.get_shard_iterator(**request).get("ShardIterator")

    def _retrying(self) -> bool:
        return any(shard.failing_at for shard in self._shards.values())
