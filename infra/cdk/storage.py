"""Where contacts and mail live: the single DynamoDB table and the mail bucket. Both outlive the stack."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from shared.adapters.dynamo.table import INDEXES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

TIERING_AFTER_DAYS = 30


class ContactTable(Construct):
    """The table of shared/adapters/dynamo/table.py: keys and indexes are read from there, never retyped."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=True,
            # Feeds the events function (CRM sync); NEW_AND_OLD so an update event carries the change.
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            time_to_live_attribute=TTL_ATTRIBUTE,  # dedupe markers expire
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index, (partition, sort) in INDEXES.items():
            self.table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=sort, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )


class MailBucket(Construct):
    """Raw inbound email (written by SES) and attachment bytes (kept out of DynamoDB).

    Private, TLS only, SSE-S3, with server access logs in a bucket of their own.
    """

    def __init__(self, scope: Construct, construct_id: str, *, retention_days: int | None, ses_writes: bool) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # the only encryption S3 log delivery supports
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        NagSuppressions.add_resource_suppressions(
            self.access_logs,
            [
                NagPackSuppression(
                    id="AwsSolutions-S1", reason="this is the access-log bucket; logging it would recurse"
                )
            ],
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="mail/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                    transitions=self._tiering(retention_days),
                    expiration=Duration.days(retention_days) if retention_days else None,
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        if ses_writes:
            self._allow_ses_receipts()

    @staticmethod
    def _tiering(retention_days: int | None) -> list[s3.Transition]:
        """Old mail is rarely read; S3 skips objects under 128 KB, which stay cheap anyway."""
        if retention_days is not None and retention_days <= TIERING_AFTER_DAYS:
            return []  # S3 rejects an expiration that is not later than a transition
        return [
            s3.Transition(
                storage_class=s3.StorageClass.INTELLIGENT_TIERING, transition_after=Duration.days(TIERING_AFTER_DAYS)
            )
        ]

    def _allow_ses_receipts(self) -> None:
        """An SES receipt rule's S3 action stores raw mail here, for this account's rules only."""
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
