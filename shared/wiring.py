"""Where adapters meet use cases: the cached factories every entry point builds its objects with.

Nothing is created at import time, and each factory imports only what it
builds, so a webhook never pays for the DynamoDB adapter or the merge use case
it does not use. Tests call `clear()` after changing the environment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.config import clear_caches, get_secret, get_settings, secret_arn

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from mypy_boto3_dynamodb import DynamoDBClient

    from shared.adapters.dynamo.admin import AdminStore
    from shared.adapters.dynamo.contacts import DynamoStore
    from shared.adapters.dynamo.identity import DynamoIdentityStore
    from shared.adapters.dynamo.replies import DynamoReplyStore
    from shared.adapters.eventbridge import EventPublisher
    from shared.adapters.s3 import Mailbox
    from shared.adapters.sns import SnsHttp, TrustedTestCertificate
    from shared.adapters.sqs import FifoQueue
    from shared.api.commands import Commands
    from shared.api.queries import Queries
    from shared.linking.merging import Merging
    from shared.linking.processor import ContactProcessor
    from shared.polling.poller import XPoller
    from shared.polling.tokens import AccessTokens
    from shared.replies.commands import Replies, ReplyRequest
    from shared.replies.ports import Courier
    from shared.replies.sending import Sender


def _dynamodb() -> DynamoDBClient:
    import boto3

    return boto3.client("dynamodb")


@functools.cache
def get_store() -> DynamoStore:
    from shared.adapters.dynamo.contacts import DynamoStore

    return DynamoStore(_dynamodb(), get_settings().table_name)


@functools.cache
def get_identity_store() -> DynamoIdentityStore:
    from shared.adapters.dynamo.identity import DynamoIdentityStore

    return DynamoIdentityStore(_dynamodb(), get_settings().table_name)


@functools.cache
def get_admin_store() -> AdminStore:
    from shared.adapters.dynamo.admin import AdminStore

    return AdminStore(_dynamodb(), get_settings().table_name)


@functools.cache
def get_merging() -> Merging:
    from shared.linking.merging import Merging

    return Merging(get_identity_store())


@functools.cache
def get_contact_processor() -> ContactProcessor:
    from shared.linking.processor import ContactProcessor

    return ContactProcessor(get_store(), get_settings(), get_merging())


@functools.cache
def get_queries() -> Queries:
    from shared.api.queries import Queries

    return Queries(get_admin_store(), lambda customer_id: get_merging().resolve_customer_id(customer_id))


@functools.cache
def get_commands() -> Commands:
    from shared.api.commands import Commands

    return Commands(get_admin_store(), get_merging, default_region=get_settings().default_region)


@functools.cache
def get_ingest_queue() -> FifoQueue:
    import boto3

    from shared.adapters.sqs import FifoQueue

    return FifoQueue(boto3.client("sqs"), get_settings().queue_url)


@functools.cache
def get_outbound_queue() -> FifoQueue:
    import boto3

    from shared.adapters.sqs import FifoQueue

    return FifoQueue(boto3.client("sqs"), get_settings().outbound_queue_url)


@functools.cache
def get_reply_store() -> DynamoReplyStore:
    from shared.adapters.dynamo.replies import DynamoReplyStore

    return DynamoReplyStore(_dynamodb(), get_settings().table_name)


@functools.cache
def get_replies() -> Replies:

    from shared.replies.commands import Replies

    settings = get_settings()
    return Replies(
        get_reply_store(),
        get_outbound_queue,
        default_region=settings.default_region,
        email_from=settings.reply_email_from,
    )


class ReplyOnce:
    """A reply with an Idempotency-Key, through Powertools' idempotency utility: a retried request answers
    the reply the first one made (24 h), a reused key with another body is refused, a concurrent one waits.

    The record holds the reply's contact id only (no personal data); the route reads the reply itself.
    """

    def __init__(self, reply: Callable[..., str], config: IdempotencyConfig) -> None:
        self._reply = reply
        self._config = config

    def __call__(self, case_id: str, request: ReplyRequest, idempotency_key: str, context: Any) -> str:
        self._config.register_lambda_context(context)  # an in-progress record expires with this invocation
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        from shared.replies.commands import IdempotencyKeyReused, RequestInProgress

        data = {"case_id": case_id, "key": idempotency_key, "request": request.model_dump(mode="json")}
        try:
            return self._reply(data=data)
        except IdempotencyValidationError:
            raise IdempotencyKeyReused(idempotency_key) from None
        except IdempotencyAlreadyInProgressError:
            raise RequestInProgress(idempotency_key) from None


@functools.cache
def get_reply_once() -> ReplyOnce:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from shared.replies.commands import ReplyRequest

    persistence = DynamoDBPersistenceLayer(
        table_name=get_settings().table_name,
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value="IDEMPOTENCY#replies",
        expiry_attr="expires_at",  # the table's TTL attribute
        boto3_client=_dynamodb(),
    )
    config = IdempotencyConfig(
        event_key_jmespath="[case_id, key]",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=24 * 3600,
    )
    replies = get_replies()

    @idempotent_function(data_keyword_argument="data", persistence_store=persistence, config=config)
    def reply(data: dict[str, Any]) -> str:
        request = ReplyRequest.model_validate(data["request"])
        return replies.reply(data["case_id"], request, data["key"]).contact_id

    return ReplyOnce(reply, config)


@functools.cache
def get_sender() -> Sender:
    from shared.replies.sending import Sender

    return Sender(get_reply_store(), _Couriers())


class _Couriers(dict[str, "Courier"]):
    """A courier per provider, built when a reply of that provider is first sent (a cold start pays for none)."""

    def __missing__(self, provider: str) -> Courier:
        courier = self[provider] = _courier(provider)
        return courier

    def get(self, provider: str, default: Courier | None = None) -> Courier | None:  # type: ignore[override]
        try:
            return self[provider]
        except KeyError:
            return default


def _courier(provider: str) -> Courier:
    from shared.adapters.https import UrllibTransport, require_https
    from shared.replies.couriers import MailCourier, RestCourier, SmsCourier

    settings = get_settings()
    if provider == "twilio":
        from shared.replies.providers.twilio import TwilioMessages

        twilio = TwilioMessages(
            require_https(settings.twilio_api_url, "Twilio"),
            account_sid=lambda: get_secret("TWILIO_ACCOUNT_SID"),
            auth_token=lambda: get_secret("TWILIO_AUTH_TOKEN"),
            public_url=settings.public_url,
        )
        return RestCourier(twilio, UrllibTransport())
    if provider == "meta":
        from shared.replies.providers.meta import MetaMessages, page_tokens

        meta = MetaMessages(
            require_https(settings.graph_api_url, "Graph"),
            settings.graph_api_version,
            page_tokens=lambda: page_tokens(get_secret("META_PAGE_TOKENS")),
            whatsapp_token=lambda: get_secret("WHATSAPP_ACCESS_TOKEN"),
        )
        return RestCourier(meta, UrllibTransport())
    if provider == "x":
        from shared.replies.providers.x import XMessages

        tokens = _XUserTokens(_x_tokens("X_OAUTH2_CLIENT_SECRET", "X_OAUTH2_TOKENS"))
        return RestCourier(XMessages(require_https(settings.x_api_url, "X"), tokens), UrllibTransport())
    if provider == "ses":
        from shared.adapters.aws_senders import SesMailer

        mailer = SesMailer(
            _aws_sender_client("sesv2"),
            configuration_set=settings.ses_configuration_set or None,
            identity_arn=settings.ses_identity_arn or None,
        )
        return MailCourier(mailer, settings.reply_email_from)
    if provider == "eum":
        from shared.adapters.aws_senders import EumTextSender

        client = _aws_sender_client("pinpoint-sms-voice-v2")
        return SmsCourier(EumTextSender(client, configuration_set=settings.eum_configuration_set or None))
    raise KeyError(provider)


def _aws_sender_client(service: str) -> Any:
    """SDK retries off: a send the SDK repeated after a timeout could reach the customer twice."""
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries={"total_max_attempts": 1}))  # type: ignore[call-overload]


class _XUserTokens:
    """The X poller's token keeper, as the X courier asks for a token (no refused version to honour)."""

    def __init__(self, tokens: AccessTokens) -> None:
        self._tokens = tokens

    def current(self, now: datetime) -> str:
        return self._tokens.current(now, refused_version=None)

    def after_unauthorized(self, rejected: str, now: datetime) -> str:
        return self._tokens.after_unauthorized(rejected, now)


@functools.cache
def get_mailbox() -> Mailbox:
    from shared.adapters.s3 import Mailbox

    return Mailbox(get_settings().mail_bucket)


@functools.cache
def get_sns_endpoint() -> SnsHttp | TrustedTestCertificate:
    """The test certificate when one is configured (never on Lambda, see config), else SNS itself."""
    from shared.adapters.sns import SnsHttp, TrustedTestCertificate

    test_pem = get_settings().sns_test_cert_pem
    return TrustedTestCertificate(test_pem) if test_pem else SnsHttp()


@functools.cache
def get_event_publisher() -> EventPublisher:
    """The bus the stack names; without one, the local JSON Lines file."""
    from pathlib import Path

    import boto3

    from shared.adapters.eventbridge import EventBridgePublisher, JsonLinesPublisher

    settings = get_settings()
    if settings.event_bus:
        return EventBridgePublisher(boto3.client("events"), settings.event_bus)
    return JsonLinesPublisher(Path(settings.events_file), settings.events_post_url or None)


def _x_tokens(client_secret: str, token_secret: str) -> AccessTokens:
    """The support account's OAuth 2.0 tokens: one keeper for the poller and the sender (one refresh protocol)."""
    import boto3

    from shared.adapters.dynamo.x_polling import DynamoXPollingStore
    from shared.adapters.token_vault import SecretsManagerTokenVault
    from shared.adapters.x_api import XApiClient
    from shared.polling.tokens import AccessTokens

    settings = get_settings()
    return AccessTokens(
        SecretsManagerTokenVault(boto3.client("secretsmanager"), secret_arn(token_secret)),
        XApiClient(settings.x_api_url),
        DynamoXPollingStore(_dynamodb(), settings.table_name),
        account_id=settings.x_user_id,
        client_id=settings.x_client_id,
        client_secret=lambda: get_secret(client_secret),
    )


@functools.cache
def get_x_poller(*, client_secret: str, token_secret: str) -> XPoller:
    """The X poller; the handler names the two secrets it reads (the client's, the rotating tokens')."""
    from shared.adapters.dynamo.x_polling import DynamoXPollingStore
    from shared.adapters.x_api import XApiClient
    from shared.model.x_polling import Stream
    from shared.polling.poller import PollerSettings, XPoller

    settings = get_settings()
    poller_settings = PollerSettings(
        account_id=settings.x_user_id,
        page_sizes={Stream.MENTIONS: settings.x_mentions_page_size, Stream.DM_EVENTS: settings.x_dm_page_size},
        max_pages=settings.x_max_pages,
        monthly_request_cap=settings.x_monthly_request_cap,
        monthly_resource_cap=settings.x_monthly_resource_cap,
    )
    store = DynamoXPollingStore(_dynamodb(), settings.table_name)
    tokens = _x_tokens(client_secret, token_secret)
    return XPoller(XApiClient(settings.x_api_url), store, get_ingest_queue, tokens, poller_settings)


FACTORIES = (
    get_store,
    get_identity_store,
    get_admin_store,
    get_merging,
    get_contact_processor,
    get_queries,
    get_commands,
    get_ingest_queue,
    get_mailbox,
    get_sns_endpoint,
    get_event_publisher,
    get_x_poller,
    get_outbound_queue,
    get_reply_store,
    get_replies,
    get_reply_once,
    get_sender,
)


def clear() -> None:
    """Forget every object built so far (and the settings): the next call builds it from the environment."""
    clear_caches()
    for factory in FACTORIES:
        factory.cache_clear()
