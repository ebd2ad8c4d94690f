"""One contract, two implementations: the X poller's store and token vault, in memory and on moto.

The conditions the poller relies on (a cursor moves only from the version it
was read at, the budget never passes its cap, one refresh claim per token
version, one successor per vault version) are stated once and checked against
the fakes of tests/fakes_x.py and the real adapters, so the unit tests cannot
pass on a fake that drifted.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from shared.adapters.dynamo.x_polling import DynamoXPollingStore
from shared.adapters.token_vault import SecretsManagerTokenVault
from shared.model.failures import ConditionFailed
from shared.model.x_polling import OAuthTokens, Stream, StreamCursor
from shared.polling.ports import PollingStore, TokenVault
from tests.conftest import Account
from tests.fakes_x import InMemoryPollingStore, InMemoryTokenVault

ACCOUNT = "1478523690147852369"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MONTH = "2026-03"


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> PollingStore:
    if request.param == "memory":
        return InMemoryPollingStore()
    account: Account = request.getfixturevalue("aws")
    return DynamoXPollingStore(account.dynamodb, account.table)


@pytest.fixture(params=["memory", "secretsmanager"])
def vault(request: pytest.FixtureRequest) -> TokenVault:
    if request.param == "memory":
        return InMemoryTokenVault.holding("first-refresh-token")
    request.getfixturevalue("aws")
    client = boto3.client("secretsmanager")
    arn = client.create_secret(Name="threadline/test/X_OAUTH2_TOKENS", SecretString="first-refresh-token")["ARN"]
    return SecretsManagerTokenVault(client, arn)


def test_a_cursor_is_created_once_and_moves_only_from_the_version_it_was_read_at(store: PollingStore) -> None:
    fresh = StreamCursor(Stream.MENTIONS)
    saved = store.save_cursor(ACCOUNT, replace(fresh, since_id="100", caught_up_at=T0))

    with pytest.raises(ConditionFailed):
        store.save_cursor(ACCOUNT, replace(fresh, since_id="999"))  # a second "first" write
    moved = store.save_cursor(ACCOUNT, replace(saved, since_id="200", walk_token="abc", blocked_until=T0))
    with pytest.raises(ConditionFailed):
        store.save_cursor(ACCOUNT, replace(saved, since_id="300"))  # read before the move

    state = store.state(ACCOUNT, [Stream.MENTIONS, Stream.DM_EVENTS])
    assert state.cursor(Stream.MENTIONS) == moved
    assert (moved.version, moved.since_id, moved.walk_token) == (2, "200", "abc")
    assert state.cursor(Stream.DM_EVENTS) == StreamCursor(Stream.DM_EVENTS)
    assert state.revoked_token_version is None


def test_the_budget_counts_requests_and_resources_and_refuses_past_either_cap(store: PollingStore) -> None:
    def take() -> bool:
        return store.take_request(ACCOUNT, MONTH, request_cap=3, resource_cap=50, now=T0)

    assert [take(), take()] == [True, True]
    store.add_resources(ACCOUNT, MONTH, 60)
    assert take() is False  # resources are over their cap
    assert store.take_request(ACCOUNT, "2026-04", request_cap=3, resource_cap=50, now=T0)  # a new month
    assert store.take_request(ACCOUNT, MONTH, request_cap=3, resource_cap=100, now=T0)
    assert store.take_request(ACCOUNT, MONTH, request_cap=3, resource_cap=100, now=T0) is False  # 3 requests


def test_one_refresh_claim_per_token_version_until_it_expires(store: PollingStore) -> None:
    until = T0 + timedelta(seconds=30)

    assert store.claim_refresh(ACCOUNT, "v1", until, now=T0)
    assert not store.claim_refresh(ACCOUNT, "v1", until, now=T0 + timedelta(seconds=5))
    assert store.claim_refresh(ACCOUNT, "v2", until, now=T0 + timedelta(seconds=5))  # another version
    assert store.claim_refresh(ACCOUNT, "v2", until + timedelta(minutes=1), now=until + timedelta(seconds=1))


def test_a_refused_token_version_is_remembered(store: PollingStore) -> None:
    store.mark_revoked(ACCOUNT, "v7", T0)

    assert store.state(ACCOUNT, [Stream.MENTIONS]).revoked_token_version == "v7"


def test_a_vault_version_has_one_successor_and_a_retried_write_is_no_conflict(vault: TokenVault) -> None:
    first = vault.read()
    ours = OAuthTokens("refresh-a", "access-a", T0 + timedelta(hours=2))
    theirs = OAuthTokens("refresh-b", "access-b", T0 + timedelta(hours=2))

    stored = vault.replace(first, ours)
    assert vault.replace(first, ours) == stored  # the same write again: already done
    with pytest.raises(ConditionFailed):
        vault.replace(first, theirs)

    current = vault.read()
    assert first.tokens == OAuthTokens("first-refresh-token")  # an operator stores a bare refresh token
    assert current == stored
    assert current.version != first.version
