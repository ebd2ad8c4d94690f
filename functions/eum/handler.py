"""AWS End User Messaging inbound SMS (SNS subscription) → the ingest queue.

SNS invokes the function asynchronously: when the queue refuses the contacts the
invocation fails and Lambda retries it (FIFO deduplication drops what was queued).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import SNSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.channels import eum
from shared.config import get_settings
from shared.ingest.app import enqueue, queue_consent
from shared.ingest.source_records import parse_or_skip
from shared.model.contact import Contact
from shared.observability import logger, metrics, tracer
from shared.wiring import get_ingest_queue, get_outbound_queue


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_source(data_class=SNSEvent)
def lambda_handler(event: SNSEvent, context: LambdaContext) -> dict[str, Any]:
    region = get_settings().default_region
    contacts: list[Contact] = []
    for record in event.records:
        notification = record.sns
        contacts += parse_or_skip(
            functools.partial(
                eum.parse,
                notification.message,
                published_at=notification.timestamp,
                received_at=datetime.now(UTC),
                default_region=region,
            ),
            source="eum",
            record_id=notification.message_id,
        )
    if contacts:
        enqueue(get_ingest_queue(), contacts, channel="eum")
        queue_consent(get_outbound_queue, contacts)
    return {"queued": len(contacts)}
