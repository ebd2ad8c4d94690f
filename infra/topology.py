"""The one declaration of Threadline's functions, routes, event sources, secrets and samples (DESIGN.md section 6).

The CDK app turns it into AWS resources; the local runtime turns it into one
process; `threadline send` finds its samples here and the tests their secrets.
None of them keeps a list of its own, so they cannot drift. Adding a channel is
one `FunctionSpec` (docs/architecture.md, "Adding a channel").
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Literal

from shared.model.contact import Provider


class Source(Enum):
    """What invokes a function besides HTTP routes; `SOURCE_KINDS` says how each is built and run locally."""

    INGEST_QUEUE = "ingest_queue"  # the FIFO ingest queue (SQS batch, partial failures)
    CONNECT_STREAM = "connect_stream"  # Amazon Connect contact records on a Kinesis data stream
    EUM_SMS_TOPIC = "eum_sms_topic"  # AWS End User Messaging inbound SMS on an SNS topic
    TABLE_STREAM = "table_stream"  # the table's DynamoDB stream (events for CRM sync)
    SES_RECEIPT_TOPIC = "ses_receipt_topic"  # SES receipt notifications, delivered by SNS over HTTPS to a route
    SCHEDULE = "schedule"  # a fixed rate: EventBridge Scheduler deployed, a timer thread locally
    OUTBOUND_QUEUE = "outbound_queue"  # the FIFO outbound queue: replies to send, delivery reports, consent


@dataclass(frozen=True)
class SourceKind:
    """How one `Source` is made in AWS and fed locally, named as `module:attribute` and imported on use.

    `deploy(sources: EventSources, target: ThreadlineFunction)` wires a function to the
    source in the CDK stack. Locally a source is either polled (`local` builds a
    `Poller`), injected (`local` turns a posted payload into the function's events,
    `POST /_local/inject/<source>`, `threadline inject <inject_name>`), or arrives
    over the function's own HTTP route (`local` is None).
    """

    deploy: str
    local_mode: Literal["poll", "inject", "http"]
    local: str | None = None
    inject_name: str | None = None


SOURCE_KINDS: dict[Source, SourceKind] = {
    Source.INGEST_QUEUE: SourceKind(
        "infra.cdk.sources:attach_ingest_queue", "poll", "infra.local.pollers:ingest_queue"
    ),
    Source.TABLE_STREAM: SourceKind(
        "infra.cdk.sources:attach_table_stream", "poll", "infra.local.pollers:table_stream"
    ),
    Source.CONNECT_STREAM: SourceKind(
        "infra.cdk.sources:attach_connect_stream", "inject", "infra.local.source_events:kinesis_events", "connect"
    ),
    Source.EUM_SMS_TOPIC: SourceKind(
        "infra.cdk.sources:attach_eum_sms_topic", "inject", "infra.local.source_events:sns_events", "eum"
    ),
    Source.SES_RECEIPT_TOPIC: SourceKind("infra.cdk.sources:attach_ses_receipt_topic", "http"),
    Source.SCHEDULE: SourceKind("infra.cdk.schedules:attach_schedule", "poll", "infra.local.timer:schedule"),
    Source.OUTBOUND_QUEUE: SourceKind(
        "infra.cdk.sources:attach_outbound_queue", "poll", "infra.local.pollers:outbound_queue"
    ),
}


def resolve(path: str) -> Any:
    """`package.module:attribute` → the attribute, imported now (CDK and the local runtime never load each other)."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Secret:
    """A signing secret: one Secrets Manager secret per name when deployed, an environment variable locally."""

    name: str
    local_default: str  # public on purpose: `threadline serve` and the tests start with no setup
    help: str
    deployed: bool = True  # False: only the local stack reads it (the /v1 API key; deployed, IAM guards /v1)
    # True: the function writes it back (a rotated OAuth refresh token). Deployed it may PutSecretValue on
    # this one secret; locally it lives in the embedded Secrets Manager, seeded with `local_default`.
    writable: bool = False


@dataclass(frozen=True)
class Sample:
    """A correctly signed sample of a provider's webhook: `threadline send <name>` (infra/local/samples)."""

    name: str
    builder: str  # `module:function`, taking `SampleOptions` and answering a `SignedRequest`
    # `threadline send <name> --mode polling`: the same message, put into the provider's sandbox for a poller.
    polled: str | None = None


class Access(Enum):
    """What a function may touch; the stack grants exactly these and nothing more."""

    TABLE_READ = "table_read"
    TABLE_WRITE = "table_write"
    QUEUE_SEND = "queue_send"
    MAIL_BUCKET_READ = "mail_bucket_read"  # raw inbound email that SES stored in S3
    MAIL_BUCKET_WRITE = "mail_bucket_write"  # attachment bytes, kept out of DynamoDB
    EVENT_BUS_PUT = "event_bus_put"  # publish CRM sync events
    X_POLLING_STATE = "x_polling_state"  # the X poller's own items (XPOLL# partitions) and nothing else of the table
    OUTBOUND_QUEUE_SEND = "outbound_queue_send"  # queue a reply, a delivery report or a consent change
    SES_SEND = "ses_send"  # ses:SendEmail (raw) from the configured identity only
    EUM_SEND = "eum_send"  # End User Messaging SendTextMessage


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
    secrets: tuple[Secret, ...] = ()
    channel: str | None = None  # a webhook of a channel that cdk.json may disable
    provider: Provider | None = None  # the `Contact.provider` of what it receives
    samples: tuple[Sample, ...] = ()
    schedule_minutes: int | None = None  # Source.SCHEDULE: the default rate (cdk.json may change it)
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

TWILIO_AUTH_TOKEN = Secret(
    "TWILIO_AUTH_TOKEN", "dev-twilio-auth-token", "Twilio auth token that signs SMS and voice webhooks"
)
META_APP_SECRET = Secret("META_APP_SECRET", "dev-meta-app-secret", "Meta app secret that signs X-Hub-Signature-256")
META_VERIFY_TOKEN = Secret(
    "META_VERIFY_TOKEN", "dev-meta-verify-token", "token Meta echoes in the hub.challenge handshake"
)
X_CONSUMER_SECRET = Secret(
    "X_CONSUMER_SECRET", "dev-x-consumer-secret", "X app consumer secret (CRC and webhook signatures)"
)
X_OAUTH2_CLIENT_SECRET = Secret(
    "X_OAUTH2_CLIENT_SECRET", "dev-x-oauth2-client-secret", "X app OAuth 2.0 client secret (xMode polling)"
)
X_OAUTH2_TOKENS = Secret(
    "X_OAUTH2_TOKENS",
    "dev-x-refresh-token",
    "X OAuth 2.0 refresh token of the support account (xMode polling); the poller rotates it",
    writable=True,
)
TWILIO_ACCOUNT_SID = Secret(
    "TWILIO_ACCOUNT_SID", "dev-twilio-account-sid", "Twilio account SID replies are sent with (with TWILIO_AUTH_TOKEN)"
)
META_PAGE_TOKENS = Secret(
    "META_PAGE_TOKENS",
    "dev-meta-page-token",
    "page access tokens for Send API replies: page_id=token,... (one bare token serves every page)",
)
WHATSAPP_ACCESS_TOKEN = Secret(
    "WHATSAPP_ACCESS_TOKEN", "dev-whatsapp-access-token", "WhatsApp Cloud API (system user) access token for replies"
)
MAILGUN_SIGNING_KEY = Secret("MAILGUN_SIGNING_KEY", "dev-mailgun-signing-key", "Mailgun HTTP webhook signing key")
SENDGRID_INBOUND_TOKEN = Secret(
    "SENDGRID_INBOUND_TOKEN", "dev-sendgrid-inbound-token", "secret token guarding the SendGrid Inbound Parse route"
)
APP_WEBHOOK_SECRET = Secret(
    "APP_WEBHOOK_SECRET", "dev-app-webhook-secret", "secret that signs first-party app webhooks"
)
API_KEY = Secret("THREADLINE_API_KEY", "dev-api-key", "x-api-key the local /v1 API expects", deployed=False)

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
    Route("POST", "/v1/cases/{case_id}/replies"),
)

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="app",
        description="First-party app webhook (HMAC-signed JSON with verified identifiers)",
        routes=(Route("POST", "/webhooks/app"),),
        access=WEBHOOK_ACCESS,
        secrets=(APP_WEBHOOK_SECRET,),
        channel="app",
        provider=Provider.APP,
        samples=(Sample("app", "infra.local.samples.app:build"),),
    ),
    FunctionSpec(
        name="twilio_sms",
        description="Twilio Messaging webhook (SMS, MMS)",
        routes=(Route("POST", "/webhooks/twilio/sms"),),
        access=WEBHOOK_ACCESS | {Access.OUTBOUND_QUEUE_SEND},  # STOP/START: consent changes for the sender
        secrets=(TWILIO_AUTH_TOKEN,),
        channel="twilio_sms",
        provider=Provider.TWILIO,
        samples=(Sample("twilio-sms", "infra.local.samples.twilio_sms:build"),),
    ),
    FunctionSpec(
        name="meta",
        description="Meta webhook (Messenger, Instagram, WhatsApp Cloud API)",
        routes=(Route("GET", "/webhooks/meta"), Route("POST", "/webhooks/meta")),
        access=WEBHOOK_ACCESS | {Access.OUTBOUND_QUEUE_SEND},  # statuses of our replies, for the sender
        secrets=(META_APP_SECRET, META_VERIFY_TOKEN),
        channel="meta",
        provider=Provider.META,
        samples=(
            Sample("meta-messenger", "infra.local.samples.meta:build_messenger"),
            Sample("meta-instagram", "infra.local.samples.meta:build_instagram"),
            Sample("meta-whatsapp", "infra.local.samples.meta:build_whatsapp"),
        ),
    ),
    FunctionSpec(
        name="x",
        description="X Account Activity API webhook (DMs, mentions, replies)",
        routes=(Route("GET", "/webhooks/x"), Route("POST", "/webhooks/x")),
        access=WEBHOOK_ACCESS,
        secrets=(X_CONSUMER_SECRET,),
        channel="x",
        provider=Provider.X,
        samples=(
            Sample("x-dm", "infra.local.samples.x:build_dm", polled="infra.local.samples.x:dm_in_sandbox"),
            Sample(
                "x-mention", "infra.local.samples.x:build_mention", polled="infra.local.samples.x:mention_in_sandbox"
            ),
        ),
    ),
    # xMode polling: X API v2 read on a schedule where X sells no webhooks (docs/channels/x.md).
    FunctionSpec(
        name="x_poller",
        description="Reads X mentions and DMs through X API v2 on a schedule (xMode polling)",
        source=Source.SCHEDULE,
        schedule_minutes=1,
        access=frozenset({Access.QUEUE_SEND, Access.X_POLLING_STATE}),
        secrets=(X_OAUTH2_CLIENT_SECRET, X_OAUTH2_TOKENS),
        channel="x_polling",
        provider=Provider.X,
        # Below the schedule's minute, so one run ends before the next begins.
        timeout_s=50,
    ),
    FunctionSpec(
        name="twilio_voice",
        description="Twilio Voice webhook (incoming call, status, recording and transcription callbacks)",
        routes=(Route("POST", "/webhooks/twilio/voice"),),
        access=WEBHOOK_ACCESS,
        secrets=(TWILIO_AUTH_TOKEN,),
        channel="twilio_voice",
        provider=Provider.TWILIO,
        samples=(Sample("twilio-voice", "infra.local.samples.twilio_voice:build"),),
    ),
    # Email: MIME parsing of messages up to THREADLINE_MAX_EMAIL_BYTES wants memory (and the
    # CPU that comes with it); SNS and the providers give up on a call after about 15-30 s.
    FunctionSpec(
        name="ses",
        description="Amazon SES inbound mail via SNS (subscription confirmation, signature v1/v2)",
        routes=(Route("POST", "/webhooks/ses"),),
        source=Source.SES_RECEIPT_TOPIC,
        # OUTBOUND_QUEUE_SEND: SES events of our email replies arrive on this route too.
        access=WEBHOOK_ACCESS | {Access.MAIL_BUCKET_READ, Access.MAIL_BUCKET_WRITE, Access.OUTBOUND_QUEUE_SEND},
        channel="ses",
        provider=Provider.SES,
        samples=(Sample("ses-email", "infra.local.samples.ses:build"),),
        memory_mb=1024,
        timeout_s=25,
    ),
    FunctionSpec(
        name="sendgrid",
        description="SendGrid Inbound Parse webhook (parsed and raw mode)",
        routes=(Route("POST", "/webhooks/sendgrid"),),
        access=WEBHOOK_ACCESS | {Access.MAIL_BUCKET_WRITE},
        secrets=(SENDGRID_INBOUND_TOKEN,),
        channel="sendgrid",
        provider=Provider.SENDGRID,
        samples=(Sample("sendgrid-email", "infra.local.samples.sendgrid:build"),),
        memory_mb=1024,
        timeout_s=25,
    ),
    FunctionSpec(
        name="mailgun",
        description="Mailgun route forwards (body-mime or parsed fields)",
        routes=(Route("POST", "/webhooks/mailgun"), Route("POST", "/webhooks/mailgun/mime")),
        access=WEBHOOK_ACCESS | {Access.MAIL_BUCKET_WRITE},
        secrets=(MAILGUN_SIGNING_KEY,),
        channel="mailgun",
        provider=Provider.MAILGUN,
        samples=(Sample("mailgun-email", "infra.local.samples.mailgun:build"),),
        memory_mb=1024,
        timeout_s=25,
    ),
    FunctionSpec(
        name="connect",
        description="Amazon Connect contact records from the Kinesis data stream",
        source=Source.CONNECT_STREAM,
        access=frozenset({Access.QUEUE_SEND}),
        channel="connect",
        provider=Provider.CONNECT,
        timeout_s=30,
    ),
    FunctionSpec(
        name="eum",
        description="AWS End User Messaging inbound SMS from the SNS topic",
        source=Source.EUM_SMS_TOPIC,
        access=frozenset({Access.QUEUE_SEND, Access.OUTBOUND_QUEUE_SEND}),  # STOP/START: consent changes
        channel="eum",
        provider=Provider.EUM,
    ),
    FunctionSpec(
        name="processor",
        description="Resolves, links and stores queued contacts",
        source=Source.INGEST_QUEUE,
        access=frozenset({Access.TABLE_READ, Access.TABLE_WRITE}),
        memory_mb=512,
        timeout_s=30,
    ),
    # Replies (docs/api.md, "Replies"): /v1 stores and queues them; the sender sends them and applies the
    # providers' reports; the status webhooks queue those reports.
    FunctionSpec(
        name="twilio_status",
        description="Twilio status callbacks of our replies (queued, sent, delivered, undelivered, failed, read)",
        routes=(Route("POST", "/webhooks/twilio/status"),),
        access=frozenset({Access.OUTBOUND_QUEUE_SEND}),
        secrets=(TWILIO_AUTH_TOKEN,),
        channel="twilio_sms",
        provider=Provider.TWILIO,
    ),
    FunctionSpec(
        name="sender",
        description="Sends replies through their providers; applies delivery reports and SMS consent changes",
        source=Source.OUTBOUND_QUEUE,
        access=frozenset(
            {Access.TABLE_READ, Access.TABLE_WRITE, Access.SES_SEND, Access.EUM_SEND, Access.X_POLLING_STATE}
        ),
        secrets=(
            TWILIO_ACCOUNT_SID,
            TWILIO_AUTH_TOKEN,
            META_PAGE_TOKENS,
            WHATSAPP_ACCESS_TOKEN,
            X_OAUTH2_CLIENT_SECRET,
            X_OAUTH2_TOKENS,
        ),
        # A provider call has 10 s to answer; a batch is small.
        timeout_s=30,
    ),
    FunctionSpec(
        name="api",
        description="Read/write API for CRMs and agent tools (/v1)",
        routes=API_READS + API_WRITES,
        access=frozenset({Access.TABLE_READ, Access.TABLE_WRITE, Access.OUTBOUND_QUEUE_SEND}),
        secrets=(API_KEY,),
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


XMode = Literal["webhook", "polling", "both", "off"]
# How X reaches us (cdk.json `xMode`, THREADLINE_X_MODE locally): the channels each mode builds.
# `both` runs the two during a migration; a post or DM either brings is stored once.
X_MODE_CHANNELS: dict[str, frozenset[str]] = {
    "webhook": frozenset({"x"}),
    "polling": frozenset({"x_polling"}),
    "both": frozenset({"x", "x_polling"}),
    "off": frozenset(),
}


def enabled_functions(
    disabled_channels: frozenset[str] = frozenset(), x_mode: XMode = "webhook"
) -> tuple[FunctionSpec, ...]:
    """The functions to build: a disabled channel has no function and no route."""
    disabled = disabled_channels | (X_MODE_CHANNELS["both"] - X_MODE_CHANNELS[x_mode])
    enabled = tuple(spec for spec in FUNCTIONS if spec.channel is None or spec.channel not in disabled)
    if not X_MODE_CHANNELS["both"] - disabled:
        # No X at all: no X secret either (the sender would only need them for X replies).
        x_secrets = {X_OAUTH2_CLIENT_SECRET, X_OAUTH2_TOKENS}
        enabled = tuple(replace(spec, secrets=tuple(s for s in spec.secrets if s not in x_secrets)) for spec in enabled)
    return enabled


def secrets(functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> dict[str, Secret]:
    """Every secret the functions read, by name (two functions may share one)."""
    return {secret.name: secret for spec in functions for secret in spec.secrets}


def local_secret(name: str, environ: Mapping[str, str] = os.environ) -> str:
    """What a local client signs with (samples, the demo, the journeys): the shell's value, else the public one."""
    return environ.get(name) or secrets()[name].local_default


def local_secret_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Each secret as the environment gives it, else its public development value (local runs and tests only)."""
    return {name: environ.get(name) or secret.local_default for name, secret in secrets().items()}


def samples(functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> dict[str, Sample]:
    """Every sample webhook, by the name `threadline send` takes."""
    return {sample.name: sample for spec in functions for sample in spec.samples}
