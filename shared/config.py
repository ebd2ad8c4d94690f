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

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_VOICE_GREETING = (
    "Thank you for calling. Please leave a message after the tone, and we will get back to you on this case."
)

# Every setting a user can give, with what it means; `threadline serve --help` prints this
# next to the signing secrets, which infra/topology.py declares with the functions that read them.
ENVIRONMENT_HELP: dict[str, str] = {
    "THREADLINE_PUBLIC_URL": "base URL the providers call (signatures cover it)",
    "THREADLINE_DEFAULT_REGION": "region for phone numbers without a country code (default US)",
    "THREADLINE_REOPEN_DAYS": "days an open case stays the default for a returning customer (default 7)",
    "THREADLINE_OWN_IDENTIFIERS": "comma-separated kind:value identifiers of the business itself",
    "THREADLINE_BLOCKED_IDENTIFIERS": "comma-separated kind:value identifiers that never find a customer",
    "THREADLINE_ORDER_PATTERN": "regular expression of an order number in text (group 1 if any); unset: none",
    "THREADLINE_IDENTIFIER_LIMITS": "most identifiers of a kind one customer carries, e.g. phone=5,email=10 (defaults)",
    "THREADLINE_MAX_BODY_BYTES": "largest webhook body accepted (default 1048576)",
    "THREADLINE_VOICE_MODE": "how Twilio calls are answered: record (greeting + voicemail, default) or dial",
    "THREADLINE_VOICE_GREETING": "what a caller hears before the voicemail tone (record mode)",
    "THREADLINE_VOICE_DIAL_NUMBER": "E.164 number calls are connected to (dial mode; required there)",
    "THREADLINE_CONNECT_CASE_ATTRIBUTE": "Connect contact attribute holding a case reference (default caseReference)",
    "THREADLINE_EVENT_BUS": "EventBridge bus for CRM sync events (the stack sets it; unset: local JSON Lines)",
    "THREADLINE_EVENTS_FILE": "JSON Lines file local CRM sync events go to (default .threadline/events.jsonl)",
    "THREADLINE_EVENTS_POST_URL": "optional http(s) URL each local CRM sync event is also POSTed to",
    "THREADLINE_MAIL_BUCKET": "S3 bucket for raw inbound mail and attachment bytes (unset: metadata only)",
    "THREADLINE_SES_TOPIC_ARNS": "comma-separated SNS topic ARNs the SES webhook accepts (default: the dev topic)",
    "THREADLINE_MAX_EMAIL_BYTES": "largest inbound email (and email webhook body) accepted (default 10485760)",
    "SNS_TEST_CERT_PEM": "PEM file trusted for SNS signatures instead of AWS's (local only, never on Lambda)",
    "THREADLINE_X_MODE": "how X reaches us: webhook (default), polling, both (a migration) or off (local runtime)",
    "THREADLINE_X_USER_ID": "numeric X user id of the support account the poller reads (local: the sandbox's)",
    "THREADLINE_X_CLIENT_ID": "OAuth 2.0 client id of the X app the poller refreshes tokens with",
    "THREADLINE_X_API_URL": "X API base URL (default https://api.x.com; locally the sandbox, <url>/_sandbox/x)",
    "THREADLINE_X_MENTIONS_PAGE_SIZE": "posts the poller asks for per mentions request (5-100, default 100)",
    "THREADLINE_X_DM_PAGE_SIZE": "DM events per request (1-100, default 10: a quiet inbox re-reads this many a run)",
    "THREADLINE_X_MAX_PAGES": "most requests per stream and run (default 5): a backlog drains over several runs",
    "THREADLINE_X_MONTHLY_REQUEST_CAP": "most X requests the poller makes in a calendar month (default 100000)",
    "THREADLINE_X_MONTHLY_RESOURCE_CAP": "most posts, DM events, users and media it reads in a month (default 10000)",
    "THREADLINE_REPLY_EMAIL_FROM": "support address email replies are sent from (an SES verified identity)",
    "THREADLINE_SES_IDENTITY_ARN": "ARN of that SES identity (the stack sets it; sending is granted on it only)",
    "THREADLINE_SES_CONFIGURATION_SET": "SES configuration set whose events (bounces, complaints) update delivery",
    "THREADLINE_EUM_CONFIGURATION_SET": "End User Messaging configuration set for SMS replies (optional)",
    "THREADLINE_TWILIO_API_URL": "Twilio REST base URL (default https://api.twilio.com; locally <url>/_sandbox/twilio)",
    "THREADLINE_GRAPH_API_URL": "Meta Graph API base URL (default https://graph.facebook.com; locally the sandbox)",
    "THREADLINE_GRAPH_API_VERSION": "Graph API version replies are sent with (default v21.0)",
    "THREADLINE_LOCAL_SCHEDULE_SECONDS": "how often scheduled functions (the X poller) run locally (default 5)",
}

LOCAL_X_ACCOUNT_ID = "1478523690147852369"  # the sandbox's support account (infra/local/sandbox/x_state.py)

DEFAULT_IDENTIFIER_LIMITS: dict[str, int] = {"phone": 5, "email": 10}

# What the SES webhook accepts when THREADLINE_SES_TOPIC_ARNS is unset: no real topic has this ARN.
DEV_SES_TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:threadline-inbound-email"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    table_name: str = "threadline"
    queue_url: str = ""
    public_url: str = "http://127.0.0.1:8080"
    default_region: str = Field(default="US", min_length=2, max_length=2)
    reopen_days: float = Field(default=7, gt=0)
    own_identifiers: frozenset[str] = frozenset()
    # Shared or test values that must never find a customer (rule 1), beyond the built-ins.
    blocked_identifiers: frozenset[str] = frozenset()
    order_pattern: str = Field(default="", max_length=512)
    # Per kind: an identifier beyond the limit is not attached (a shared or harvested list, not one person).
    identifier_limits: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_IDENTIFIER_LIMITS))
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # "api_key" locally; the stack sets "iam" because API Gateway checks SigV4 before us.
    api_auth: Literal["api_key", "iam"] = "api_key"
    # Telephony (docs/channels/telephony.md).
    voice_mode: Literal["record", "dial"] = "record"
    voice_greeting: str = Field(default=DEFAULT_VOICE_GREETING, min_length=1, max_length=1000)
    voice_dial_number: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")
    connect_case_attribute: str = Field(default="caseReference", min_length=1, max_length=128)
    # CRM sync events: the stack names a bus; without one they go to a local file (docs/events.md).
    event_bus: str = ""
    events_file: str = Field(default=".threadline/events.jsonl", min_length=1)
    events_post_url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    # Email (docs/channels/email.md).
    mail_bucket: str = ""
    ses_topic_arns: frozenset[str] = frozenset({DEV_SES_TOPIC_ARN})
    max_email_bytes: int = Field(default=10_485_760, gt=0)
    sns_test_cert_pem: str | None = None
    # X polling (docs/channels/x.md); the defaults are the local sandbox's, the stack sets the rest.
    x_user_id: str = Field(default=LOCAL_X_ACCOUNT_ID, pattern=r"^[0-9]{1,19}$")
    x_client_id: str = Field(default="dev-x-client-id", min_length=1)
    x_api_url: str = Field(default="https://api.x.com", pattern=r"^https?://\S+$")
    # DM events have no since_id: every run reads the newest page again, so it stays small (docs/channels/x.md).
    x_mentions_page_size: int = Field(default=100, ge=5, le=100)
    x_dm_page_size: int = Field(default=10, ge=1, le=100)
    x_max_pages: int = Field(default=5, ge=1, le=50)
    x_monthly_request_cap: int = Field(default=100_000, ge=0)
    x_monthly_resource_cap: int = Field(default=10_000, ge=0)
    # Replies (docs/api.md, "Replies"); provider base URLs are configuration, the sandbox's locally.
    outbound_queue_url: str = ""
    reply_email_from: str = Field(default="support@example.com", pattern=r"^[^@\s]+@[^@\s]+$")
    ses_identity_arn: str = ""
    ses_configuration_set: str = ""
    eum_configuration_set: str = ""
    twilio_api_url: str = Field(default="https://api.twilio.com", pattern=r"^https?://\S+$")
    graph_api_url: str = Field(default="https://graph.facebook.com", pattern=r"^https?://\S+$")
    graph_api_version: str = Field(default="v21.0", pattern=r"^v\d+\.\d+$")

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _dial_mode_has_a_number(self) -> Settings:
        # Fail at start-up, not on the first ringing call.
        if self.voice_mode == "dial" and not self.voice_dial_number:
            raise ValueError("THREADLINE_VOICE_MODE=dial needs THREADLINE_VOICE_DIAL_NUMBER")
        return self

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
            "voice_mode": environ.get("THREADLINE_VOICE_MODE"),
            "voice_greeting": environ.get("THREADLINE_VOICE_GREETING"),
            "voice_dial_number": environ.get("THREADLINE_VOICE_DIAL_NUMBER"),
            "connect_case_attribute": environ.get("THREADLINE_CONNECT_CASE_ATTRIBUTE"),
            "event_bus": environ.get("THREADLINE_EVENT_BUS"),
            "events_file": environ.get("THREADLINE_EVENTS_FILE"),
            "events_post_url": environ.get("THREADLINE_EVENTS_POST_URL"),
            "x_user_id": environ.get("THREADLINE_X_USER_ID"),
            "x_client_id": environ.get("THREADLINE_X_CLIENT_ID"),
            "x_api_url": environ.get("THREADLINE_X_API_URL"),
            "x_mentions_page_size": environ.get("THREADLINE_X_MENTIONS_PAGE_SIZE"),
            "x_dm_page_size": environ.get("THREADLINE_X_DM_PAGE_SIZE"),
            "x_max_pages": environ.get("THREADLINE_X_MAX_PAGES"),
            "x_monthly_request_cap": environ.get("THREADLINE_X_MONTHLY_REQUEST_CAP"),
            "x_monthly_resource_cap": environ.get("THREADLINE_X_MONTHLY_RESOURCE_CAP"),
            "outbound_queue_url": environ.get("THREADLINE_OUTBOUND_QUEUE_URL"),
            "reply_email_from": environ.get("THREADLINE_REPLY_EMAIL_FROM"),
            "ses_identity_arn": environ.get("THREADLINE_SES_IDENTITY_ARN"),
            "ses_configuration_set": environ.get("THREADLINE_SES_CONFIGURATION_SET"),
            "eum_configuration_set": environ.get("THREADLINE_EUM_CONFIGURATION_SET"),
            "twilio_api_url": environ.get("THREADLINE_TWILIO_API_URL"),
            "graph_api_url": environ.get("THREADLINE_GRAPH_API_URL"),
            "graph_api_version": environ.get("THREADLINE_GRAPH_API_VERSION"),
        }
        own = environ.get("THREADLINE_OWN_IDENTIFIERS", "")
        values["own_identifiers"] = frozenset(item.strip() for item in own.split(",") if item.strip())
        blocked = environ.get("THREADLINE_BLOCKED_IDENTIFIERS", "")
        values["blocked_identifiers"] = frozenset(item.strip() for item in blocked.split(",") if item.strip())
        values["order_pattern"] = environ.get("THREADLINE_ORDER_PATTERN")
        limits = environ.get("THREADLINE_IDENTIFIER_LIMITS", "")
        given = dict(item.strip().partition("=")[::2] for item in limits.split(",") if item.strip())
        values["identifier_limits"] = {
            **DEFAULT_IDENTIFIER_LIMITS,
            **{kind.strip(): int(n) for kind, n in given.items()},
        }
        values["mail_bucket"] = environ.get("THREADLINE_MAIL_BUCKET")
        values["max_email_bytes"] = environ.get("THREADLINE_MAX_EMAIL_BYTES")
        topics = frozenset(item.strip() for item in environ.get("THREADLINE_SES_TOPIC_ARNS", "").split(","))
        values["ses_topic_arns"] = (topics - {""}) or None
        # A test certificate must never be trusted on Lambda, which always sets its function name.
        if "AWS_LAMBDA_FUNCTION_NAME" not in environ:
            values["sns_test_cert_pem"] = environ.get("SNS_TEST_CERT_PEM") or None
        return cls.model_validate({key: value for key, value in values.items() if value is not None})


@functools.cache
def get_settings() -> Settings:
    return Settings.from_environ(os.environ)


class SecretUnavailable(RuntimeError):
    """A secret could not be read, or is not configured at all; the caller answers 503 so the provider retries."""


def get_secret(name: str) -> str:
    """A signing secret: from Secrets Manager when the stack gave its ARN (cached 5 min), else the environment.

    There is no built-in fallback: the local runtime and the tests set the public
    development values (infra/topology.py), so a deployed function can never run
    on them by mistake.
    """
    arn = os.environ.get(f"{name}_SECRET_ARN")
    if arn:
        # Imported here: Powertools' parameters utility pulls in boto3, which the
        # pure domain never needs.
        from aws_lambda_powertools.utilities import parameters

        try:
            return str(parameters.get_secret(arn, max_age=300))
        except parameters.exceptions.GetParameterError as error:
            raise SecretUnavailable(name) from error
    value = os.environ.get(name)
    if value is None:
        raise SecretUnavailable(f"{name} is not configured")
    return value


def secret_arn(name: str) -> str:
    """The Secrets Manager ARN of a secret a function writes back (`Secret.writable`); it has no env fallback."""
    arn = os.environ.get(f"{name}_SECRET_ARN")
    if not arn:
        raise SecretUnavailable(f"{name}_SECRET_ARN is not configured")
    return arn


def clear_caches() -> None:
    """For tests and the local runtime, after they change the environment."""
    get_settings.cache_clear()
