"""Each function's role holds only what its FunctionSpec declares, on the resources it names."""

from __future__ import annotations

from typing import Any

import pytest

from infra.topology import Access, FunctionSpec, Source, enabled_functions
from tests.infra.synth import Synthesized, actions_of, resources_of

pytestmark = pytest.mark.infra

EVERY_FUNCTION = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
BY_ACCESS = {
    Access.TABLE_READ: {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"},
    Access.TABLE_WRITE: {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"},
    Access.QUEUE_SEND: {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
    Access.MAIL_BUCKET_READ: {"s3:GetObject"},
    Access.MAIL_BUCKET_WRITE: {"s3:PutObject", "s3:AbortMultipartUpload"},
    Access.EVENT_BUS_PUT: {"events:PutEvents"},
    # Under a dynamodb:LeadingKeys condition: XPOLL# items only (tests/infra/test_x_polling.py).
    Access.X_POLLING_STATE: {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
    Access.OUTBOUND_QUEUE_SEND: {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
    Access.SES_SEND: {"ses:SendEmail"},
    Access.EUM_SEND: {"sms-voice:SendTextMessage"},
}
SECRET_READ = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
SECRET_WRITE = {"secretsmanager:PutSecretValue"}  # a secret the function rotates itself (Secret.writable)
FAILURE_QUEUE_SEND = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
BY_SOURCE = {
    Source.SES_RECEIPT_TOPIC: set(),  # SNS posts to the route: nothing for the function to call
    Source.INGEST_QUEUE: {
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    },
    Source.TABLE_STREAM: {
        "dynamodb:ListStreams",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        *FAILURE_QUEUE_SEND,
    },
    Source.CONNECT_STREAM: {
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
        "kinesis:SubscribeToShard",
        "kinesis:DescribeStream",
        "kinesis:ListStreams",
        "kinesis:DescribeStreamConsumer",
        *FAILURE_QUEUE_SEND,
    },
    Source.EUM_SMS_TOPIC: FAILURE_QUEUE_SEND,
    Source.SCHEDULE: set(),  # the scheduler's own role invokes it
}
BY_SOURCE[Source.OUTBOUND_QUEUE] = BY_SOURCE[Source.INGEST_QUEUE]
WRITE_ACTIONS = {
    action for access in (Access.TABLE_WRITE, Access.MAIL_BUCKET_WRITE) for action in BY_ACCESS[access]
} | {
    "sqs:SendMessage",
    "events:PutEvents",
}
# Actions AWS offers no resource-level permission for.
STAR_ALLOWED = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}


def allowed_actions(spec: FunctionSpec) -> set[str]:
    allowed = set(EVERY_FUNCTION)
    for access in spec.access:
        allowed |= BY_ACCESS[access]
    if any(secret.deployed for secret in spec.secrets):
        allowed |= SECRET_READ
    if any(secret.deployed and secret.writable for secret in spec.secrets):
        allowed |= SECRET_WRITE
    if spec.source is not None:
        allowed |= BY_SOURCE[spec.source]
    return allowed


def granted_actions(stack: Synthesized, name: str) -> set[str]:
    return {action for statement in stack.statements_of(name) for action in actions_of(statement)}


def logical_id(resource: Any) -> str:
    """The resource a `Ref`, a `GetAtt` or an `Fn::Join` of them points at."""
    if isinstance(resource, dict) and "Ref" in resource:
        return str(resource["Ref"])
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return str(resource["Fn::GetAtt"][0])
    if isinstance(resource, dict) and "Fn::Join" in resource:
        return next(logical_id(part) for part in resource["Fn::Join"][1] if isinstance(part, dict))
    return str(resource)


def webhook_specs() -> list[FunctionSpec]:
    return [spec for spec in enabled_functions() if any(r.path.startswith("/webhooks/") for r in spec.routes)]


@pytest.mark.parametrize("spec", enabled_functions(), ids=lambda spec: spec.name)
def test_each_function_holds_only_the_actions_its_spec_declares(default_stack: Synthesized, spec: FunctionSpec) -> None:
    extra = granted_actions(default_stack, spec.name) - allowed_actions(spec)
    assert extra == set()


def queue_ids(stack: Synthesized) -> dict[str, str]:
    """`ingest` and `outbound`: the two work queues (each has a dead-letter queue, so a RedrivePolicy)."""
    found = {
        ("outbound" if "Outbound" in queue_id else "ingest"): queue_id
        for queue_id, queue in stack.resources("AWS::SQS::Queue").items()
        if "RedrivePolicy" in queue["Properties"]
    }
    assert len(found) == 2
    return found


def test_the_api_function_writes_to_the_table_and_queues_replies_and_nothing_else(default_stack: Synthesized) -> None:
    (table,) = default_stack.resources("AWS::DynamoDB::Table")
    outbound = queue_ids(default_stack)["outbound"]
    writes = [
        statement for statement in default_stack.statements_of("api") if set(actions_of(statement)) & WRITE_ACTIONS
    ]
    assert writes
    for statement in writes:
        targets = {logical_id(resource) for resource in resources_of(statement)}
        if set(actions_of(statement)) & {"sqs:SendMessage"}:
            assert targets == {outbound}
            continue
        assert set(actions_of(statement)) & WRITE_ACTIONS <= BY_ACCESS[Access.TABLE_WRITE]
        assert targets == {table}


def test_the_sender_may_send_email_from_the_configured_identity_only(default_stack: Synthesized) -> None:
    sends = [s for s in default_stack.statements_of("sender") if "ses:SendEmail" in actions_of(s)]

    (statement,) = sends
    resources = sorted(str(resource) for resource in resources_of(statement))
    assert len(resources) == 2
    assert any("identity/support@example.com" in resource for resource in resources)
    assert any("configuration-set/" in resource for resource in resources)  # where bounces and complaints go
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": "support@example.com"}}


def test_webhook_functions_only_send_to_their_queue_read_their_own_secrets_and_never_the_table(
    default_stack: Synthesized,
) -> None:
    queues = queue_ids(default_stack)
    secret_ids = {
        secret["Properties"]["Name"].rsplit("/", 1)[1]: secret_id
        for secret_id, secret in default_stack.resources("AWS::SecretsManager::Secret").items()
    }
    specs = webhook_specs()
    assert specs
    for spec in specs:
        for statement in default_stack.statements_of(spec.name):
            actions = actions_of(statement)
            targets = {logical_id(resource) for resource in resources_of(statement)}
            if any(action.startswith("sqs:") for action in actions):
                # Contacts go to the ingest queue; delivery reports and SMS consent to the outbound queue.
                allowed = {queues["ingest"]} if Access.QUEUE_SEND in spec.access else set()
                allowed |= {queues["outbound"]} if Access.OUTBOUND_QUEUE_SEND in spec.access else set()
                assert targets <= allowed, spec.name
            if any(action.startswith("secretsmanager:") for action in actions):
                assert targets <= {secret_ids[secret.name] for secret in spec.secrets if secret.deployed}, spec.name
            assert not any(action.startswith(("dynamodb:", "events:")) for action in actions), spec.name
            if any(action.startswith("s3:") for action in actions):  # mail channels store raw mail
                assert spec.access & {Access.MAIL_BUCKET_READ, Access.MAIL_BUCKET_WRITE}, spec.name


def test_no_statement_names_every_resource_unless_aws_offers_nothing_narrower(default_stack: Synthesized) -> None:
    for policy in default_stack.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "*" in resources_of(statement):
                assert set(actions_of(statement)) <= STAR_ALLOWED, statement


def test_no_function_may_scan_the_table(default_stack: Synthesized) -> None:
    for spec in enabled_functions():
        assert "dynamodb:Scan" not in granted_actions(default_stack, spec.name), spec.name


def test_table_grants_name_the_table_and_its_two_indexes_not_a_wildcard(default_stack: Synthesized) -> None:
    (table_id,) = default_stack.resources("AWS::DynamoDB::Table")
    for spec in enabled_functions():
        for statement in default_stack.statements_of(spec.name):
            if any(
                action.startswith("dynamodb:") and action != "dynamodb:ListStreams" for action in actions_of(statement)
            ):
                for resource in resources_of(statement):
                    assert logical_id(resource) == table_id
                    if "Fn::Join" in resource:
                        assert resource["Fn::Join"][1][1] in {"/index/GSI1", "/index/GSI2"}


def test_function_roles_carry_no_managed_policy(default_stack: Synthesized) -> None:
    for role in default_stack.resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]
