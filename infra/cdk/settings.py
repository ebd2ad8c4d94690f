"""The stack's configuration: `cdk.json` context, overridable with `cdk deploy -c key=value`.

Every key is documented in docs/deploy.md. Values given with `-c` arrive as
strings, so the model accepts `"false"`, `"30"` and `'["twilio_sms"]'` as well
as the JSON types `cdk.json` holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from infra.topology import FunctionSpec, XMode
from shared.model.events import EventType

# The retention values CloudWatch Logs accepts, in the order of aws_logs.RetentionDays.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


def _string_list(value: object) -> object:
    """A list from JSON, or from a comma-separated string given with `-c`."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [item.strip() for item in text.split(",") if item.strip()]


class EventDestination(BaseModel):
    """`eventDestination`: the one HTTPS endpoint (a CRM's) that the bus's events are sent to."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)  # a typo must fail the synth

    url: str = Field(pattern=r"^https://[^/]+(/.*)?$")
    auth: Literal["apiKey", "oauth", "basic"]
    api_key_name: str = Field(default="x-api-key", alias="apiKeyName", min_length=1)
    oauth_token_url: str | None = Field(default=None, alias="oauthTokenUrl", pattern=r"^https://[^/]+(/.*)?$")
    oauth_client_id: str | None = Field(default=None, alias="oauthClientId", min_length=1)
    oauth_scope: str | None = Field(default=None, alias="oauthScope", min_length=1)
    basic_username: str | None = Field(default=None, alias="basicUsername", min_length=1)
    rate_limit_per_second: int = Field(default=10, alias="rateLimitPerSecond", ge=1, le=300)
    event_types: tuple[EventType, ...] = Field(default=(), alias="eventTypes")  # none: every event
    max_event_age_hours: int = Field(default=24, alias="maxEventAgeHours", ge=1, le=24)
    retry_attempts: int = Field(default=185, alias="retryAttempts", ge=0, le=185)
    # CloudFormation reads the secret only when it creates or updates the connection:
    # changing this after put-secret-value makes it update the connection with the new value.
    secret_revision: str = Field(default="1", alias="secretRevision", pattern=r"^[A-Za-z0-9._-]{1,32}$")

    @field_validator("event_types", mode="before")
    @classmethod
    def _types(cls, value: object) -> object:
        return _string_list(value)

    @field_validator("secret_revision", mode="before")
    @classmethod
    def _revision(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _credentials_of_the_auth(self) -> EventDestination:
        if self.auth == "oauth" and not (self.oauth_token_url and self.oauth_client_id):
            raise ValueError("eventDestination with auth oauth needs oauthTokenUrl and oauthClientId")
        if self.auth == "basic" and not self.basic_username:
            raise ValueError("eventDestination with auth basic needs basicUsername")
        return self


class XPolling(BaseModel):
    """`xPolling`: the X account, app and caps of xMode polling (docs/channels/x.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)  # a typo must fail the synth

    user_id: str | None = Field(default=None, alias="userId", pattern=r"^[0-9]{1,19}$")
    client_id: str | None = Field(default=None, alias="clientId", min_length=1)
    schedule_minutes: int = Field(default=1, alias="scheduleMinutes", ge=1, le=60)
    api_url: str = Field(default="https://api.x.com", alias="apiUrl", pattern=r"^https://[^/]+$")
    mentions_page_size: int = Field(default=100, alias="mentionsPageSize", ge=5, le=100)
    dm_page_size: int = Field(default=10, alias="dmPageSize", ge=1, le=100)
    max_pages_per_run: int = Field(default=5, alias="maxPagesPerRun", ge=1, le=50)
    monthly_request_cap: int = Field(default=100_000, alias="monthlyRequestCap", ge=0)
    monthly_resource_cap: int = Field(default=10_000, alias="monthlyResourceCap", ge=0)
    stalled_alarm_minutes: int = Field(default=15, alias="stalledAlarmMinutes", ge=5)


class DeploySettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    stage: str = Field(default="dev", pattern=r"^[a-z][a-z0-9-]{0,19}$")
    default_region: str = Field(default="US", alias="defaultRegion", pattern=r"^[A-Z]{2}$")
    reopen_days: float = Field(default=7, alias="reopenDays", gt=0)
    own_identifiers: tuple[str, ...] = Field(default=(), alias="ownIdentifiers")
    disabled_channels: frozenset[str] = Field(default=frozenset(), alias="disabledChannels")
    public_url: str | None = Field(default=None, alias="publicUrl", pattern=r"^https://[^/]+(/.*)?$")
    domain_name: str | None = Field(default=None, alias="domainName")
    certificate_arn: str | None = Field(default=None, alias="certificateArn", pattern=r"^arn:aws[a-z-]*:acm:")
    log_retention_days: int = Field(default=30, alias="logRetentionDays")
    log_level: str = Field(default="INFO", alias="logLevel", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    alarm_email: str | None = Field(default=None, alias="alarmEmail", pattern=r"^[^@\s]+@[^@\s]+$")
    throttle_rate_limit: int = Field(default=50, alias="throttleRateLimit", gt=0)
    throttle_burst_limit: int = Field(default=100, alias="throttleBurstLimit", gt=0)
    max_body_bytes: int = Field(default=1_048_576, alias="maxBodyBytes", gt=0, le=10_485_760)
    processor_max_concurrency: int = Field(default=5, alias="processorMaxConcurrency", ge=2, le=1000)
    oldest_message_alarm_seconds: int = Field(default=300, alias="oldestMessageAlarmSeconds", gt=0)
    mail_retention_days: int | None = Field(default=None, alias="mailRetentionDays", gt=0)
    event_archive_days: int = Field(default=30, alias="eventArchiveDays", ge=0)
    connect_shard_count: int = Field(default=1, alias="connectShardCount", ge=1)
    event_destination: EventDestination | None = Field(default=None, alias="eventDestination")
    # false: Lambda's active tracing only (the invocation's segments), without Powertools' tracer
    # and the X-Ray SDK it loads: about 150 ms less of each cold start (docs/benchmarks.md).
    sdk_tracing: bool = Field(default=True, alias="sdkTracing")
    x_mode: XMode = Field(default="webhook", alias="xMode")
    x_polling: XPolling = Field(default_factory=XPolling, alias="xPolling")
    # Replies: the support address email replies leave from (an SES identity you verified), and
    # optionally its SES configuration set (bounce and complaint events).
    reply_email_from: str = Field(default="support@example.com", alias="replyEmailFrom", pattern=r"^[^@\s]+@[^@\s]+$")
    ses_configuration_set: str | None = Field(
        default=None, alias="sesConfigurationSet", pattern=r"^[A-Za-z0-9_-]{1,64}$"
    )
    # false: an empty placeholder layer instead of pip, so synth is hermetic (the infra tests).
    bundle: bool = True

    @field_validator("own_identifiers", "disabled_channels", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _string_list(value)

    @field_validator("event_destination", "x_polling", mode="before")
    @classmethod
    def _object(cls, value: object) -> object:
        """`-c 'eventDestination={...}'` arrives as a JSON string."""
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("log_retention_days")
    @classmethod
    def _known_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"logRetentionDays must be one of {LOG_RETENTION_DAYS}")
        return value

    @model_validator(mode="after")
    def _domain_needs_certificate(self) -> DeploySettings:
        if (self.domain_name is None) != (self.certificate_arn is None):
            raise ValueError("domainName and certificateArn go together")
        if self.throttle_burst_limit < self.throttle_rate_limit:
            raise ValueError("throttleBurstLimit must be at least throttleRateLimit")
        if self.x_mode in ("polling", "both") and not (self.x_polling.user_id and self.x_polling.client_id):
            raise ValueError("xMode polling needs xPolling.userId and xPolling.clientId (docs/channels/x.md)")
        return self

    def schedule_minutes(self, spec: FunctionSpec) -> int:
        """How often a scheduled function runs: its spec's default, or what cdk.json says for it."""
        if spec.channel == "x_polling":
            return self.x_polling.schedule_minutes
        if spec.schedule_minutes is None:
            raise ValueError(f"{spec.name} is scheduled but names no rate")
        return spec.schedule_minutes

    @classmethod
    def from_context(cls, lookup: Callable[[str], Any]) -> DeploySettings:
        """Read each key through `lookup` (a construct's `node.try_get_context`)."""
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            key = field.alias or name
            value = lookup(key)
            if value is not None:
                values[key] = value
        return cls.model_validate(values)
