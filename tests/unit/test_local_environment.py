"""The environment `threadline serve` gives the in-process handlers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from infra.local.moto_backend import LocalResources
from infra.local.runtime import local_environment, x_mode

RESOURCES = LocalResources(
    endpoint_url="http://127.0.0.1:5555",
    table_name="threadline-local",
    queue_url="http://127.0.0.1:5555/123456789012/threadline-ingest.fifo",
    queue_arn="arn:aws:sqs:us-east-1:123456789012:threadline-ingest.fifo",
    dead_letter_queue_url="http://127.0.0.1:5555/123456789012/threadline-ingest-dlq.fifo",
    mail_bucket="threadline-mail-local",
)


def test_handlers_reach_only_moto_with_fake_credentials() -> None:
    user = {
        "AWS_ACCESS_KEY_ID": "AKIAREAL",
        "AWS_PROFILE": "prod",
        "AWS_SESSION_TOKEN": "token",
        "AWS_ENDPOINT_URL_SQS": "https://sqs.example.com",
        "TWILIO_AUTH_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:t",
    }
    changes = local_environment(user, RESOURCES, public_url="http://127.0.0.1:8080", log_level="WARNING")
    assert changes["AWS_ACCESS_KEY_ID"] == "testing"
    assert changes["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5555"
    assert changes["AWS_PROFILE"] is None and changes["AWS_SESSION_TOKEN"] is None
    assert changes["AWS_ENDPOINT_URL_SQS"] is None
    assert changes["TWILIO_AUTH_TOKEN_SECRET_ARN"] is None
    assert "127.0.0.1" in str(changes["NO_PROXY"]).split(",")


def test_resources_are_named_and_a_users_public_url_is_kept() -> None:
    changes = local_environment(
        {"THREADLINE_PUBLIC_URL": "https://abc.tunnel.example"},
        RESOURCES,
        public_url="http://127.0.0.1:9",
        log_level="INFO",
    )
    assert changes["THREADLINE_PUBLIC_URL"] == "https://abc.tunnel.example"
    assert changes["THREADLINE_QUEUE_URL"] == RESOURCES.queue_url
    assert changes["THREADLINE_TABLE_NAME"] == "threadline-local"
    assert changes["THREADLINE_MAIL_BUCKET"] == "threadline-mail-local"
    assert changes["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert (
        local_environment({}, RESOURCES, public_url="http://127.0.0.1:9", log_level="INFO")["THREADLINE_PUBLIC_URL"]
        == "http://127.0.0.1:9"
    )


def test_the_x_poller_reads_the_local_sandbox_and_writes_its_tokens_to_the_embedded_secrets_manager() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:threadline/local/X_OAUTH2_TOKENS-AbCdEf"
    resources = replace(RESOURCES, secret_arns={"X_OAUTH2_TOKENS": arn})

    changes = local_environment({}, resources, public_url="http://127.0.0.1:9", log_level="INFO")
    chosen = local_environment(
        {"THREADLINE_X_API_URL": "https://api.x.com"}, resources, public_url="http://127.0.0.1:9", log_level="INFO"
    )

    assert changes["THREADLINE_X_API_URL"] == "http://127.0.0.1:9/_sandbox/x"
    assert changes["X_OAUTH2_TOKENS_SECRET_ARN"] == arn
    assert changes["X_OAUTH2_CLIENT_SECRET_SECRET_ARN"] is None  # read-only secrets come from the environment
    assert chosen["THREADLINE_X_API_URL"] == "https://api.x.com"


def test_x_mode_is_one_of_four_and_webhook_by_default() -> None:
    assert x_mode({}) == "webhook"
    assert x_mode({"THREADLINE_X_MODE": "polling"}) == "polling"
    with pytest.raises(ValueError, match="THREADLINE_X_MODE"):
        x_mode({"THREADLINE_X_MODE": "poll"})
