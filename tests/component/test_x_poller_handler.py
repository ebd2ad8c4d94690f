"""The x_poller function on moto (table, queue, Secrets Manager) against the X sandbox, through the processor.

A DM the webhook already delivered and the poller reads again is stored once,
under one contact id; the rotated refresh token lands in Secrets Manager.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest

from functions.processor.handler import lambda_handler as processor
from functions.x.handler import lambda_handler as x_webhook
from functions.x_poller.handler import lambda_handler as x_poller
from infra.local.sandbox.x import XSandbox
from infra.local.sandbox.x_state import ACCOUNT_ID, CUSTOMER_ID
from infra.topology import X_OAUTH2_CLIENT_SECRET, X_OAUTH2_TOKENS
from shared import wiring
from shared.ingest.message import ContactMessage
from shared.model.x_polling import OAuthTokens
from tests.builders import FakeContext, event_fixture, sqs_event, stored_contact, x_event
from tests.conftest import Account
from tests.fakes_x import SANDBOX_URL, Clock, SandboxTransport, x_sandbox

WEBHOOK_DM = "1801234567890123456"  # tests/events/x/dm_inbound.json, created 2024-06-10T10:56:40.123Z


@pytest.fixture
def sandbox(aws: Account, monkeypatch: pytest.MonkeyPatch) -> Iterator[XSandbox]:
    x = x_sandbox(Clock(datetime(2024, 6, 10, 10, 56, 40, 123000, tzinfo=UTC)))
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name="threadline/test/X_OAUTH2_TOKENS", SecretString=X_OAUTH2_TOKENS.local_default)
    monkeypatch.setenv("X_OAUTH2_TOKENS_SECRET_ARN", arn["ARN"])
    monkeypatch.setenv("X_OAUTH2_CLIENT_SECRET", X_OAUTH2_CLIENT_SECRET.local_default)
    monkeypatch.setenv("THREADLINE_X_API_URL", SANDBOX_URL)
    monkeypatch.setattr("shared.adapters.x_api.UrllibTransport", lambda: SandboxTransport(x))
    wiring.clear()
    yield x
    wiring.clear()


def queued(account: Account) -> list[ContactMessage]:
    return [ContactMessage.model_validate_json(body) for body in account.queued_bodies()]


def test_a_dm_the_webhook_delivered_and_the_poller_reads_again_is_one_contact(aws: Account, sandbox: XSandbox) -> None:
    assert x_webhook(x_event(event_fixture("x", "dm_inbound.json")), FakeContext())["statusCode"] == 200
    from_webhook = queued(aws)
    processor(sqs_event(from_webhook), FakeContext())  # type: ignore[arg-type]
    sandbox.world.add_dm(CUSTOMER_ID, ACCOUNT_ID, "Hi, my order #48213 has not arrived yet.", event_id=WEBHOOK_DM)

    report = x_poller({"schedule": "x_poller"}, FakeContext())
    polled = queued(aws)
    processor(sqs_event(polled), FakeContext())  # type: ignore[arg-type]

    assert report["revoked"] is False
    assert [m.contact.contact_id for m in polled] == [m.contact.contact_id for m in from_webhook]
    stored = stored_contact("x", WEBHOOK_DM)
    assert stored.contact_id == from_webhook[0].contact.contact_id
    assert stored.sender.handle == "annlee"


def test_a_polled_mention_is_stored_and_the_rotated_refresh_token_kept(aws: Account, sandbox: XSandbox) -> None:
    mention = sandbox.world.add_post(CUSTOMER_ID, "where is my parcel?").id

    x_poller({"schedule": "x_poller"}, FakeContext())
    processor(sqs_event(queued(aws)), FakeContext())  # type: ignore[arg-type]

    contact = stored_contact("x", mention)
    assert contact.content.text == "@ExampleShopHelp where is my parcel?"
    arn = os.environ["X_OAUTH2_TOKENS_SECRET_ARN"]
    tokens = OAuthTokens.parse(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    assert tokens.refresh_token != X_OAUTH2_TOKENS.local_default
    assert tokens.access_token is not None


def published_metrics(output: str) -> dict[str, float]:
    """The EMF lines Powertools printed: metric name → value (the stack's alarms read these names)."""
    values: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            for definition in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = document[definition["Name"]]
                values[definition["Name"]] = sum(value) if isinstance(value, list) else value
    return values


def test_a_refused_grant_is_reported_and_polling_stops(
    aws: Account, sandbox: XSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.world.revoke()

    first = x_poller({"schedule": "x_poller"}, FakeContext())
    metrics = published_metrics(capsys.readouterr().out)
    asked = dict(sandbox.world.requests)
    second = x_poller({"schedule": "x_poller"}, FakeContext())

    assert first["revoked"] and second["revoked"]
    assert sandbox.world.requests == asked
    assert second["streams"]["mentions"]["outcome"] == "revoked"
    assert metrics["XAuthRevoked"] == 1  # infra/cdk/x_polling.py alarms on it
