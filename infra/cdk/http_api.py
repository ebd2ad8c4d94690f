"""The HTTP API: webhook routes (the functions verify provider signatures) and `/v1` behind IAM."""

from __future__ import annotations

import json

import jsii
from aws_cdk import CfnOutput, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.cdk.function import ThreadlineFunction
from infra.cdk.settings import DeploySettings
from infra.topology import Route

API_PREFIX = "/v1"
# HTTP API $context variables; no request or response bodies, so no personal data beyond the caller's IP.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "sourceIp": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "errorMessage": "$context.error.message",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _JsonAccessLogs:
    def __init__(self, log_group: logs.LogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS))


def is_api_route(route: Route) -> bool:
    return route.path == API_PREFIX or route.path.startswith(f"{API_PREFIX}/")


class ThreadlineHttpApi(Construct):
    """Routes come from the topology; a function's routes share one Lambda integration."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploySettings, log_retention: logs.RetentionDays
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            api_name=f"threadline-{settings.stage}",
            description="Threadline webhooks and the /v1 API",
            create_default_stage=False,  # made below, with access logs and throttling
        )
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.domain = self._custom_domain(settings)
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=settings.throttle_rate_limit, burst_limit=settings.throttle_burst_limit
            ),
            access_log_settings=_JsonAccessLogs(self.access_logs),
            domain_mapping=apigwv2.DomainMappingOptions(domain_name=self.domain) if self.domain else None,
        )
        # Providers sign the URL they call, so the functions must know that exact base URL.
        if settings.public_url:
            self.public_url = settings.public_url.rstrip("/")
        elif settings.domain_name:
            self.public_url = f"https://{settings.domain_name}"
        else:
            self.public_url = self.api.api_endpoint
        self._iam = authorizers.HttpIamAuthorizer()
        self.routes: dict[str, apigwv2.HttpRoute] = {}
        CfnOutput(self, "Url", key="ApiUrl", value=self.public_url, description="Base URL of webhooks and /v1")

    def _custom_domain(self, settings: DeploySettings) -> apigwv2.DomainName | None:
        if settings.domain_name is None or settings.certificate_arn is None:
            return None
        domain = apigwv2.DomainName(
            self,
            "Domain",
            domain_name=settings.domain_name,
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", settings.certificate_arn),
        )
        CfnOutput(
            self,
            "DomainTarget",
            key="CustomDomainTarget",
            value=domain.regional_domain_name,
            description=f"point a CNAME (or alias) for {settings.domain_name} here",
        )
        return domain

    def add_function_routes(self, target: ThreadlineFunction) -> None:
        integration = integrations.HttpLambdaIntegration(f"{target.spec.name}Integration", target.function)
        for route in target.spec.routes:
            api_route = is_api_route(route)
            (created,) = self.api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod(route.method)],
                integration=integration,
                authorizer=self._iam if api_route else None,
            )
            self.routes[route.route_key] = created
            if not api_route:
                NagSuppressions.add_resource_suppressions(
                    created,
                    [
                        NagPackSuppression(
                            id="AwsSolutions-APIG4",
                            reason="a provider webhook: the provider cannot sign with SigV4; the function "
                            "verifies the provider's own signature before anything is queued",
                        )
                    ],
                )
        self._add_webhook_outputs(target)

    def _add_webhook_outputs(self, target: ThreadlineFunction) -> None:
        """One output per webhook path: the URL to paste into the provider's console."""
        for path in dict.fromkeys(route.path for route in target.spec.routes if not is_api_route(route)):
            name = "".join(part.capitalize() for part in path.replace("/", " ").replace("_", " ").split()[1:])
            CfnOutput(
                self,
                f"Webhook{name}",
                key=f"WebhookUrl{name}",
                value=f"{self.public_url}{path}",
                description=f"{target.spec.description}: {path}",
            )

    def url_of(self, path: str) -> str:
        return f"{self.public_url}{path}"
