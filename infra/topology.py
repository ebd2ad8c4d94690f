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
API_WRITES = (
    Route("POST", "/v1/customers/{customer_id}/identifiers"),
    Route("POST", "/v1/customers/{customer_id}/merge"),
    Route("POST", "/v1/merges/{merge_id}/undo"),
    Route("POST", "/v1/cases/{case_id}/close"),
    Route("POST", "/v1/cases/{case_id}/reopen"),
    Route("DELETE", "/v1/customers/{customer_id}"),
)

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="app",
        description="First-party app webhook (HMAC-signed JSON with verified identifiers)",
        routes=(Route("POST", "/webhooks/app"),),
        access=WEBHOOK_ACCESS,
        secrets=("APP_WEBHOOK_SECRET",),
        channel="app",
    ),
    FunctionSpec(
        name="twilio_sms",
        description="Twilio Messaging webhook (SMS, MMS)",
        routes=(Route("POST", "/webhooks/twilio/sms"),),
        access=WEBHOOK_ACCESS,
        secrets=("TWILIO_AUTH_TOKEN",),
        channel="twilio_sms",
    ),
    FunctionSpec(
        name="meta",
        description="Meta webhook (Messenger, Instagram, WhatsApp Cloud API)",
        routes=(Route("GET", "/webhooks/meta"), Route("POST", "/webhooks/meta")),
        access=WEBHOOK_ACCESS,
        secrets=("META_APP_SECRET", "META_VERIFY_TOKEN"),
        channel="meta",
    ),
    FunctionSpec(
        name="x",
        description="X Account Activity API webhook (DMs, mentions, replies)",
        routes=(Route("GET", "/webhooks/x"), Route("POST", "/webhooks/x")),
        access=WEBHOOK_ACCESS,
        secrets=("X_CONSUMER_SECRET",),
        channel="x",
    ),
    FunctionSpec(
        name="twilio_voice",
        description="Twilio Voice webhook (incoming call, status, recording and transcription callbacks)",
        routes=(Route("POST", "/webhooks/twilio/voice"),),
        access=WEBHOOK_ACCESS,
        secrets=("TWILIO_AUTH_TOKEN",),
        channel="twilio_voice",
    ),
    # Email: MIME parsing of messages up to THREADLINE_MAX_EMAIL_BYTES wants memory (and the
    # CPU that comes with it); SNS and the providers give up on a call after about 15-30 s.
    FunctionSpec(
        name="ses",
        description="Amazon SES inbound mail via SNS (subscription confirmation, signature v1/v2)",
        routes=(Route("POST", "/webhooks/ses"),),
        access=WEBHOOK_ACCESS | {Access.MAIL_BUCKET_READ, Access.MAIL_BUCKET_WRITE},
        channel="ses",
        memory_mb=1024,
        timeout_s=25,
    ),
    FunctionSpec(
        name="sendgrid",
        description="SendGrid Inbound Parse webhook (parsed and raw mode)",
        routes=(Route("POST", "/webhooks/sendgrid"),),
        access=WEBHOOK_ACCESS | {Access.MAIL_BUCKET_WRITE},
        secrets=("SENDGRID_INBOUND_TOKEN",),
        channel="sendgrid",
        memory_mb=1024,
        timeout_s=25,
    ),
    FunctionSpec(
        name="mailgun",
        description="Mailgun route forwards (body-mime or parsed fields)",
        routes=(Route("POST", "/webhooks/mailgun"), Route("POST", "/webhooks/mailgun/mime")),
        access=WEBHOOK_ACCESS | {Access.MAIL_BUCKET_WRITE},
        secrets=("MAILGUN_SIGNING_KEY",),
        channel="mailgun",
        memory_mb=1024,
        timeout_s=25,
    ),
    FunctionSpec(
        name="connect",
        description="Amazon Connect contact records from the Kinesis data stream",
        source=Source.CONNECT_STREAM,
        access=frozenset({Access.QUEUE_SEND}),
        channel="connect",
        timeout_s=30,
    ),
    FunctionSpec(
        name="eum",
        description="AWS End User Messaging inbound SMS from the SNS topic",
        source=Source.EUM_SMS_TOPIC,
        access=frozenset({Access.QUEUE_SEND}),
        channel="eum",
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
        routes=API_READS + API_WRITES,
        access=frozenset({Access.TABLE_READ, Access.TABLE_WRITE}),
        memory_mb=512,
        timeout_s=15,
    ),
    FunctionSpec(
        name="events",
        description="Publishes CRM sync events from the table's stream (docs/events.md)",
        source=Source.TABLE_STREAM,
        access=frozenset({Access.EVENT_BUS_PUT}),
        timeout_s=30,
    ),
)


def enabled_functions(disabled_channels: frozenset[str] = frozenset()) -> tuple[FunctionSpec, ...]:
    """The functions to build: a disabled channel has no function and no route."""
    return tuple(spec for spec in FUNCTIONS if spec.channel is None or spec.channel not in disabled_channels)
