"""The Threadline stack, built from `infra.topology`: a new FunctionSpec needs no change here."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.cdk.access import GrantableResources, grant_access
from infra.cdk.bundling import LayerRecipe, build_dependency_layer, placeholder_layer, runtime_dependencies
from infra.cdk.event_destination import EventDestinationRule
from infra.cdk.events import ThreadlineEventBus
from infra.cdk.function import RUNTIME, RUNTIME_PYTHON, ThreadlineFunction
from infra.cdk.http_api import ThreadlineHttpApi
from infra.cdk.ingest import IngestQueue
from infra.cdk.monitoring import Monitoring
from infra.cdk.notifications import NotificationTopics
from infra.cdk.reply_email import ReplyEmailEvents
from infra.cdk.secrets import ChannelSecrets
from infra.cdk.settings import LOG_RETENTION_DAYS, DeploySettings
from infra.cdk.sources import EventSources
from infra.cdk.storage import ContactTable, MailBucket
from infra.cdk.x_polling import configure_x_poller
from infra.topology import Access, FunctionSpec, Source, enabled_functions

MAIL_ACCESS = frozenset({Access.MAIL_BUCKET_READ, Access.MAIL_BUCKET_WRITE})
DEFAULT_PROCESSOR_TIMEOUT_S = 30


def log_retention(days: int) -> logs.RetentionDays:
    members = [member for member in logs.RetentionDays if member is not logs.RetentionDays.INFINITE]
    return dict(zip(LOG_RETENTION_DAYS, members, strict=True))[days]


def dependency_layer_folder(settings: DeploySettings) -> str:
    if not settings.bundle:
        return str(placeholder_layer())
    return str(build_dependency_layer(LayerRecipe(runtime_dependencies(), RUNTIME_PYTHON)))


class ThreadlineStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploySettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description=f"Threadline channel connectors ({settings.stage})", **kwargs)
        Tags.of(self).add("project", "threadline")
        Tags.of(self).add("stage", settings.stage)
        specs = enabled_functions(settings.disabled_channels, settings.x_mode)
        needed = frozenset[Access]().union(*(spec.access for spec in specs))
        ses_enabled = any(spec.source is Source.SES_RECEIPT_TOPIC for spec in specs)
        retention = log_retention(settings.log_retention_days)

        self.table = ContactTable(self, "Contacts").table
        self.ingest = IngestQueue(self, "Ingest", processor_timeout=Duration.seconds(_processor_timeout(specs)))
        # Replies to send, the providers' delivery reports and SMS consent changes (docs/api.md, "Replies").
        self.outbound = IngestQueue(
            self, "Outbound", processor_timeout=Duration.seconds(_processor_timeout(specs, Source.OUTBOUND_QUEUE))
        )
        self.mail = (
            MailBucket(self, "Mail", retention_days=settings.mail_retention_days, ses_writes=ses_enabled)
            if needed & MAIL_ACCESS or ses_enabled
            else None
        )
        self.events = (
            ThreadlineEventBus(self, "Events", stage=settings.stage, archive_days=settings.event_archive_days)
            if Access.EVENT_BUS_PUT in needed
            else None
        )
        self.event_destination = self._event_destination(settings)
        self.http = ThreadlineHttpApi(self, "Http", settings=settings, log_retention=retention)
        topics = NotificationTopics(self, "Notifications")
        # Email replies report bounces and complaints through the SES webhook, when it is deployed.
        self.reply_email = (
            ReplyEmailEvents(self, "ReplyEmail", stage=settings.stage, topics=topics)
            if Access.SES_SEND in needed and ses_enabled and settings.ses_configuration_set is None
            else None
        )
        self.sources = EventSources(
            self,
            "Sources",
            settings=settings,
            table=self.table,
            ingest_queue=self.ingest.queue,
            outbound_queue=self.outbound.queue,
            topics=topics,
            http=self.http,
            ses_event_topic=self.reply_email.topic if self.reply_email else None,
        )
        secrets = ChannelSecrets(self, "Secrets", stage=settings.stage)
        layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(dependency_layer_folder(settings)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="Threadline runtime dependencies (pyproject [project].dependencies)",
        )
        environment = {
            "THREADLINE_TABLE_NAME": self.table.table_name,
            "THREADLINE_QUEUE_URL": self.ingest.queue.queue_url,
            "THREADLINE_PUBLIC_URL": self.http.public_url,
            "THREADLINE_DEFAULT_REGION": settings.default_region,
            "THREADLINE_REOPEN_DAYS": f"{settings.reopen_days:g}",
            "THREADLINE_MAX_BODY_BYTES": str(settings.max_body_bytes),
            # API Gateway checks SigV4 on /v1 before the function runs.
            "THREADLINE_API_AUTH": "iam",
        }
        if settings.own_identifiers:
            environment["THREADLINE_OWN_IDENTIFIERS"] = ",".join(settings.own_identifiers)
        if not settings.sdk_tracing:
            environment["POWERTOOLS_TRACE_DISABLED"] = "true"
        resources = GrantableResources(
            table=self.table,
            ingest_queue=self.ingest.queue,
            outbound_queue=self.outbound.queue,
            mail_bucket=self.mail.bucket if self.mail else None,
            event_bus=self.events.bus if self.events else None,
            reply_email_from=settings.reply_email_from,
            ses_configuration_set=self.reply_email.name if self.reply_email else settings.ses_configuration_set,
        )

        self.functions: dict[str, ThreadlineFunction] = {}
        for spec in specs:
            target = ThreadlineFunction(
                self,
                _construct_id(spec),
                spec=spec,
                layer=layer,
                environment=environment,
                log_retention=retention,
                log_level=settings.log_level,
                bytecode=settings.bundle,
            )
            grant_access(target, resources)
            for secret in spec.secrets:
                if secret.deployed:
                    secrets.grant(target, secret)
            self.http.add_function_routes(target)
            self.sources.attach(target)
            self.functions[spec.name] = target

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            stage=settings.stage,
            topics=topics,
            alarm_email=settings.alarm_email,
            api=self.http,
            ingest_queue=self.ingest.queue,
            dead_letter_queues=[
                self.ingest.dead_letters,
                self.outbound.dead_letters,
                *self.sources.failure_queues,
                *([self.event_destination.dead_letters] if self.event_destination else []),
            ],
            functions=list(self.functions.values()),
            oldest_message_alarm_seconds=settings.oldest_message_alarm_seconds,
        )
        for target in self.functions.values():
            if target.spec.channel == "x_polling":
                configure_x_poller(target, settings.x_polling, self.monitoring)
        self._outputs(secrets)

    def _event_destination(self, settings: DeploySettings) -> EventDestinationRule | None:
        if settings.event_destination is None:
            return None
        if self.events is None:
            raise ValueError("eventDestination needs the event bus, which only the events function brings")
        return EventDestinationRule(
            self, "EventDestination", stage=settings.stage, bus=self.events.bus, destination=settings.event_destination
        )

    def _outputs(self, secrets: ChannelSecrets) -> None:
        CfnOutput(self, "TableName", value=self.table.table_name)
        CfnOutput(self, "IngestDeadLetterQueueUrl", value=self.ingest.dead_letters.queue_url)
        CfnOutput(self, "IngestDeadLetterQueueArn", value=self.ingest.dead_letters.queue_arn)
        CfnOutput(self, "OutboundDeadLetterQueueUrl", value=self.outbound.dead_letters.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.alarm_topic.topic_arn)
        if self.mail:
            CfnOutput(self, "MailBucketName", value=self.mail.bucket.bucket_name)
        if self.events:
            CfnOutput(self, "EventBusName", value=self.events.bus.event_bus_name)
        if self.event_destination:
            CfnOutput(
                self,
                "SecretEventDestinationCredential",
                value=self.event_destination.secret_name,
                description="aws secretsmanager put-secret-value --secret-id ... --secret-string ..., "
                "then deploy with a new eventDestination.secretRevision",
            )
            CfnOutput(self, "EventDestinationDeadLetterQueueUrl", value=self.event_destination.dead_letters.queue_url)
            CfnOutput(self, "EventDestinationRuleArn", value=self.event_destination.rule.rule_arn)
        for name, secret_name in secrets.names.items():
            CfnOutput(
                self,
                f"Secret{name.title().replace('_', '')}",
                value=secret_name,
                description=f"aws secretsmanager put-secret-value --secret-id {secret_name} --secret-string ...",
            )


def _processor_timeout(specs: tuple[FunctionSpec, ...], source: Source = Source.INGEST_QUEUE) -> int:
    timeouts = [spec.timeout_s for spec in specs if spec.source is source]
    return max(timeouts, default=DEFAULT_PROCESSOR_TIMEOUT_S)


def _construct_id(spec: FunctionSpec) -> str:
    """`twilio_sms` -> `TwilioSmsFunction`: readable logical ids in the template."""
    return "".join(part.capitalize() for part in spec.name.split("_")) + "Function"
