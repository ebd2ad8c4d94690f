"""The table's stream → CRM sync events on the bus. Reports partial batch failures.

A record whose events do not all reach the bus fails; Lambda retries the batch
from the first failed record, so later records may be published twice, with the
same event ids (consumers dedupe on `event_id`, docs/events.md).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamo.stream import RawChange, decode
from shared.events.derivation import derive_events
from shared.observability import logger, metrics, tracer
from shared.wiring import get_event_publisher

batch = BatchProcessor(event_type=EventType.DynamoDBStreams)


class StreamRecordFailed(RuntimeError):
    """Raised in place of the original error, whose message may quote the item (personal data
    included): the tracer and the batch processor log what is raised, with its traceback."""


@tracer.capture_method(capture_error=False)
def record_handler(record: DynamoDBRecord) -> None:
    sequence_number = record.dynamodb.sequence_number if record.dynamodb else None
    try:
        change = RawChange.from_record(record)
        events = derive_events(decode(change))
        if events:
            get_event_publisher().publish(events)
    except Exception as error:
        logger.warning(
            "stream record failed", extra={"sequence_number": sequence_number, "error": type(error).__name__}
        )
        metrics.add_metric(name="StreamRecordsFailed", unit=MetricUnit.Count, value=1)
        raise StreamRecordFailed(f"{type(error).__name__} at sequence number {sequence_number}") from None
    if events:
        metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=len(events))
        logger.info(
            "events published",
            extra={
                "event_types": [event.type.value for event in events],
                "change": change.name.value,
                "sequence_number": sequence_number,
            },
        )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=batch, context=context)
