"""Outbound queue → send replies through their providers; apply delivery reports and consent changes.

One consumer owns every write to a reply's delivery, so the state machine of
`shared.replies.sending` is the only one that moves it. Partial batch failures:
a throttled send fails its record after moving its visibility to the
provider's Retry-After; after the queue's receive limit it lands in the DLQ,
whose alarm asks a person to look.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.model.delivery import ChangeConsent, OutboundMessage, ReportDelivery, SendReply
from shared.observability import logger, metrics, tracer
from shared.replies.sending import ThrottledRetry
from shared.wiring import get_outbound_queue, get_sender

# A failed record holds back only the later records of its group: the replies of one case, the
# reports of one reply, the consent of one number.
batch = SqsFifoPartialProcessor(skip_group_on_error=True)


class UnreadableMessage(ValueError):
    """Not an outbound message: it fails until the DLQ keeps it for a person (fields named, never values)."""


def read_message(record: SQSRecord) -> OutboundMessage:
    try:
        return OutboundMessage.model_validate_json(record.body)
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in issue["loc"]) or "body" for issue in error.errors()})
        raise UnreadableMessage(f"message {record.message_id} is not outbound work: {', '.join(fields)}") from None


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    work = read_message(record).work
    if isinstance(work, SendReply):
        try:
            outcome = get_sender().send(work.contact_id)
        except ThrottledRetry as retry:
            metrics.add_metric(name="RepliesRetried", unit="Count", value=1)
            get_outbound_queue().delay(record.receipt_handle, retry.after_s)
            raise
        metrics.add_metric(name=f"Replies{outcome.value.capitalize()}", unit="Count", value=1)
        logger.info("reply sent", extra={"contact_id": work.contact_id, "outcome": outcome.value})
    elif isinstance(work, ReportDelivery):
        applied = get_sender().apply_report(work.report)
        metrics.add_metric(
            name="DeliveryReports" if applied.contact_id else "DeliveryReportsUnmatched", unit="Count", value=1
        )
        logger.info(
            "delivery report",
            extra={"contact_id": applied.contact_id, "status": work.report.status.value, "changed": applied.changed},
        )
    elif isinstance(work, ChangeConsent):
        get_sender().change_consent(work.consent)
        metrics.add_metric(name="ConsentChanges", unit="Count", value=1)
        logger.info("consent changed", extra={"opted_out": work.consent.opted_out, "reason": work.consent.reason})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=batch, context=context)
