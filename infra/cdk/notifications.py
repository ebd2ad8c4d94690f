"""SNS topics that AWS services publish to (SES, End User Messaging SMS, CloudWatch alarms).

The AWS-managed `aws/sns` key cannot grant a service principal, and a service
cannot publish to a topic whose key it may not use, so the topics share one
customer-managed key (rotated yearly) that names exactly those services.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


class NotificationTopics(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Threadline SNS topics (SES, SMS, alarms)",
            enable_key_rotation=True,
            pending_window=Duration.days(30),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self._trusted: set[str] = set()

    def topic(self, construct_id: str, *, display_name: str, publisher: str) -> sns.Topic:
        """An encrypted, TLS-only topic that `publisher` (a service principal) may publish to from this account."""
        topic = sns.Topic(self, construct_id, display_name=display_name, master_key=self.key, enforce_ssl=True)
        source_account = {"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(publisher)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=source_account,
            )
        )
        if publisher not in self._trusted:
            self._trusted.add(publisher)
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal(publisher)],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],  # in a key policy, "*" means this key
                    # No source condition here: services use the key through SNS, where not all
                    # pass aws:SourceAccount; the topic policy above already limits who publishes.
                )
            )
        return topic
