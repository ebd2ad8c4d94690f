"""The optional rule that sends Threadline events to a CRM's HTTPS endpoint (`eventDestination`).

An EventBridge API destination POSTs each event's `detail`, the bare envelope,
as the local runtime does (docs/events.md). Its connection's credential (API key,
OAuth client secret or basic password) comes from a secret the stack creates with
a random placeholder: the operator sets the real value with put-secret-value,
then deploys with a new `secretRevision` (docs/deploy.md).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, SecretValue
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.cdk.events import EVENT_SOURCE
from infra.cdk.ingest import dead_letter_queue
from infra.cdk.settings import EventDestination

CREDENTIAL_NAME = "EVENT_DESTINATION_CREDENTIAL"
# The body is the envelope, exactly what the local runtime POSTs.
EVENT_BODY_PATH = "$.detail"


def secret_name(stage: str) -> str:
    return f"threadline/{stage}/{CREDENTIAL_NAME}"


def authorization(destination: EventDestination, credential: SecretValue) -> events.Authorization:
    if destination.auth == "apiKey":
        return events.Authorization.api_key(destination.api_key_name, credential)
    if destination.auth == "basic":
        assert destination.basic_username  # EventDestination's validator requires it
        return events.Authorization.basic(destination.basic_username, credential)
    assert destination.oauth_token_url  # likewise
    assert destination.oauth_client_id
    # EventBridge exchanges the client id and secret for a token at the token URL;
    # the grant type (and scope) go in the token request's body.
    body = {"grant_type": events.HttpParameter.from_string("client_credentials")}
    if destination.oauth_scope:
        body["scope"] = events.HttpParameter.from_string(destination.oauth_scope)
    return events.Authorization.oauth(
        authorization_endpoint=destination.oauth_token_url,
        client_id=destination.oauth_client_id,
        client_secret=credential,
        http_method=events.HttpMethod.POST,
        body_parameters=body,
    )


class EventDestinationRule(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        bus: events.IEventBus,
        destination: EventDestination,
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret_name = secret_name(stage)
        self.secret = secretsmanager.Secret(
            self,
            "Credential",
            secret_name=self.secret_name,
            description=f"the event destination's {destination.auth} credential (API key, client secret or password)",
            removal_policy=RemovalPolicy.RETAIN,
        )
        NagSuppressions.add_resource_suppressions(
            self.secret,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason="issued by the receiving CRM; rotated there, then stored with put-secret-value",
                )
            ],
        )
        connection = events.Connection(
            self,
            "Connection",
            authorization=authorization(destination, self.secret.secret_value),
            # A template change, so CloudFormation reads the secret again (see EventDestination).
            description=f"Threadline {stage} events, credential revision {destination.secret_revision}",
        )
        self.api_destination = events.ApiDestination(
            self,
            "Destination",
            connection=connection,
            endpoint=destination.url,
            http_method=events.HttpMethod.POST,
            rate_limit_per_second=destination.rate_limit_per_second,
            description=f"Threadline {stage} events",
        )
        # Named for the alarm Monitoring makes per dead-letter queue (`<id>Waiting`).
        self.dead_letters = dead_letter_queue(self, "EventDeliveryDeadLetters", fifo=False)
        self.rule = events.Rule(
            self,
            "Rule",
            event_bus=bus,
            description="Threadline events to the eventDestination endpoint",
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE],
                detail_type=[str(event_type) for event_type in destination.event_types] or None,
            ),
            targets=[
                targets.ApiDestination(
                    self.api_destination,
                    event=events.RuleTargetInput.from_event_path(EVENT_BODY_PATH),
                    dead_letter_queue=self.dead_letters,
                    max_event_age=Duration.hours(destination.max_event_age_hours),
                    retry_attempts=destination.retry_attempts,
                )
            ],
        )
