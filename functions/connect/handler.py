"""Amazon Connect contact records (Kinesis) → the ingest queue. Reports batch item failures."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.channels import connect
from shared.config import get_settings
from shared.ingest.app import enqueue
from shared.ingest.source_records import parse_or_skip
from shared.observability import logger, metrics, tracer
from shared.wiring import get_ingest_queue

# A record fails only when the queue refuses it; Lambda then retries from that record on.
batch = BatchProcessor(event_type=EventType.KinesisDataStreams)


@tracer.capture_method
def record_handler(record: KinesisStreamRecord) -> None:
    settings = get_settings()
    contacts = parse_or_skip(
        functools.partial(
            connect.parse,
            record.kinesis.data_as_bytes(),
            received_at=datetime.now(UTC),
            default_region=settings.default_region,
            case_attribute=settings.connect_case_attribute,
        ),
        source="connect",
        record_id=record.kinesis.sequence_number,
    )
    if contacts:
        enqueue(get_ingest_queue(), contacts, channel="connect")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=batch, context=context)
