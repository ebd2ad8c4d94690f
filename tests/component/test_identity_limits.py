"""Per-kind identifier limits: an identifier beyond its kind's limit is not attached, and the contact says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3

from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.dynamo.identity import DynamoIdentityStore
from shared.config import Settings, get_settings
from shared.linking.merging import Merging
from shared.linking.processor import ContactProcessor
from shared.model import identifiers, minted
from shared.model.contact import Assurance, Channel, Contact, Direction, IdentifierKind, Party, Provider
from tests.conftest import Account

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ACCOUNT = "acct_1001"


def app_message(event_id: str, phone: str, at: datetime) -> Contact:
    """What the app channel makes of a logged-in message: the account and the phone it verified."""
    return Contact(
        contact_id=minted.contact_id("app", event_id, at),
        channel=Channel.APP,
        provider=Provider.APP,
        direction=Direction.INBOUND,
        provider_message_id=event_id,
        occurred_at=at,
        received_at=at,
        sender=Party(
            identifiers=(
                identifiers.account(IdentifierKind.APP, ACCOUNT),
                identifiers.phone(phone, "US", Assurance.VERIFIED),
            )
        ),
        recipient=Party(),
    )


def processor(aws: Account, settings: Settings) -> ContactProcessor:
    client = boto3.client("dynamodb")
    return ContactProcessor(DynamoStore(client, aws.table), settings, Merging(DynamoIdentityStore(client, aws.table)))


def phones_of(customer_id: str) -> set[str]:
    store = DynamoStore(boto3.client("dynamodb"), get_settings().table_name)
    return {i.identifier.value for i in store.customer_identities(customer_id) if i.identifier.kind.value == "phone"}


def test_default_limits_are_five_phones_and_ten_emails() -> None:
    assert Settings.from_environ({}).identifier_limits == {"phone": 5, "email": 10}
    assert Settings.from_environ({"THREADLINE_IDENTIFIER_LIMITS": "phone=2"}).identifier_limits["phone"] == 2


def test_phone_over_the_limit_is_not_attached_and_the_contact_is_flagged(aws: Account) -> None:
    # Given a customer carrying as many phones as the limit allows
    limited = processor(aws, Settings.from_environ({"THREADLINE_IDENTIFIER_LIMITS": "phone=1"}))
    first = app_message("evt_1", "+14155550123", T0)
    limited.process(first)

    # When the same account reports another verified phone
    second = app_message("evt_2", "+14155550124", T0 + timedelta(hours=1))
    result = limited.process(second)

    # Then the contact is the customer's, the phone is left unattached, and the link evidence says why
    stored = DynamoStore(boto3.client("dynamodb"), aws.table).get_contact(second.contact_id)
    assert stored is not None and stored.customer_id and stored.link
    assert result.over_limit
    assert "phone over the identifier limit" in stored.link.customer_evidence
    assert phones_of(stored.customer_id) == {"+14155550123"}


def test_phone_within_the_limit_is_attached(aws: Account) -> None:
    within = processor(aws, get_settings())
    within.process(app_message("evt_1", "+14155550123", T0))
    result = within.process(app_message("evt_2", "+14155550124", T0 + timedelta(hours=1)))

    stored = DynamoStore(boto3.client("dynamodb"), aws.table).get_contact(
        app_message("evt_2", "+14155550124", T0 + timedelta(hours=1)).contact_id
    )
    assert stored is not None and stored.customer_id
    assert not result.over_limit
    assert phones_of(stored.customer_id) == {"+14155550123", "+14155550124"}


def test_a_new_customer_gets_no_more_than_the_limit_either(aws: Account) -> None:
    none_allowed = processor(aws, Settings.from_environ({"THREADLINE_IDENTIFIER_LIMITS": "phone=0"}))
    result = none_allowed.process(app_message("evt_1", "+14155550123", T0))

    stored = DynamoStore(boto3.client("dynamodb"), aws.table).get_contact(result.contact_id)
    assert stored is not None and stored.customer_id
    assert result.over_limit and phones_of(stored.customer_id) == set()
