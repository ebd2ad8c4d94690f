"""xMode in the stack: polling is a schedule, a function, one writable secret and two alarms; off is nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.topology import FUNCTIONS
from tests.infra.synth import Synthesized, actions_of, resources_of, synthesize
from tests.infra.test_least_privilege import allowed_actions, granted_actions

pytestmark = pytest.mark.infra

X_POLLING = {"userId": "1478523690147852369", "clientId": "Zm9vYmFyLWNsaWVudC1pZA", "scheduleMinutes": 2}


@pytest.fixture(scope="module")
def polling(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"), xMode="polling", xPolling=X_POLLING)


def secret_id(stack: Synthesized, name: str) -> str:
    (found,) = [
        logical_id
        for logical_id, secret in stack.resources("AWS::SecretsManager::Secret").items()
        if secret["Properties"]["Name"].endswith(f"/{name}")
    ]
    return found


def refers_to(resource: Any) -> str:
    return str(resource.get("Ref") or resource.get("Fn::GetAtt", [""])[0]) if isinstance(resource, dict) else ""


def test_polling_has_the_poller_and_no_x_webhook(polling: Synthesized) -> None:
    functions = polling.function_ids()
    assert "x_poller" in functions
    assert "x" not in functions
    routes = {route["Properties"]["RouteKey"] for route in polling.resources("AWS::ApiGatewayV2::Route").values()}
    assert not any(key.endswith("/webhooks/x") for key in routes)


def test_a_schedule_invokes_the_poller_at_the_configured_rate_without_retries(polling: Synthesized) -> None:
    (schedule,) = [resource["Properties"] for resource in polling.resources("AWS::Scheduler::Schedule").values()]
    poller = polling.function_ids()["x_poller"]

    assert schedule["ScheduleExpression"] == "rate(2 minutes)"
    assert schedule["State"] == "ENABLED"
    target = schedule["Target"]
    assert target["Arn"] == {"Fn::GetAtt": [poller, "Arn"]}
    assert target["Input"] == '{"schedule":"x_poller"}'
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0
    assert "Arn" in target["DeadLetterConfig"]
    (invoke_config,) = [
        config["Properties"]
        for config in polling.resources("AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": poller}
    ]
    assert invoke_config["MaximumRetryAttempts"] == 0
    # A run ends before the next one starts.
    assert polling.function("x_poller")["Properties"]["Timeout"] < 60


def test_the_poller_holds_only_the_actions_its_spec_declares(polling: Synthesized) -> None:
    (spec,) = [spec for spec in FUNCTIONS if spec.name == "x_poller"]

    assert granted_actions(polling, "x_poller") == allowed_actions(spec)


def test_the_poller_and_the_sender_may_write_back_the_token_secret_and_no_other(polling: Synthesized) -> None:
    # Both keep the one X grant fresh (shared.polling.tokens): whichever refreshes first writes the successor.
    tokens, client = secret_id(polling, "X_OAUTH2_TOKENS"), secret_id(polling, "X_OAUTH2_CLIENT_SECRET")
    writes = [
        (function, statement)
        for function in polling.function_ids()
        for statement in polling.statements_of(function)
        if "secretsmanager:PutSecretValue" in actions_of(statement)
    ]

    assert sorted(function for function, _ in writes) == ["sender", "x_poller"]
    for _, statement in writes:
        assert actions_of(statement) == ["secretsmanager:PutSecretValue"]
        assert [refers_to(resource) for resource in resources_of(statement)] == [tokens]
    read = {
        refers_to(resource)
        for statement in polling.statements_of("x_poller")
        if "secretsmanager:GetSecretValue" in actions_of(statement)
        for resource in resources_of(statement)
    }
    assert read == {tokens, client}


def test_the_poller_touches_only_its_own_items_of_the_table(polling: Synthesized) -> None:
    table = [
        statement
        for statement in polling.statements_of("x_poller")
        if any(action.startswith("dynamodb:") for action in actions_of(statement))
    ]

    (statement,) = table
    assert "dynamodb:Query" not in actions_of(statement) and "dynamodb:DeleteItem" not in actions_of(statement)
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["XPOLL#*"]}}


def test_the_poller_has_its_settings_and_no_secret_values(polling: Synthesized) -> None:
    variables = polling.function("x_poller")["Properties"]["Environment"]["Variables"]

    assert variables["THREADLINE_X_USER_ID"] == X_POLLING["userId"]
    assert variables["THREADLINE_X_CLIENT_ID"] == X_POLLING["clientId"]
    assert variables["THREADLINE_X_API_URL"] == "https://api.x.com"
    assert variables["THREADLINE_X_MONTHLY_REQUEST_CAP"] == "100000"
    assert variables["THREADLINE_X_DM_PAGE_SIZE"] == "10"  # a quiet inbox re-reads this many events a run
    assert "X_OAUTH2_TOKENS" not in variables and "X_OAUTH2_TOKENS_SECRET_ARN" in variables


def test_a_stalled_stream_and_a_refused_grant_raise_alarms(polling: Synthesized) -> None:
    alarms = {
        alarm["Properties"]["MetricName"]: alarm["Properties"]
        for alarm in polling.resources("AWS::CloudWatch::Alarm").values()
        if "MetricName" in alarm["Properties"]
    }

    stalled, revoked = alarms["XPollLagSeconds"], alarms["XAuthRevoked"]
    assert stalled["Threshold"] == 15 * 60
    assert stalled["TreatMissingData"] == "breaching"  # a poller that stopped reporting has stalled too
    assert stalled["Dimensions"] == [{"Name": "service", "Value": "x_poller"}]
    assert revoked["Threshold"] == 1


def test_cdk_nag_and_cfn_lint_find_nothing_in_polling_mode(polling: Synthesized) -> None:
    assert polling.nag_errors() == []
    assert polling.cfn_lint_errors() == []


def test_x_off_builds_no_x_function_and_no_x_secret(tmp_path: Path) -> None:
    off = synthesize(tmp_path, xMode="off")

    assert not {"x", "x_poller"} & set(off.function_ids())
    assert not off.resources("AWS::Scheduler::Schedule")
    names = [secret["Properties"]["Name"] for secret in off.resources("AWS::SecretsManager::Secret").values()]
    assert not any("/X_" in name for name in names)


def test_polling_without_the_account_fails_the_synth(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"xPolling\.userId"):
        synthesize(tmp_path, xMode="polling")
