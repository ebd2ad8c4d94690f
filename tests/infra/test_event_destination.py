"""`eventDestination`: absent by default; its settings; the connection each auth kind makes.

The rule, target and dead-letter queue are checked on the stack of
test_optional_resources.py (an API key destination); OAuth and basic auth are
checked here on a connection alone, which synthesizes in a moment.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template
from pydantic import ValidationError

from infra.cdk.event_destination import authorization, secret_name
from infra.cdk.settings import DeploySettings, EventDestination
from tests.infra.synth import Synthesized

pytestmark = pytest.mark.infra

URL = "https://crm.example.com/hooks/threadline"


def connection_of(destination: EventDestination) -> tuple[dict[str, Any], str]:
    """The connection's properties, and the logical id of the secret it reads."""
    stack = Stack(App(), "Connection")
    secret = secretsmanager.Secret(stack, "Credential")
    events.Connection(stack, "Connection", authorization=authorization(destination, secret.secret_value))
    template = Template.from_stack(stack).to_json()
    (connection,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Events::Connection"]
    return connection["Properties"], stack.get_logical_id(secret.node.default_child)  # type: ignore[arg-type]


def resolved_from(secret_id: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]}


def test_without_an_event_destination_the_stack_makes_no_connection_destination_or_secret(
    default_stack: Synthesized,
) -> None:
    assert default_stack.resources("AWS::Events::Connection") == {}
    assert default_stack.resources("AWS::Events::ApiDestination") == {}
    names = {secret["Properties"]["Name"] for secret in default_stack.resources("AWS::SecretsManager::Secret").values()}
    assert secret_name("dev") not in names


def test_oauth_exchanges_the_client_id_and_the_secrets_client_secret_at_the_token_url() -> None:
    destination = EventDestination.model_validate(
        {
            "url": URL,
            "auth": "oauth",
            "oauthTokenUrl": "https://login.example.com/oauth2/token",
            "oauthClientId": "threadline-sync",
            "oauthScope": "events.write",
        }
    )
    connection, secret_id = connection_of(destination)
    assert connection["AuthorizationType"] == "OAUTH_CLIENT_CREDENTIALS"
    oauth = connection["AuthParameters"]["OAuthParameters"]
    assert oauth["AuthorizationEndpoint"] == "https://login.example.com/oauth2/token"
    assert oauth["HttpMethod"] == "POST"
    assert oauth["ClientParameters"] == {"ClientID": "threadline-sync", "ClientSecret": resolved_from(secret_id)}
    body = {p["Key"]: p["Value"] for p in oauth["OAuthHttpParameters"]["BodyParameters"]}
    assert body == {"grant_type": "client_credentials", "scope": "events.write"}


def test_basic_auth_sends_the_configured_user_and_the_secrets_password() -> None:
    destination = EventDestination.model_validate({"url": URL, "auth": "basic", "basicUsername": "threadline"})
    connection, secret_id = connection_of(destination)
    assert connection["AuthorizationType"] == "BASIC"
    assert connection["AuthParameters"]["BasicAuthParameters"] == {
        "Username": "threadline",
        "Password": resolved_from(secret_id),
    }


def test_an_event_destination_given_with_dash_c_arrives_as_json_text_and_is_read() -> None:
    settings = DeploySettings.model_validate(
        {"eventDestination": f'{{"url": "{URL}", "auth": "apiKey", "eventTypes": "case.opened,case.closed"}}'}
    )
    assert settings.event_destination is not None
    assert settings.event_destination.url == URL
    assert [str(t) for t in settings.event_destination.event_types] == ["case.opened", "case.closed"]


@pytest.mark.parametrize(
    "destination",
    [
        {"url": "http://crm.example.com/hooks", "auth": "apiKey"},
        {"url": URL, "auth": "oauth", "oauthClientId": "threadline-sync"},
        {"url": URL, "auth": "basic"},
        {"url": URL, "auth": "apiKey", "eventTypes": ["contact.recieved"]},
        {"url": URL, "auth": "apiKey", "apiKey": "a literal key belongs in the secret"},
    ],
    ids=["plain-http", "oauth-without-token-url", "basic-without-user", "unknown-event-type", "unknown-key"],
)
def test_an_event_destination_that_cannot_work_fails_the_synth(destination: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DeploySettings.model_validate({"eventDestination": destination})
