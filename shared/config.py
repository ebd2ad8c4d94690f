"""Configuration: the only module that reads `os.environ`.

Locally every value has a development default, so `threadline serve` starts with
no setup. Deployed, secrets come from Secrets Manager: the stack sets
`<NAME>_SECRET_ARN` for each secret a function may read, never the secret itself.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Documented development defaults: well known, so never use them on a deployed stack.
DEVELOPMENT_SECRETS: dict[str, str] = {
    "TWILIO_AUTH_TOKEN": "dev-twilio-auth-token",
    "META_APP_SECRET": "dev-meta-app-secret",
    "META_VERIFY_TOKEN": "dev-meta-verify-token",
    "X_CONSUMER_SECRET": "dev-x-consumer-secret",
    "MAILGUN_SIGNING_KEY": "dev-mailgun-signing-key",
    "SENDGRID_INBOUND_TOKEN": "dev-sendgrid-inbound-token",
    "APP_WEBHOOK_SECRET": "dev-app-webhook-secret",
    "THREADLINE_API_KEY": "dev-api-key",
}

# Every setting a user can give, with what it means; `threadline serve --help` prints this.
ENVIRONMENT_HELP: dict[str, str] = {
    "TWILIO_AUTH_TOKEN": "Twilio auth token that signs SMS and voice webhooks",
    "META_APP_SECRET": "Meta app secret that signs X-Hub-Signature-256",
    "META_VERIFY_TOKEN": "token Meta echoes in the hub.challenge handshake",
    "X_CONSUMER_SECRET": "X app consumer secret (CRC and webhook signatures)",
    "MAILGUN_SIGNING_KEY": "Mailgun HTTP webhook signing key",
    "SENDGRID_INBOUND_TOKEN": "secret token guarding the SendGrid Inbound Parse route",
    "APP_WEBHOOK_SECRET": "secret that signs first-party app webhooks",
    "THREADLINE_API_KEY": "x-api-key the local /v1 API expects",
    "THREADLINE_PUBLIC_URL": "base URL the providers call (signatures cover it)",
    "THREADLINE_DEFAULT_REGION": "region for phone numbers without a country code (default US)",
    "THREADLINE_REOPEN_DAYS": "days an open case stays the default for a returning customer (default 7)",
    "THREADLINE_OWN_IDENTIFIERS": "comma-separated kind:value identifiers of the business itself",
    "THREADLINE_MAX_BODY_BYTES": "largest webhook body accepted (default 1048576)",
}


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    table_name: str = "threadline"
    queue_url: str = ""
    public_url: str = "http://127.0.0.1:8080"
    default_region: str = Field(default="US", min_length=2, max_length=2)
    reopen_days: float = Field(default=7, gt=0)
    own_identifiers: frozenset[str] = frozenset()
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # "api_key" locally; the stack sets "iam" because API Gateway checks SigV4 before us.
    api_auth: Literal["api_key", "iam"] = "api_key"

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def reopen_window(self) -> timedelta:
        return timedelta(days=self.reopen_days)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        values: dict[str, object] = {
            "table_name": environ.get("THREADLINE_TABLE_NAME"),
            "queue_url": environ.get("THREADLINE_QUEUE_URL"),
            "public_url": environ.get("THREADLINE_PUBLIC_URL"),
            "default_region": environ.get("THREADLINE_DEFAULT_REGION"),
            "reopen_days": environ.get("THREADLINE_REOPEN_DAYS"),
            "max_body_bytes": environ.get("THREADLINE_MAX_BODY_BYTES"),
            "api_auth": environ.get("THREADLINE_API_AUTH"),
        }
        own = environ.get("THREADLINE_OWN_IDENTIFIERS", "")
        values["own_identifiers"] = frozenset(item.strip() for item in own.split(",") if item.strip())
        return cls.model_validate({key: value for key, value in values.items() if value is not None})


@functools.cache
def get_settings() -> Settings:
    return Settings.from_environ(os.environ)


class SecretUnavailable(RuntimeError):
    """A deployed secret could not be read; the caller answers 503 so the provider retries."""


@functools.cache
def _secrets_manager_backed() -> frozenset[str]:
    return frozenset(name for name in DEVELOPMENT_SECRETS if f"{name}_SECRET_ARN" in os.environ)


def get_secret(name: str) -> str:
    """A signing secret: Secrets Manager when deployed (cached 5 min), else env or dev default."""
    if name not in DEVELOPMENT_SECRETS:
        raise KeyError(name)
    if name in _secrets_manager_backed():
        # Imported here: Powertools' parameters utility pulls in boto3, which the
        # pure domain never needs.
        from aws_lambda_powertools.utilities import parameters

        try:
            return str(parameters.get_secret(os.environ[f"{name}_SECRET_ARN"], max_age=300))
        except parameters.exceptions.GetParameterError as error:
            raise SecretUnavailable(name) from error
    return os.environ.get(name, DEVELOPMENT_SECRETS[name])


def clear_caches() -> None:
    """For tests and the local runtime, after they change the environment."""
    get_settings.cache_clear()
    _secrets_manager_backed.cache_clear()
