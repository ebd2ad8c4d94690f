"""The default stack (cdk.json as committed): synthesizes clean and wires the topology."""

from __future__ import annotations

import json

import pytest

from infra import topology
from infra.cdk.function import RUNTIME
from infra.topology import enabled_functions
from tests.infra.synth import Synthesized

pytestmark = pytest.mark.infra


def test_app_synthesizes_without_an_aws_account(default_stack: Synthesized) -> None:
    # Given cdk.json's context and no credentials, When synthesized, Then one function per enabled spec exists
    assert default_stack.stack.stack_name == "Threadline-dev"
    assert set(default_stack.function_ids()) == {spec.name for spec in enabled_functions()}


def test_cdk_nag_aws_solutions_reports_no_unsuppressed_error(default_stack: Synthesized) -> None:
    errors = default_stack.nag_errors()
    assert errors == [], "\n".join(errors)


def test_cfn_lint_finds_no_error_in_the_template(default_stack: Synthesized) -> None:
    errors = default_stack.cfn_lint_errors()
    assert errors == [], "\n".join(errors)


def test_every_route_of_every_spec_integrates_that_specs_function(default_stack: Synthesized) -> None:
    routes = {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in default_stack.resources("AWS::ApiGatewayV2::Route").values()
    }
    integrations = default_stack.resources("AWS::ApiGatewayV2::Integration")
    function_ids = default_stack.function_ids()
    expected = {route.route_key: spec.name for spec in enabled_functions() for route in spec.routes}
    assert set(routes) == set(expected)
    for route_key, spec_name in expected.items():
        integration_id = routes[route_key]["Target"]["Fn::Join"][1][1]["Ref"]
        integration = integrations[integration_id]["Properties"]
        assert integration["IntegrationUri"] == {"Fn::GetAtt": [function_ids[spec_name], "Arn"]}, route_key
        assert integration["PayloadFormatVersion"] == "2.0"


def test_v1_routes_require_sigv4_and_webhook_routes_leave_auth_to_the_function(default_stack: Synthesized) -> None:
    for route in default_stack.resources("AWS::ApiGatewayV2::Route").values():
        properties = route["Properties"]
        path = properties["RouteKey"].split(" ", 1)[1]
        expected = "AWS_IAM" if path.startswith("/v1/") else "NONE"
        assert properties["AuthorizationType"] == expected, properties["RouteKey"]


def test_functions_run_arm64_on_the_newest_python_with_xray_and_json_logs(default_stack: Synthesized) -> None:
    for spec in enabled_functions():
        properties = default_stack.function(spec.name)["Properties"]
        assert properties["Runtime"] == RUNTIME.name == "python3.14"
        assert properties["Architectures"] == ["arm64"]
        assert properties["Handler"] == spec.handler
        assert properties["MemorySize"] == spec.memory_mb
        assert properties["Timeout"] == spec.timeout_s
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["LoggingConfig"]["LogFormat"] == "JSON"
        assert len(properties["Layers"]) == 1
        variables = properties["Environment"]["Variables"]
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Threadline"
        assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"
        assert "POWERTOOLS_TRACE_DISABLED" not in variables  # Powertools' tracer runs (sdkTracing)
        assert variables["THREADLINE_API_AUTH"] == "iam"
        assert variables["THREADLINE_DEFAULT_REGION"] == "US"
        assert variables["THREADLINE_REOPEN_DAYS"] == "7"


def test_function_log_groups_expire(default_stack: Synthesized) -> None:
    log_groups = default_stack.resources("AWS::Logs::LogGroup")
    assert log_groups
    assert {group["Properties"]["RetentionInDays"] for group in log_groups.values()} == {30}


def test_webhooks_get_the_api_endpoint_as_the_public_url_they_verify_signatures_against(
    default_stack: Synthesized,
) -> None:
    variables = default_stack.function("twilio_sms")["Properties"]["Environment"]["Variables"]
    api_id = next(iter(default_stack.resources("AWS::ApiGatewayV2::Api")))
    assert variables["THREADLINE_PUBLIC_URL"] == {"Fn::GetAtt": [api_id, "ApiEndpoint"]}


def test_functions_get_secret_arns_and_the_template_holds_no_secret_value(default_stack: Synthesized) -> None:
    secrets = default_stack.resources("AWS::SecretsManager::Secret")
    for spec in enabled_functions():
        variables = default_stack.function(spec.name)["Properties"]["Environment"]["Variables"]
        for secret in spec.secrets:
            assert secret.name not in variables
            if secret.deployed:
                assert variables[f"{secret.name}_SECRET_ARN"]["Ref"] in secrets
            else:
                assert f"{secret.name}_SECRET_ARN" not in variables
    for secret in secrets.values():
        assert "SecretString" not in secret["Properties"]
        assert "GenerateSecretString" in secret["Properties"]
    rendered = json.dumps(default_stack.cfn)
    leaked = [name for name, secret in topology.secrets().items() if secret.local_default in rendered]
    assert leaked == []


def test_each_secret_is_made_once_even_when_several_functions_read_it(default_stack: Synthesized) -> None:
    names = {secret.name for spec in enabled_functions() for secret in spec.secrets if secret.deployed}
    made = [secret["Properties"]["Name"] for secret in default_stack.resources("AWS::SecretsManager::Secret").values()]
    assert sorted(made) == sorted(f"threadline/dev/{name}" for name in names)


def test_outputs_give_the_api_url_and_a_url_per_webhook_path(default_stack: Synthesized) -> None:
    outputs = default_stack.cfn["Outputs"]
    assert "ApiUrl" in outputs
    webhook_paths = {
        route.path for spec in enabled_functions() for route in spec.routes if route.path.startswith("/webhooks/")
    }
    webhook_outputs = {name: output for name, output in outputs.items() if name.startswith("WebhookUrl")}
    assert len(webhook_outputs) == len(webhook_paths)
    rendered_paths = {output["Value"]["Fn::Join"][1][1] for output in webhook_outputs.values()}
    assert rendered_paths == webhook_paths


def test_default_stage_throttles_and_writes_json_access_logs(default_stack: Synthesized) -> None:
    (stage,) = default_stack.resources("AWS::ApiGatewayV2::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == "$default"
    assert properties["AutoDeploy"] is True
    assert properties["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50}
    access_log_format = json.loads(properties["AccessLogSettings"]["Format"])
    assert {"requestId", "routeKey", "status", "integrationError"} <= set(access_log_format)


def test_every_source_kind_names_a_deploy_function_that_exists() -> None:
    # The local half is checked in tests/unit/test_topology.py; this half needs aws_cdk.
    for source, kind in topology.SOURCE_KINDS.items():
        assert callable(topology.resolve(kind.deploy)), source


def test_the_local_api_key_is_not_a_deployed_secret(default_stack: Synthesized) -> None:
    names = [r["Properties"]["Name"] for r in default_stack.resources("AWS::SecretsManager::Secret").values()]
    assert names and not any(name.endswith("/THREADLINE_API_KEY") for name in names)
