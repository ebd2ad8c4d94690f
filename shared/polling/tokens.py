"""The X access token of a run: the stored one while it lasts, else a refresh whose result is never lost.

X's OAuth 2.0 access tokens live about two hours; the refresh token that buys
the next one is rotated with every refresh, the old one stops working, and
sending a spent one again may end the whole grant. So:

- only one run refreshes a given token version: it claims the refresh in the
  table first (a conditional write); a run that loses the claim re-reads the
  vault until the winner's tokens appear, and never calls X with the old one;
- the refresh is written back to the vault as the successor of the version it
  was read at, which only one writer can create (`SecretsManagerTokenVault`):
  a writer that loses (the claim had expired, an operator stored a token
  meanwhile) re-reads and uses what is stored;
- X refuses our refresh token and nobody moved the vault: the grant is revoked
  (or was never valid). The version is marked refused and every run after this
  one stops before calling X, until an operator stores a new token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn

from shared.model.failures import ConditionFailed, DependencyUnavailable, TokenRejected
from shared.model.x_polling import StoredTokens
from shared.polling.ports import PollingStore, TokenVault, XApi

REFRESH_MARGIN = timedelta(minutes=5)  # refresh a little early: a run must not outlive its token
REFRESH_CLAIM = timedelta(seconds=30)  # how long a claim holds if its run dies before writing
AWAIT_READS = 10  # a run that lost the claim re-reads the vault this often ...
AWAIT_PAUSE_S = 0.5  # ... this far apart, for the winner's tokens


class TokenBusy(DependencyUnavailable):
    """Another run is refreshing and its tokens did not appear in time: this run ends; the next one uses them."""


class AuthRevoked(RuntimeError):
    """X refused the stored grant; polling stops until a new refresh token is stored."""


class AccessTokens:
    def __init__(
        self,
        vault: TokenVault,
        api: XApi,
        store: PollingStore,
        *,
        account_id: str,
        client_id: str,
        client_secret: Callable[[], str],
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self._vault = vault
        self._api = api
        self._store = store
        self._account_id = account_id
        self._client_id = client_id
        self._client_secret = client_secret  # read only when a refresh needs it
        self._pause = pause

    def current(self, now: datetime, *, refused_version: str | None) -> str:
        """A usable access token; AuthRevoked when the stored grant is the one X refused before."""
        stored = self._vault.read()
        if stored.version == refused_version:
            raise AuthRevoked("the stored X token was refused; store a new one (docs/channels/x.md)")
        if stored.tokens.usable(now, REFRESH_MARGIN) and stored.tokens.access_token:
            return stored.tokens.access_token
        return self._refresh(stored, now)

    def after_unauthorized(self, rejected: str, now: datetime) -> str:
        """X answered 401 to `rejected`: use a newer stored token if there is one, else refresh once."""
        stored = self._vault.read()
        access = stored.tokens.access_token
        if access and access != rejected and stored.tokens.usable(now, REFRESH_MARGIN):
            return access
        return self._refresh(stored, now)

    def give_up(self, rejected: str, now: datetime) -> NoReturn:
        """X refused even a fresh token: the grant is revoked; mark it so the next runs do not ask again."""
        stored = self._vault.read()
        if stored.tokens.access_token == rejected:
            self._store.mark_revoked(self._account_id, stored.version, now)
        raise AuthRevoked("X refused a freshly refreshed token")

    def _refresh(self, stored: StoredTokens, now: datetime) -> str:
        if not self._store.claim_refresh(self._account_id, stored.version, now + REFRESH_CLAIM, now=now):
            return self._await_successor(stored)
        try:
            grant = self._api.refresh(self._client_id, self._client_secret(), stored.tokens.refresh_token)
        except TokenRejected:
            latest = self._vault.read()
            if latest.version != stored.version and latest.tokens.access_token:
                return latest.tokens.access_token  # another run rotated first: X honours its grant
            self._store.mark_revoked(self._account_id, stored.version, now)
            raise AuthRevoked("X refused the refresh token; store a new one (docs/channels/x.md)") from None
        tokens = stored.tokens.after(grant, now)  # X rotated the refresh token: this write must not be lost
        try:
            self._vault.replace(stored, tokens)
        except ConditionFailed:
            latest = self._vault.read()  # another run stored its grant first: that one is the account's now
            if latest.tokens.access_token:
                return latest.tokens.access_token
        return grant.access_token

    def _await_successor(self, stored: StoredTokens) -> str:
        """Another run holds the refresh of this version: wait for the tokens it stores."""
        for _ in range(AWAIT_READS):
            self._pause(AWAIT_PAUSE_S)
            latest = self._vault.read()
            if latest.version != stored.version and latest.tokens.access_token:
                return latest.tokens.access_token
        raise TokenBusy("another run is refreshing the X token")
