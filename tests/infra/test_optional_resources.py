"""Resources made only on demand: every source, the mail bucket, a custom domain, a disabled channel,
the event destination.

The topology gets example specs for each source and access kind no real spec
uses yet, so these constructs are synthesized and checked before the channel
that needs them lands.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import topology
from infra.cdk import bundling
from infra.cdk.event_destination import secret_name
from infra.topology import Access, FunctionSpec, Route, Source
from tests.infra.synth import Synthesized, actions_of, synthesize

pytestmark = pytest.mark.infra

DOMAIN = "hooks.example.com"
EVENT_DESTINATION = {
    "url": "https://crm.example.com/hooks/threadline",
    "auth": "apiKey",
    "apiKeyName": "x-threadline-key",
    "eventTypes": ["contact.received", "case.opened"],
    "rateLimitPerSecond": 5,
}
EXAMPLES = (
    FunctionSpec(
        name="example_connect",
        description="example Kinesis consumer",
        source=Source.CONNECT_STREAM,
        access=frozenset({Access.QUEUE_SEND}),
    ),
    FunctionSpec(
        name="example_eum_sms",
        description="example SNS consumer",
        source=Source.EUM_SMS_TOPIC,
        access=frozenset({Access.QUEUE_SEND}),
        channel="example_eum_sms",
    ),
    FunctionSpec(
        name="example_ses",
        description="example SES webhook",
        routes=(Route("POST", "/webhooks/ses"),),
        access=frozenset({Access.QUEUE_SEND, Access.MAIL_BUCKET_READ}),
        channel="example_ses",
    ),
    FunctionSpec(
        name="example_attachments",
        description="example mail bucket writer",
        access=frozenset({Access.MAIL_BUCKET_WRITE}),
    ),
)


def examples_not_yet_declared() -> tuple[FunctionSpec, ...]:
    taken_paths = {route.path for spec in topology.FUNCTIONS for route in spec.routes}
    taken_sources = {spec.source for spec in topology.FUNCTIONS} - {None, Source.INGEST_QUEUE}
    return tuple(
        spec
        for spec in EXAMPLES
        if not taken_paths & {route.path for route in spec.routes} and spec.source not in taken_sources
    )


@pytest.fixture(scope="module")
def full_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    code = tmp_path_factory.mktemp("example-code")
    (code / "handler.py").write_text("def lambda_handler(event, context): ...\n")

    def staging(name: str, **options: Any) -> Path:
        return code if name.startswith("example_") else bundling.stage_function_code(name, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(topology, "FUNCTIONS", (*topology.FUNCTIONS, *examples_not_yet_declared()))
        patch.setattr("infra.cdk.function.stage_function_code", staging)
        yield synthesize(
            tmp_path_factory.mktemp("cdk.out"),
            stage="prod",
            disabledChannels=["twilio_sms"],
            domainName=DOMAIN,
            certificateArn="arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
            alarmEmail="ops@example.com",
            mailRetentionDays=400,
            eventDestination=EVENT_DESTINATION,
            sdkTracing=False,
        )


def of_type(stack: Synthesized, resource_type: str) -> list[dict[str, Any]]:
    return [resource["Properties"] for resource in stack.resources(resource_type).values()]


def tls_only(policy_statements: list[dict[str, Any]]) -> bool:
    return any(
        statement["Effect"] == "Deny" and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for statement in policy_statements
    )


def test_cdk_nag_reports_no_unsuppressed_error_with_every_optional_resource(full_stack: Synthesized) -> None:
    errors = full_stack.nag_errors()
    assert errors == [], "\n".join(errors)


def test_cfn_lint_finds_no_error_with_every_optional_resource(full_stack: Synthesized) -> None:
    errors = full_stack.cfn_lint_errors()
    assert errors == [], "\n".join(errors)


def test_without_sdk_tracing_functions_keep_lambdas_active_tracing_but_load_no_xray_sdk(
    full_stack: Synthesized,
) -> None:
    for function in of_type(full_stack, "AWS::Lambda::Function"):
        if "POWERTOOLS_SERVICE_NAME" in function.get("Environment", {}).get("Variables", {}):
            assert function["TracingConfig"] == {"Mode": "Active"}
            assert function["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_a_disabled_channel_has_no_function_route_secret_or_output(full_stack: Synthesized) -> None:
    assert "twilio_sms" not in full_stack.function_ids()
    route_keys = {route["RouteKey"] for route in of_type(full_stack, "AWS::ApiGatewayV2::Route")}
    assert "POST /webhooks/twilio/sms" not in route_keys
    still_read = {
        secret.name
        for spec in topology.enabled_functions(frozenset({"twilio_sms"}))
        for secret in spec.secrets
        if secret.deployed
    }
    made = {secret["Name"] for secret in of_type(full_stack, "AWS::SecretsManager::Secret")}
    assert made == {f"threadline/prod/{name}" for name in still_read} | {secret_name("prod")}
    assert "WebhookUrlTwilioSms" not in full_stack.cfn["Outputs"]


def test_connect_records_arrive_on_an_encrypted_stream_with_bisect_retries_and_a_failure_queue(
    full_stack: Synthesized,
) -> None:
    (stream_id,) = full_stack.resources("AWS::Kinesis::Stream")
    stream = full_stack.cfn["Resources"][stream_id]["Properties"]
    assert stream["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    (mapping,) = [
        m
        for m in of_type(full_stack, "AWS::Lambda::EventSourceMapping")
        if m["EventSourceArn"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    ]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["MaximumRetryAttempts"] == 3
    assert "OnFailure" in mapping["DestinationConfig"]
    assert "ConnectContactRecordStream" in full_stack.cfn["Outputs"]


def test_sns_topics_are_kms_encrypted_and_tls_only(full_stack: Synthesized) -> None:
    topics = full_stack.resources("AWS::SNS::Topic")
    assert len(topics) == 4  # alarms, SES receipts, SES events of email replies, End User Messaging SMS
    for topic in topics.values():
        assert "KmsMasterKeyId" in topic["Properties"]
    guarded = set()
    for policy in of_type(full_stack, "AWS::SNS::TopicPolicy"):
        if tls_only(policy["PolicyDocument"]["Statement"]):
            guarded |= {topic["Ref"] for topic in policy["Topics"]}
    assert guarded == set(topics)


def test_eum_sms_reaches_its_function_through_a_subscription_with_a_dead_letter_queue(
    full_stack: Synthesized,
) -> None:
    lambda_subscriptions = [s for s in of_type(full_stack, "AWS::SNS::Subscription") if s["Protocol"] == "lambda"]
    consumers = [spec.name for spec in topology.FUNCTIONS if spec.source is Source.EUM_SMS_TOPIC]
    assert [s["Endpoint"]["Fn::GetAtt"][0] for s in lambda_subscriptions] == [
        full_stack.function_ids()[name] for name in consumers
    ]
    assert "deadLetterTargetArn" in lambda_subscriptions[0]["RedrivePolicy"]


def test_ses_notifications_go_over_https_to_the_ses_webhook_on_the_public_url(full_stack: Synthesized) -> None:
    # Receipts of inbound mail, and the events of our email replies (the configuration set's topic)
    https = [s for s in of_type(full_stack, "AWS::SNS::Subscription") if s["Protocol"] == "https"]
    assert [s["Endpoint"] for s in https] == [f"https://{DOMAIN}/webhooks/ses"] * 2
    receipts, events = sorted(https, key=lambda s: "SesEventTopic" in str(s["TopicArn"]))
    # And the webhook accepts notifications of exactly those topics
    (ses_spec,) = [spec for spec in topology.FUNCTIONS if Route("POST", "/webhooks/ses") in spec.routes]
    variables = full_stack.function(ses_spec.name)["Properties"]["Environment"]["Variables"]
    assert variables["THREADLINE_SES_TOPIC_ARNS"] == {"Fn::Join": [",", [receipts["TopicArn"], events["TopicArn"]]]}
    (destination,) = of_type(full_stack, "AWS::SES::ConfigurationSetEventDestination")
    assert destination["EventDestination"]["SnsDestination"]["TopicARN"] == events["TopicArn"]


def test_mail_bucket_is_private_encrypted_tls_only_logged_and_expires_mail(full_stack: Synthesized) -> None:
    buckets = full_stack.resources("AWS::S3::Bucket")
    (mail_id,) = [bucket_id for bucket_id, bucket in buckets.items() if "LoggingConfiguration" in bucket["Properties"]]
    mail = buckets[mail_id]["Properties"]
    assert mail["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    encryption = mail["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert encryption == {"SSEAlgorithm": "AES256"}
    (rule,) = mail["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 400
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    (policy,) = [p for p in of_type(full_stack, "AWS::S3::BucketPolicy") if p["Bucket"] == {"Ref": mail_id}]
    assert tls_only(policy["PolicyDocument"]["Statement"])
    assert buckets[mail_id]["DeletionPolicy"] == "Retain"


def test_mail_bucket_grants_follow_read_and_write_access(full_stack: Synthesized) -> None:
    specs = [
        spec
        for spec in topology.enabled_functions(frozenset({"twilio_sms"}))
        if spec.access & {Access.MAIL_BUCKET_READ, Access.MAIL_BUCKET_WRITE}
    ]
    assert {Access.MAIL_BUCKET_READ, Access.MAIL_BUCKET_WRITE} <= {access for spec in specs for access in spec.access}
    for spec in specs:
        actions = {action for statement in full_stack.statements_of(spec.name) for action in actions_of(statement)}
        assert ("s3:GetObject" in actions) == (Access.MAIL_BUCKET_READ in spec.access), spec.name
        assert ("s3:PutObject" in actions) == (Access.MAIL_BUCKET_WRITE in spec.access), spec.name
        variables = full_stack.function(spec.name)["Properties"]["Environment"]["Variables"]
        assert "THREADLINE_MAIL_BUCKET" in variables


def test_a_custom_domain_maps_to_the_api_and_becomes_the_url_providers_sign(full_stack: Synthesized) -> None:
    (domain,) = of_type(full_stack, "AWS::ApiGatewayV2::DomainName")
    assert domain["DomainName"] == DOMAIN
    assert len(of_type(full_stack, "AWS::ApiGatewayV2::ApiMapping")) == 1
    for name in full_stack.function_ids():
        assert full_stack.function(name)["Properties"]["Environment"]["Variables"]["THREADLINE_PUBLIC_URL"] == (
            f"https://{DOMAIN}"
        )
    assert full_stack.cfn["Outputs"]["ApiUrl"]["Value"] == f"https://{DOMAIN}"


def test_the_event_bus_is_named_by_stage_and_archives_threadline_events(full_stack: Synthesized) -> None:
    (bus,) = of_type(full_stack, "AWS::Events::EventBus")
    assert bus["Name"] == "threadline-prod"
    (archive,) = of_type(full_stack, "AWS::Events::Archive")
    assert archive["EventPattern"] == {"source": ["threadline"]}


def test_every_dead_letter_queue_has_an_alarm_and_alarms_are_mailed(full_stack: Synthesized) -> None:
    dead_letter_queues = {
        queue_id
        for queue_id, queue in full_stack.resources("AWS::SQS::Queue").items()
        if "RedrivePolicy" not in queue["Properties"]
    }
    watched = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in of_type(full_stack, "AWS::CloudWatch::Alarm")
        if alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    assert watched == dead_letter_queues
    assert [s["Endpoint"] for s in of_type(full_stack, "AWS::SNS::Subscription") if s["Protocol"] == "email"] == [
        "ops@example.com"
    ]


def test_events_reach_the_destination_as_the_bare_envelope_with_retries_then_an_alarmed_dead_letter_queue(
    full_stack: Synthesized,
) -> None:
    (destination_id,) = full_stack.resources("AWS::Events::ApiDestination")
    (bus_id,) = full_stack.resources("AWS::Events::EventBus")
    (rule,) = [rule for rule in of_type(full_stack, "AWS::Events::Rule") if rule["EventBusName"] == {"Ref": bus_id}]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [destination_id, "Arn"]}
    assert target["InputPath"] == "$.detail"
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 24 * 3600, "MaximumRetryAttempts": 185}
    queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert full_stack.cfn["Resources"][queue_id]["Properties"]["SqsManagedSseEnabled"] is True
    (policy,) = [p for p in of_type(full_stack, "AWS::SQS::QueuePolicy") if p["Queues"] == [{"Ref": queue_id}]]
    assert tls_only(policy["PolicyDocument"]["Statement"])
    assert any(
        statement.get("Principal") == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
        for statement in policy["PolicyDocument"]["Statement"]
    )
    assert any(
        alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_id, "QueueName"]}
        for alarm in of_type(full_stack, "AWS::CloudWatch::Alarm")
    )


def test_the_destination_rule_matches_threadline_events_of_the_configured_types_only(full_stack: Synthesized) -> None:
    (destination_id,) = full_stack.resources("AWS::Events::ApiDestination")
    (rule,) = [
        rule
        for rule in of_type(full_stack, "AWS::Events::Rule")
        if rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [destination_id, "Arn"]}
    ]
    assert rule["EventPattern"] == {"source": ["threadline"], "detail-type": ["contact.received", "case.opened"]}


def test_the_destination_posts_to_the_configured_url_with_an_api_key_from_the_stacks_secret(
    full_stack: Synthesized,
) -> None:
    (destination,) = of_type(full_stack, "AWS::Events::ApiDestination")
    assert destination["InvocationEndpoint"] == EVENT_DESTINATION["url"]
    assert destination["HttpMethod"] == "POST"
    assert destination["InvocationRateLimitPerSecond"] == 5
    (connection_id,) = full_stack.resources("AWS::Events::Connection")
    assert destination["ConnectionArn"] == {"Fn::GetAtt": [connection_id, "Arn"]}
    connection = full_stack.cfn["Resources"][connection_id]["Properties"]
    assert connection["AuthorizationType"] == "API_KEY"
    api_key = connection["AuthParameters"]["ApiKeyAuthParameters"]
    assert api_key["ApiKeyName"] == "x-threadline-key"
    secrets = full_stack.resources("AWS::SecretsManager::Secret")
    (secret_id,) = [key for key, secret in secrets.items() if secret["Properties"]["Name"] == secret_name("prod")]
    # A dynamic reference CloudFormation resolves at deploy time: the template holds no key.
    assert api_key["ApiKeyValue"] == {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]
    }
    assert "SecretString" not in secrets[secret_id]["Properties"]
    outputs = {"SecretEventDestinationCredential", "EventDestinationDeadLetterQueueUrl", "EventDestinationRuleArn"}
    assert outputs <= set(full_stack.cfn["Outputs"])
