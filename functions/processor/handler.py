"""Ingest queue → dedupe, resolve, link, store. Reports partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.ingest.message import ContactMessage
from shared.linking.processor import Outcome
from shared.observability import logger, metrics, tracer
from shared.wiring import get_contact_processor

# A failed record fails only the later records of its own message group, so one
# customer's poison message never holds up another customer's contacts.
batch = SqsFifoPartialProcessor(skip_group_on_error=True)


OUTCOME_METRICS = {
    Outcome.DUPLICATE: "DuplicatesSkipped",
    Outcome.MERGED: "ContactsMerged",
    Outcome.REPAIRED: "ContactsRepaired",  # a redelivery of a stored contact: its links written again
    Outcome.ERASED: "ErasedRedeliveriesSkipped",
}


class UnreadableMessage(ValueError):
    """A queue message that is not a ContactMessage: it fails until the DLQ keeps it for a human.

    Raised without its cause: pydantic's message quotes the input, and the
    traceback would carry a customer's words into logs and traces.
    """


def read_message(record: SQSRecord) -> ContactMessage:
    try:
        return ContactMessage.model_validate_json(record.body)
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in issue["loc"]) or "body" for issue in error.errors()})
        raise UnreadableMessage(f"message {record.message_id} is not a contact message: {', '.join(fields)}") from None


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    message = read_message(record)
    result = get_contact_processor().process(message.contact)
    if result.outcome is Outcome.STORED:
        metrics.add_metric(name="ContactsStored", unit="Count", value=1)
        metrics.add_metric(name="CustomersCreated", unit="Count", value=int(result.customer_created))
        metrics.add_metric(name="CasesOpened", unit="Count", value=int(result.case_opened))
        metrics.add_metric(name="AmbiguousSenders", unit="Count", value=int(result.ambiguous))
        metrics.add_metric(name="IdentifiersOverLimit", unit="Count", value=int(result.over_limit))
    else:
        metrics.add_metric(name=OUTCOME_METRICS[result.outcome], unit="Count", value=1)
    logger.info(
        "contact processed",
        extra={
            "contact_id": result.contact_id,
            "outcome": result.outcome.value,
            "channel": message.contact.channel.value,
            "message_id": record.message_id,
        },
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=batch, context=context)
