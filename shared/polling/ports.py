"""What the X poller talks to: X, the token vault, its store. Adapters implement these structurally.

`shared.adapters.x_api.XApiClient`, `shared.adapters.token_vault.SecretsManagerTokenVault`
and `shared.adapters.dynamo.x_polling.DynamoXPollingStore` are the real ones;
tests/fakes_x.py holds in-memory ones that keep the same conditions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from shared.model.x_polling import ApiAnswer, OAuthTokens, PollingState, StoredTokens, Stream, StreamCursor, TokenGrant


class XApi(Protocol):
    def get(self, path: str, query: Mapping[str, str], access_token: str) -> ApiAnswer: ...

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> TokenGrant:
        """Raises TokenRejected when X refuses the refresh token."""
        ...


class TokenVault(Protocol):
    def read(self) -> StoredTokens: ...

    def replace(self, previous: StoredTokens, tokens: OAuthTokens) -> StoredTokens:
        """Raises ConditionFailed when `previous` is no longer the version to replace."""
        ...


class PollingStore(Protocol):
    def state(self, account_id: str, streams: Iterable[Stream]) -> PollingState: ...

    def save_cursor(self, account_id: str, cursor: StreamCursor) -> StreamCursor:
        """Raises ConditionFailed when the cursor moved since `cursor.version` was read."""
        ...

    def take_request(
        self, account_id: str, month: str, *, request_cap: int, resource_cap: int, now: datetime
    ) -> bool: ...

    def add_resources(self, account_id: str, month: str, count: int) -> None: ...

    def claim_refresh(self, account_id: str, token_version: str, until: datetime, *, now: datetime) -> bool:
        """True for the one run that may refresh `token_version` (until the claim expires)."""
        ...

    def mark_revoked(self, account_id: str, token_version: str, now: datetime) -> None: ...
