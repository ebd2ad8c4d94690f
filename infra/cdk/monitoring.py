"""Alarms (to an SNS topic, optionally mailed) and one dashboard for the whole stack."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk.function import METRICS_NAMESPACE, ThreadlineFunction
from infra.cdk.http_api import ThreadlineHttpApi, is_api_route
from infra.cdk.notifications import NotificationTopics
from infra.topology import Source

PERIOD = Duration.minutes(5)
# What the processor emits (functions/processor/handler.py), with Powertools' "service" dimension.
PROCESSOR_METRICS = ("ContactsStored", "DuplicatesSkipped", "CasesOpened", "CustomersCreated")


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        topics: NotificationTopics,
        alarm_email: str | None,
        api: ThreadlineHttpApi,
        ingest_queue: sqs.Queue,
        dead_letter_queues: Sequence[sqs.Queue],
        functions: Sequence[ThreadlineFunction],
        oldest_message_alarm_seconds: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self._prefix = f"threadline-{stage}"
        self.alarm_topic = topics.topic(
            "AlarmTopic", display_name="Threadline alarms", publisher="cloudwatch.amazonaws.com"
        )
        if alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []

        for queue in dead_letter_queues:
            owner = queue.node.scope
            # Two FIFO queues (ingest, outbound) each own a `DeadLetters`: the owner's id tells them apart.
            outbound = owner is not None and owner.node.id == "Outbound"
            name = f"Outbound{queue.node.id}" if outbound else queue.node.id
            self.alarm(
                f"{name}Waiting",
                queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1), statistic="Maximum"),
                threshold=1,
                description="messages wait in a dead-letter queue: inspect, fix, redrive (docs/deploy.md)",
            )
        self.alarm(
            "OldestIngestMessage",
            ingest_queue.metric_approximate_age_of_oldest_message(period=Duration.minutes(1), statistic="Maximum"),
            threshold=oldest_message_alarm_seconds,
            description="the processor falls behind: contacts wait in the ingest queue",
        )
        for target in functions:
            self.alarm(
                f"{target.spec.name}Errors",
                target.function.metric_errors(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"{target.spec.name} failed invocations",
            )
        self.alarm(
            "Api5xx",
            api.api.metric_server_error(period=PERIOD, statistic="Sum"),
            threshold=1,
            description="the HTTP API answered 5xx (bad input never should)",
        )
        self.dashboard = self._dashboard(api, ingest_queue, dead_letter_queues, functions)

    def alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        missing_breaches: bool = False,
    ) -> None:
        """An alarm to the alarm topic; `missing_breaches` where silence itself is the fault (a stalled poller)."""
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_name=f"{self._prefix}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING
            if missing_breaches
            else cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.alarm_topic))
        alarm.add_ok_action(actions.SnsAction(self.alarm_topic))
        self.alarms.append(alarm)

    def _dashboard(
        self,
        api: ThreadlineHttpApi,
        ingest_queue: sqs.Queue,
        dead_letter_queues: Sequence[sqs.Queue],
        functions: Sequence[ThreadlineFunction],
    ) -> cloudwatch.Dashboard:
        webhooks = [f for f in functions if any(not is_api_route(route) for route in f.spec.routes)]
        processors = [f for f in functions if f.spec.source is Source.INGEST_QUEUE]
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=self._prefix)
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="HTTP API requests, 4xx, 5xx",
                left=[
                    api.api.metric_count(period=PERIOD),
                    api.api.metric_client_error(period=PERIOD),
                    api.api.metric_server_error(period=PERIOD),
                ],
                width=12,
            ),
            cloudwatch.LogQueryWidget(
                title="Webhook responses by route and status (access logs)",
                log_group_names=[api.access_logs.log_group_name],
                query_lines=[
                    "fields routeKey, status",
                    "filter routeKey like /webhooks/",
                    "stats count() as requests by routeKey, status",
                    "sort routeKey, status",
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            self._per_function("Webhook invocations", webhooks, "Invocations"),
            self._per_function("Webhook errors", webhooks, "Errors"),
            self._per_function("Webhook duration p99", webhooks, "Duration", statistic="p99"),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Processor duration",
                left=[
                    f.function.metric_duration(period=PERIOD, statistic=statistic, label=f"{f.spec.name} {statistic}")
                    for f in processors
                    for statistic in ("p50", "p90", "p99")
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Ingest queue",
                left=[ingest_queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum")],
                right=[ingest_queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues",
                left=[
                    queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum")
                    for queue in dead_letter_queues
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Contacts processed",
                left=[
                    cloudwatch.Metric(
                        namespace=METRICS_NAMESPACE,
                        metric_name=name,
                        dimensions_map={"service": f.spec.name},
                        statistic="Sum",
                        period=PERIOD,
                    )
                    for f in processors
                    for name in PROCESSOR_METRICS
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Every Threadline metric (merges, suggestions, ... as functions emit them)",
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{METRICS_NAMESPACE},service}}', 'Sum', 300)",
                        using_metrics={},
                        label="",
                        period=PERIOD,
                    )
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24))
        return dashboard

    @staticmethod
    def _per_function(
        title: str, functions: Sequence[ThreadlineFunction], metric: str, statistic: str = "Sum"
    ) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(
            title=title,
            left=[f.function.metric(metric, period=PERIOD, statistic=statistic, label=f.spec.name) for f in functions],
            width=8,
        )
