"""Where adapters meet use cases: the cached factories every entry point builds its objects with.

Nothing is created at import time, and each factory imports only what it
builds, so a webhook never pays for the DynamoDB adapter or the merge use case
it does not use. Tests call `clear()` after changing the environment.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from shared.config import clear_caches, get_secret, get_settings, secret_arn

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from shared.adapters.dynamo.admin import AdminStore
    from shared.adapters.dynamo.contacts import DynamoStore
    from shared.adapters.dynamo.identity import DynamoIdentityStore
    from shared.adapters.eventbridge import EventPublisher
    from shared.adapters.s3 import Mailbox
    from shared.adapters.sns import SnsHttp, TrustedTestCertificate
    from shared.adapters.sqs import IngestQueue
    from shared.api.commands import Commands
    from shared.api.queries import Queries
    from shared.linking.merging import Merging
    from shared.linking.processor import ContactProcessor
    from shared.polling.poller import XPoller


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
def get_ingest_queue() -> IngestQueue:
    import boto3

    from shared.adapters.sqs import IngestQueue

    return IngestQueue(boto3.client("sqs"), get_settings().queue_url)


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


@functools.cache
def get_x_poller(*, client_secret: str, token_secret: str) -> XPoller:
    """The X poller; the handler names the two secrets it reads (the client's, the rotating tokens')."""
    import boto3

    from shared.adapters.dynamo.x_polling import DynamoXPollingStore
    from shared.adapters.token_vault import SecretsManagerTokenVault
    from shared.adapters.x_api import XApiClient
    from shared.model.x_polling import Stream
    from shared.polling.poller import PollerSettings, XPoller
    from shared.polling.tokens import AccessTokens

    settings = get_settings()
    api = XApiClient(settings.x_api_url)
    store = DynamoXPollingStore(_dynamodb(), settings.table_name)
    vault = SecretsManagerTokenVault(boto3.client("secretsmanager"), secret_arn(token_secret))
    tokens = AccessTokens(
        vault,
        api,
        store,
        account_id=settings.x_user_id,
        client_id=settings.x_client_id,
        client_secret=lambda: get_secret(client_secret),
    )
    poller_settings = PollerSettings(
        account_id=settings.x_user_id,
        page_sizes={Stream.MENTIONS: settings.x_mentions_page_size, Stream.DM_EVENTS: settings.x_dm_page_size},
        max_pages=settings.x_max_pages,
        monthly_request_cap=settings.x_monthly_request_cap,
        monthly_resource_cap=settings.x_monthly_resource_cap,
    )
    return XPoller(api, store, get_ingest_queue, tokens, poller_settings)


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
)


def clear() -> None:
    """Forget every object built so far (and the settings): the next call builds it from the environment."""
    clear_caches()
    for factory in FACTORIES:
        factory.cache_clear()
