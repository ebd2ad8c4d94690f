"""How every Threadline function is made, in one place: adding a channel is a FunctionSpec."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.cdk.bundling import stage_function_code
from infra.topology import FunctionSpec

# The newest Python runtime aws-cdk-lib offers that Powertools and pydantic-core support.
RUNTIME = lambda_.Runtime.PYTHON_3_14
RUNTIME_PYTHON = RUNTIME.name.removeprefix("python")  # "3.14": the layer's wheels and the bundle's bytecode
METRICS_NAMESPACE = "Threadline"  # shared/observability.py emits every metric here
# Powertools level names to Lambda's (which says WARN).
LAMBDA_LOG_LEVELS = {
    "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
    "INFO": lambda_.ApplicationLogLevel.INFO,
    "WARNING": lambda_.ApplicationLogLevel.WARN,
    "ERROR": lambda_.ApplicationLogLevel.ERROR,
}


class ThreadlineFunction(Construct):
    """A spec's Lambda: arm64, JSON logs with retention, X-Ray, a role of its own that starts empty.

    The role gets no managed policy: it may write to its own log group, send
    X-Ray segments, and whatever the stack grants for `spec.access`. Its code ships
    the runtime's bytecode unless `bytecode` is off (hermetic synths).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        layer: lambda_.ILayerVersion,
        environment: Mapping[str, str],
        log_retention: logs.RetentionDays,
        log_level: str,
        bytecode: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Threadline {spec.name}: only what its FunctionSpec declares",
        )
        self.log_group.grant_write(self.role)
        code = stage_function_code(spec.name, bytecode_for=RUNTIME_PYTHON if bytecode else None)
        self.function = lambda_.Function(
            self,
            "Function",
            description=spec.description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=spec.handler,
            code=lambda_.Code.from_asset(str(code)),
            layers=[layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            role=self.role,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            # Same level on both sides: Lambda drops records below its own level.
            application_log_level_v2=LAMBDA_LOG_LEVELS[log_level],
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=self.log_group,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": spec.name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": log_level,
                **dict(spec.extra_env),
            },
        )
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions",
                    applies_to=["Resource::*"],
                )
            ],
            apply_to_children=True,
        )

    def add_environment(self, name: str, value: str) -> None:
        self.function.add_environment(name, value)
