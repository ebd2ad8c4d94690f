"""The table, the ingest queue and the alarms: durable, encrypted, watched."""

from __future__ import annotations

from typing import Any

import pytest

from infra.topology import Source, enabled_functions
from shared.adapters.dynamo.table import TTL_ATTRIBUTE, create_table_request
from tests.infra.synth import Synthesized

pytestmark = pytest.mark.infra


def only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = resources.items()
    return logical_id, resource


def ingest_queue(stack: Synthesized) -> tuple[str, dict[str, Any]]:
    return only(
        {
            k: v
            for k, v in stack.resources("AWS::SQS::Queue").items()
            if "RedrivePolicy" in v["Properties"] and k.startswith("Ingest")
        }
    )


def test_table_keys_and_indexes_are_those_the_store_and_local_stack_use(default_stack: Synthesized) -> None:
    _, table = only(default_stack.resources("AWS::DynamoDB::Table"))
    properties = table["Properties"]
    request = create_table_request("any")
    assert properties["KeySchema"] == request["KeySchema"]
    assert sorted(properties["AttributeDefinitions"], key=str) == sorted(request["AttributeDefinitions"], key=str)
    declared = {index["IndexName"]: index["KeySchema"] for index in request["GlobalSecondaryIndexes"]}
    assert {index["IndexName"]: index["KeySchema"] for index in properties["GlobalSecondaryIndexes"]} == declared
    assert properties["StreamSpecification"] == {"StreamViewType": request["StreamSpecification"]["StreamViewType"]}


def test_table_is_on_demand_encrypted_recoverable_protected_and_retained(default_stack: Synthesized) -> None:
    _, table = only(default_stack.resources("AWS::DynamoDB::Table"))
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["DeletionProtectionEnabled"] is True
    assert properties["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_ingest_queue_is_fifo_deduplicated_by_producers_and_dead_letters_after_five_receives(
    default_stack: Synthesized,
) -> None:
    _, queue = ingest_queue(default_stack)
    properties = queue["Properties"]
    assert properties["FifoQueue"] is True
    assert properties["ContentBasedDeduplication"] is False
    assert properties["SqsManagedSseEnabled"] is True
    assert properties["RedrivePolicy"]["maxReceiveCount"] == 5
    dead_letters_id = properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    dead_letters = default_stack.cfn["Resources"][dead_letters_id]["Properties"]
    assert dead_letters["FifoQueue"] is True
    assert dead_letters["SqsManagedSseEnabled"] is True


def test_ingest_visibility_timeout_is_at_least_six_processor_timeouts(default_stack: Synthesized) -> None:
    _, queue = ingest_queue(default_stack)
    processors = [spec for spec in enabled_functions() if spec.source is Source.INGEST_QUEUE]
    assert processors
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * max(spec.timeout_s for spec in processors)


def test_every_queue_refuses_requests_without_tls(default_stack: Synthesized) -> None:
    queues = default_stack.resources("AWS::SQS::Queue")
    guarded = set()
    for policy in default_stack.resources("AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}:
                guarded |= {queue["Ref"] for queue in policy["Properties"]["Queues"]}
    assert guarded == set(queues)


def test_processor_reads_ingest_batches_of_ten_and_reports_partial_failures(default_stack: Synthesized) -> None:
    queue_id, _ = ingest_queue(default_stack)
    (mapping,) = [
        m["Properties"]
        for m in default_stack.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["FunctionName"] == {"Ref": default_stack.function_ids()["processor"]}


def test_alarms_watch_dead_letters_queue_age_each_function_and_api_5xx(default_stack: Synthesized) -> None:
    alarms = [alarm["Properties"] for alarm in default_stack.resources("AWS::CloudWatch::Alarm").values()]
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for alarm in alarms:
        by_metric.setdefault(alarm["MetricName"], []).append(alarm)
        assert alarm["AlarmActions"], alarm["AlarmName"]
    queue_id, queue = ingest_queue(default_stack)
    dead_letters_id = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    watched_dead_letters = [
        alarm
        for alarm in by_metric["ApproximateNumberOfMessagesVisible"]
        if alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dead_letters_id, "QueueName"]}
    ]
    assert len(watched_dead_letters) == 1
    assert watched_dead_letters[0]["Threshold"] == 1
    (age,) = by_metric["ApproximateAgeOfOldestMessage"]
    assert age["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_id, "QueueName"]}
    errors_of = {alarm["Dimensions"][0]["Value"]["Ref"] for alarm in by_metric["Errors"]}
    assert errors_of == set(default_stack.function_ids().values())
    assert len(by_metric["5xx"]) == 1


def test_a_dashboard_shows_the_metrics_the_processor_emits(default_stack: Synthesized) -> None:
    _, dashboard = only(default_stack.resources("AWS::CloudWatch::Dashboard"))
    body = str(dashboard["Properties"]["DashboardBody"])
    for metric in ("ContactsStored", "DuplicatesSkipped", "CasesOpened", "CustomersCreated"):
        assert metric in body
    assert "ApproximateNumberOfMessagesVisible" in body
