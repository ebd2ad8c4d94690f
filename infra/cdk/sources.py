"""What invokes a function besides HTTP: made only when an enabled FunctionSpec uses it.

Every source reports partial failures and keeps what still fails in a queue, so
one bad record neither blocks the others nor disappears.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from aws_cdk import CfnOutput, Duration, Fn
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.cdk.function import ThreadlineFunction
from infra.cdk.http_api import ThreadlineHttpApi
from infra.cdk.ingest import dead_letter_queue
from infra.cdk.notifications import NotificationTopics
from infra.cdk.settings import DeploySettings
from infra.topology import SOURCE_KINDS, resolve

INGEST_BATCH_SIZE = 10  # the FIFO maximum
# Few per batch: a throttled send delays only its own case's later replies, and a batch stays short.
OUTBOUND_BATCH_SIZE = 5
# Providers throttle per account (Twilio's queue, Meta's and X's rate limits): a few senders suffice.
OUTBOUND_MAX_CONCURRENCY = 5
STREAM_BATCH_SIZE = 100
STREAM_RETRY_ATTEMPTS = 3


class _StreamOptions(TypedDict):
    starting_position: lambda_.StartingPosition
    batch_size: int
    bisect_batch_on_error: bool
    retry_attempts: int
    report_batch_item_failures: bool
    on_failure: lambda_.IEventSourceDlq


class EventSources(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploySettings,
        table: dynamodb.Table,
        ingest_queue: sqs.Queue,
        outbound_queue: sqs.Queue,
        topics: NotificationTopics,
        http: ThreadlineHttpApi,
        ses_event_topic: sns.Topic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.table = table
        self.ingest_queue = ingest_queue
        self.outbound_queue = outbound_queue
        self.http = http
        self._topics = topics
        self._connect_stream: kinesis.Stream | None = None
        self._eum_sms_topic: sns.Topic | None = None
        self._ses_topic: sns.Topic | None = None
        self.ses_event_topic = ses_event_topic  # SES events of our email replies, to the same route
        self.failure_queues: list[sqs.Queue] = []

    def attach(self, target: ThreadlineFunction) -> None:
        """Wire `target` to its spec's source, as SOURCE_KINDS in infra/topology.py names it."""
        if target.spec.source is not None:
            attach: Attach = resolve(SOURCE_KINDS[target.spec.source].deploy)
            attach(self, target)

    def stream_options(self, target: ThreadlineFunction, name: str) -> _StreamOptions:
        failures = self.failure_queue(f"{target.spec.name}{name}Failures")
        return _StreamOptions(
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=STREAM_BATCH_SIZE,
            bisect_batch_on_error=True,
            retry_attempts=STREAM_RETRY_ATTEMPTS,
            report_batch_item_failures=True,
            # The failure record names the shard and sequence range to re-read from.
            on_failure=event_sources.SqsDlq(failures),
        )

    def failure_queue(self, construct_id: str) -> sqs.Queue:
        """A dead-letter queue for what a source could not deliver; the stack alarms on each one."""
        queue = dead_letter_queue(self, construct_id, fifo=False)
        self.failure_queues.append(queue)
        return queue

    def connect_stream(self) -> kinesis.Stream:
        if self._connect_stream is None:
            self._connect_stream = kinesis.Stream(
                self,
                "ConnectStream",
                encryption=kinesis.StreamEncryption.MANAGED,
                stream_mode=kinesis.StreamMode.PROVISIONED,
                shard_count=self.settings.connect_shard_count,
                retention_period=Duration.days(1),
            )
            CfnOutput(
                self,
                "ConnectStreamName",
                key="ConnectContactRecordStream",
                value=self._connect_stream.stream_name,
                description="Amazon Connect > Data streaming > Contact Trace Records: choose this Kinesis stream",
            )
        return self._connect_stream

    def subscribe_to_eum_sms(self, target: ThreadlineFunction) -> None:
        if self._eum_sms_topic is None:
            self._eum_sms_topic = self._topics.topic(
                "EumSmsTopic", display_name="Threadline inbound SMS", publisher="sms-voice.amazonaws.com"
            )
            CfnOutput(
                self,
                "EumSmsTopicArn",
                key="EumSmsTopicArn",
                value=self._eum_sms_topic.topic_arn,
                description="End User Messaging SMS > phone number > two-way SMS: this SNS topic",
            )
        # SNS delivery failures and the function's own failures after Lambda's retries land here.
        failures = self.failure_queue(f"{target.spec.name}Failures")
        self._eum_sms_topic.add_subscription(
            subscriptions.LambdaSubscription(target.function, dead_letter_queue=failures)
        )
        target.function.configure_async_invoke(on_failure=destinations.SqsDestination(failures), retry_attempts=2)

    def ses_receipt_topic(self) -> sns.Topic:
        """The topic SES receipt rules notify; the SES webhook accepts notifications of this topic only."""
        if self._ses_topic is None:
            self._ses_topic = self._topics.topic(
                "SesReceiptTopic", display_name="Threadline inbound email", publisher="ses.amazonaws.com"
            )
            CfnOutput(
                self,
                "SesTopicArn",
                key="SesReceiptTopicArn",
                value=self._ses_topic.topic_arn,
                description="SES receipt rule: S3 action (mail bucket) with this SNS topic",
            )
        return self._ses_topic


Attach = Callable[[EventSources, ThreadlineFunction], None]


def attach_ingest_queue(sources: EventSources, target: ThreadlineFunction) -> None:
    target.function.add_event_source(
        event_sources.SqsEventSource(
            sources.ingest_queue,
            batch_size=INGEST_BATCH_SIZE,
            report_batch_item_failures=True,
            # Caps the processor's share of DynamoDB and of the account's concurrency
            # without reserved concurrency, which would throttle and re-deliver instead.
            max_concurrency=sources.settings.processor_max_concurrency,
        )
    )


def attach_outbound_queue(sources: EventSources, target: ThreadlineFunction) -> None:
    target.function.add_event_source(
        event_sources.SqsEventSource(
            sources.outbound_queue,
            batch_size=OUTBOUND_BATCH_SIZE,
            report_batch_item_failures=True,
            max_concurrency=OUTBOUND_MAX_CONCURRENCY,
        )
    )


def attach_connect_stream(sources: EventSources, target: ThreadlineFunction) -> None:
    target.function.add_event_source(
        event_sources.KinesisEventSource(sources.connect_stream(), **sources.stream_options(target, "ConnectStream"))
    )


def attach_table_stream(sources: EventSources, target: ThreadlineFunction) -> None:
    target.function.add_event_source(
        event_sources.DynamoEventSource(sources.table, **sources.stream_options(target, "TableStream"))
    )
    NagSuppressions.add_resource_suppressions(
        target.role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="dynamodb:ListStreams supports no resource-level permissions",
                applies_to=["Resource::*"],
            )
        ],
        apply_to_children=True,
    )


def attach_eum_sms_topic(sources: EventSources, target: ThreadlineFunction) -> None:
    sources.subscribe_to_eum_sms(target)


def attach_ses_receipt_topic(sources: EventSources, target: ThreadlineFunction) -> None:
    """SES receipt rules notify a topic of ours; SNS delivers over HTTPS to the function's route."""
    topics = [sources.ses_receipt_topic(), *([sources.ses_event_topic] if sources.ses_event_topic else [])]
    target.add_environment("THREADLINE_SES_TOPIC_ARNS", Fn.join(",", [topic.topic_arn for topic in topics]))
    for topic in topics:
        for route in target.spec.routes:
            subscription = topic.add_subscription(
                subscriptions.UrlSubscription(sources.http.url_of(route.path), protocol=sns.SubscriptionProtocol.HTTPS)
            )
            # SNS sends its confirmation at once: the route must be live by then.
            subscription.node.add_dependency(sources.http.stage, *sources.http.routes.values())
