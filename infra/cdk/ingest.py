"""The FIFO ingest queue between webhooks and the processor, and its dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

MAX_RECEIVE_COUNT = 5
# AWS's advice for an SQS event source: at least six times the function's timeout,
# so a batch still being retried is not handed to a second invocation.
VISIBILITY_TIMEOUT_FACTOR = 6


def dead_letter_queue(scope: Construct, construct_id: str, *, fifo: bool) -> sqs.Queue:
    """A queue that keeps what could not be processed for 14 days, for inspection and redrive."""
    queue = sqs.Queue(
        scope,
        construct_id,
        fifo=fifo or None,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    NagSuppressions.add_resource_suppressions(
        queue, [NagPackSuppression(id="AwsSolutions-SQS3", reason="this queue is itself a dead-letter queue")]
    )
    return queue


class IngestQueue(Construct):
    """Producers set MessageGroupId (one customer-side identifier) and MessageDeduplicationId
    (provider + provider message id), so content-based deduplication stays off and
    deduplication is scoped to the message group, which allows FIFO high throughput."""

    def __init__(self, scope: Construct, construct_id: str, *, processor_timeout: Duration) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = dead_letter_queue(self, "DeadLetters", fifo=True)
        self.queue = sqs.Queue(
            self,
            "Queue",
            fifo=True,
            content_based_deduplication=False,
            deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP,
            fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(processor_timeout.to_seconds() * VISIBILITY_TIMEOUT_FACTOR),
            retention_period=Duration.days(14),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVE_COUNT),
        )
