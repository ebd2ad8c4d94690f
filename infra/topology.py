"""The one declaration of Threadline's functions, routes and event sources (DESIGN.md section 6).

The CDK app turns it into AWS resources; the local runtime turns it into one
process. Neither keeps a list of its own, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Source(Enum):
    """What invokes a function besides HTTP routes."""

    INGEST_QUEUE = "ingest_queue"  # the FIFO ingest queue (SQS batch, partial failures)
    CONNECT_STREAM = "connect_stream"  # Amazon Connect contact records on a Kinesis data stream
    EUM_SMS_TOPIC = "eum_sms_topic"  # AWS End User Messaging inbound SMS on an SNS topic
    TABLE_STREAM = "table_stream"  # the table's DynamoDB stream (events for CRM sync)


class Access(Enum):
    """What a function may touch; the stack grants exactly these and nothing more."""

    TABLE_READ = "table_read"
    TABLE_WRITE = "table_write"
    QUEUE_SEND = "queue_send"
    MAIL_BUCKET_READ = "mail_bucket_read"  # raw inbound email that SES stored in S3
    MAIL_BUCKET_WRITE = "mail_bucket_write"  # attachment bytes, kept out of DynamoDB
    EVENT_BUS_PUT = "event_bus_put"  # publish CRM sync events


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str
    routes: tuple[Route, ...] = ()
    source: Source | None = None
    access: frozenset[Access] = frozenset()
    secrets: tuple[str, ...] = ()
    channel: str | None = None  # a webhook of a channel that cdk.json may disable
    memory_mb: int = 256
    timeout_s: int = 10
    extra_env: tuple[tuple[str, str], ...] = field(default=())

    @property
    def module(self) -> str:
        return f"functions.{self.name}.handler"

    @property
    def handler(self) -> str:
        return f"{self.module}.lambda_handler"


WEBHOOK_ACCESS = frozenset({Access.QUEUE_SEND})
API_READS = (
    Route("GET", "/v1/contacts"),
    Route("GET", "/v1/contacts/{contact_id}"),
    Route("GET", "/v1/customers"),
    Route("GET", "/v1/customers/{customer_id}"),
    Route("GET", "/v1/customers/{customer_id}/timeline"),
    Route("GET", "/v1/customers/{customer_id}/cases"),
    Route("GET", "/v1/cases/{case_id}"),
    Route("GET", "/v1/openapi.json"),
)

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="twilio_sms",
        description="Twilio Messaging webhook (SMS, MMS)",
        routes=(Route("POST", "/webhooks/twilio/sms"),),
        access=WEBHOOK_ACCESS,
        secrets=("TWILIO_AUTH_TOKEN",),
        channel="twilio_sms",
    ),
    FunctionSpec(
        name="processor",
        description="Resolves, links and stores queued contacts",
        source=Source.INGEST_QUEUE,
        access=frozenset({Access.TABLE_READ, Access.TABLE_WRITE}),
        memory_mb=512,
        timeout_s=30,
    ),
    FunctionSpec(
        name="api",
        description="Read/write API for CRMs and agent tools (/v1)",
        routes=API_READS,
        access=frozenset({Access.TABLE_READ}),
        memory_mb=512,
        timeout_s=15,
    ),
)


def enabled_functions(disabled_channels: frozenset[str] = frozenset()) -> tuple[FunctionSpec, ...]:
    """The functions to build: a disabled channel has no function and no route."""
    return tuple(spec for spec in FUNCTIONS if spec.channel is None or spec.channel not in disabled_channels)
