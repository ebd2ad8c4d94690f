"""What each `Access` kind grants: the exact actions the code calls, on the exact resources.

Table grants are written out instead of `grant_read_data`/`grant_write_data`:
those add Scan (nothing may read the whole table, DESIGN.md section 1),
DescribeTable and an `index/*` wildcard; we name the two indexes instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions

from infra.cdk.function import ThreadlineFunction
from infra.topology import Access
from shared.adapters.dynamo import keys
from shared.adapters.dynamo.table import INDEXES

TABLE_READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
TABLE_WRITE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",  # BatchWriteItem can delete too, so DeleteItem adds no power
)
# The X poller reads and writes its own items only: every key it touches starts with XPOLL#.
X_POLLING_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
MAIL_READ_ACTIONS = ("s3:GetObject",)
SES_SEND_ACTIONS = ("ses:SendEmail",)  # SES v2 SendEmail, raw content included
EUM_SEND_ACTIONS = ("sms-voice:SendTextMessage",)
MAIL_WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")

_Resource = TypeVar("_Resource")


@dataclass(frozen=True)
class GrantableResources:
    table: dynamodb.Table
    ingest_queue: sqs.Queue
    outbound_queue: sqs.Queue
    mail_bucket: s3.Bucket | None
    event_bus: events.EventBus | None
    reply_email_from: str
    ses_configuration_set: str | None


def grant_access(target: ThreadlineFunction, resources: GrantableResources) -> None:
    """Grant `target` what its spec's `access` declares, and tell it where those resources are."""
    access = target.spec.access
    if Access.TABLE_READ in access:
        index_arns = [f"{resources.table.table_arn}/index/{index}" for index in INDEXES]
        target.role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(TABLE_READ_ACTIONS), resources=[resources.table.table_arn, *index_arns])
        )
    if Access.TABLE_WRITE in access:
        target.role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(TABLE_WRITE_ACTIONS), resources=[resources.table.table_arn])
        )
    if Access.X_POLLING_STATE in access:
        target.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(X_POLLING_ACTIONS),
                resources=[resources.table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{keys.X_POLLING_PREFIX}*"]}},
            )
        )
    if Access.QUEUE_SEND in access:
        resources.ingest_queue.grant_send_messages(target.role)
    if Access.OUTBOUND_QUEUE_SEND in access:
        resources.outbound_queue.grant_send_messages(target.role)
        target.add_environment("THREADLINE_OUTBOUND_QUEUE_URL", resources.outbound_queue.queue_url)
    if Access.SES_SEND in access:
        _grant_ses_send(target, resources)
    if Access.EUM_SEND in access:
        _grant_eum_send(target)
    if Access.MAIL_BUCKET_READ in access or Access.MAIL_BUCKET_WRITE in access:
        _grant_mail_bucket(target, _required(resources.mail_bucket, "mail bucket"))
    if Access.EVENT_BUS_PUT in access:
        bus = _required(resources.event_bus, "event bus")
        bus.grant_put_events_to(target.role)
        target.add_environment("THREADLINE_EVENT_BUS", bus.event_bus_name)


def _grant_ses_send(target: ThreadlineFunction, resources: GrantableResources) -> None:
    """ses:SendEmail on the one identity replies leave from (and its configuration set), nothing else."""
    stack = Stack.of(target)
    address = resources.reply_email_from
    identity = stack.format_arn(service="ses", resource="identity", resource_name=address)
    arns = [identity]
    if resources.ses_configuration_set:
        arns.append(
            stack.format_arn(service="ses", resource="configuration-set", resource_name=resources.ses_configuration_set)
        )
        target.add_environment("THREADLINE_SES_CONFIGURATION_SET", resources.ses_configuration_set)
    target.role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(SES_SEND_ACTIONS),
            resources=arns,
            conditions={"StringEquals": {"ses:FromAddress": address}},
        )
    )
    target.add_environment("THREADLINE_REPLY_EMAIL_FROM", address)
    target.add_environment("THREADLINE_SES_IDENTITY_ARN", identity)


def _grant_eum_send(target: ThreadlineFunction) -> None:
    stack = Stack.of(target)
    numbers = stack.format_arn(service="sms-voice", resource="phone-number", resource_name="*")
    target.role.add_to_principal_policy(iam.PolicyStatement(actions=list(EUM_SEND_ACTIONS), resources=[numbers]))
    NagSuppressions.add_resource_suppressions(
        target.role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="an SMS reply leaves from the number the customer wrote to, one of the account's "
                "End User Messaging phone numbers; the grant is SendTextMessage on phone numbers only",
                applies_to=["Resource::arn:<AWS::Partition>:sms-voice:<AWS::Region>:<AWS::AccountId>:phone-number/*"],
            )
        ],
        apply_to_children=True,
    )


def _grant_mail_bucket(target: ThreadlineFunction, bucket: s3.Bucket) -> None:
    access = target.spec.access
    actions = [
        *(MAIL_READ_ACTIONS if Access.MAIL_BUCKET_READ in access else ()),
        *(MAIL_WRITE_ACTIONS if Access.MAIL_BUCKET_WRITE in access else ()),
    ]
    target.role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects("*")]))
    target.add_environment("THREADLINE_MAIL_BUCKET", bucket.bucket_name)
    NagSuppressions.add_resource_suppressions(
        target.role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="object keys are per message (SES names them by message id); the grant is "
                "limited to objects of the one mail bucket",
                applies_to=[f"Resource::<{_logical_id(bucket)}.Arn>/*"],
            )
        ],
        apply_to_children=True,
    )


def _logical_id(bucket: s3.Bucket) -> str:
    """The `<LogicalId.Arn>` name cdk-nag prints for the bucket's ARN in a finding."""
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)
    return str(Stack.of(bucket).resolve(cfn_bucket.logical_id))


def _required(resource: _Resource | None, what: str) -> _Resource:
    if resource is None:
        raise ValueError(f"the stack made no {what}, yet a FunctionSpec asks for it")
    return resource
