"""Synthesize the CDK app hermetically (`bundle=false`) and read the template it makes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Annotations, Match, Template

from infra.app import build_app
from infra.cdk.stack import ThreadlineStack

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Synthesized:
    stack: ThreadlineStack
    template: Template
    cfn: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.cfn["Resources"].items()
            if resource["Type"] == resource_type
        }

    def function_ids(self) -> dict[str, str]:
        """Logical id of each Lambda function, by the FunctionSpec name it was built from."""
        return {
            function["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]: logical_id
            for logical_id, function in self.resources("AWS::Lambda::Function").items()
            if "POWERTOOLS_SERVICE_NAME" in function["Properties"].get("Environment", {}).get("Variables", {})
        }

    def function(self, name: str) -> dict[str, Any]:
        function: dict[str, Any] = self.cfn["Resources"][self.function_ids()[name]]
        return function

    def statements_of(self, name: str) -> list[dict[str, Any]]:
        """Every IAM statement that applies to the role of function `name`."""
        role_id = self.function(name)["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = []
        for policy in self.resources("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        for inline in self.cfn["Resources"][role_id]["Properties"].get("Policies", []):
            statements.extend(inline["PolicyDocument"]["Statement"])
        return statements

    def nag_errors(self) -> list[str]:
        findings = Annotations.from_stack(self.stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
        return [f"{finding.id}: {finding.entry.data}" for finding in findings]

    def cfn_lint_errors(self) -> list[str]:
        import cfnlint.api  # type: ignore[import-untyped]

        matches = cfnlint.api.lint(json.dumps(self.cfn), regions=["us-east-1"])
        return [f"{match.rule.id} {match.message} ({match.path})" for match in matches if match.rule.id[0] == "E"]


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    return context


def synthesize(outdir: Path, **overrides: Any) -> Synthesized:
    app, stack = build_app({**cdk_json_context(), "bundle": False, **overrides}, outdir=str(outdir))
    app.synth()
    template = Template.from_stack(stack)
    return Synthesized(stack=stack, template=template, cfn=dict(template.to_json()))


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def resources_of(statement: dict[str, Any]) -> list[Any]:
    resources = statement["Resource"]
    return resources if isinstance(resources, list) else [resources]
