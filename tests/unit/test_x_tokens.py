"""Refreshing the X OAuth tokens when runs race: one refresh per token version, nothing lost, no false revocation.

Real threads; the interleavings are forced with barriers and events, never with sleeps.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

from infra.topology import X_OAUTH2_TOKENS
from shared.adapters.x_api import XApiClient
from shared.model.x_polling import OAuthTokens, StoredTokens, TokenGrant
from shared.polling.tokens import REFRESH_CLAIM, AccessTokens
from tests.fakes_x import (
    SANDBOX_URL,
    Clock,
    InMemoryPollingStore,
    InMemoryTokenVault,
    SandboxTransport,
    x_sandbox,
)

ACCOUNT = "1478523690147852369"


@dataclass
class LenientX:
    """An X that grants every refresh (some OAuth servers tolerate a reused token for a while)."""

    granted: list[str] = field(default_factory=list)
    hold: threading.Event | None = None  # the first grant waits here before it answers
    answered: threading.Event = field(default_factory=threading.Event)

    def get(self, *_: object) -> object:
        raise AssertionError("no reads in these tests")

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> TokenGrant:
        self.granted.append(refresh_token)
        access = f"access-{len(self.granted)}"
        if len(self.granted) == 1 and self.hold is not None:
            self.answered.set()
            self.hold.wait(10)
        return TokenGrant(access_token=access, expires_in_s=7200, refresh_token=f"refresh-{len(self.granted)}")


def refresher(vault: InMemoryTokenVault, store: InMemoryPollingStore, api: object, **options: object) -> AccessTokens:
    return AccessTokens(
        vault,
        api,  # type: ignore[arg-type]
        store,
        account_id=ACCOUNT,
        client_id="dev-x-client-id",
        client_secret=lambda: "dev-x-oauth2-client-secret",
        **options,  # type: ignore[arg-type]
    )


def first_reads_meet(vault: InMemoryTokenVault) -> None:
    """Each thread's first vault read waits for the other's: both start from the same version."""
    met = threading.Barrier(2, timeout=10)
    local = threading.local()

    def after_read() -> None:
        if not getattr(local, "read", False):
            local.read = True
            met.wait()

    vault.after_read = after_read


def test_two_runs_refreshing_at_once_make_one_refresh_and_the_other_rereads() -> None:
    clock = Clock()
    x = x_sandbox(clock)
    api = XApiClient(SANDBOX_URL, SandboxTransport(x))
    vault, store = InMemoryTokenVault.holding(X_OAUTH2_TOKENS.local_default), InMemoryPollingStore()
    first_reads_meet(vault)
    stored = threading.Event()
    keep = vault.replace

    def replace_and_signal(previous: StoredTokens, tokens: OAuthTokens) -> StoredTokens:
        replaced = keep(previous, tokens)
        stored.set()
        return replaced

    vault.replace = replace_and_signal  # type: ignore[method-assign]
    results: list[str] = []

    def run() -> None:
        tokens = refresher(vault, store, api, pause=lambda _: stored.wait(10))
        results.append(tokens.current(clock(), refused_version=None))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 2
    assert results[0] == results[1]  # the loser uses the winner's token
    assert x.world.requests["oauth2/token"] == 1  # X saw the refresh token once
    assert len(vault.versions) == 2
    assert store.revoked == {}


def test_a_stale_refresher_that_loses_the_vault_write_uses_what_the_winner_stored() -> None:
    clock, x = Clock(), LenientX(hold=threading.Event())
    vault, store = InMemoryTokenVault.holding(X_OAUTH2_TOKENS.local_default), InMemoryPollingStore()
    results: dict[str, str] = {}
    # A claims the refresh, then stalls inside X's answer for longer than its claim lasts.
    slow = threading.Thread(
        target=lambda: results.update(slow=refresher(vault, store, x).current(clock(), refused_version=None))
    )
    slow.start()
    assert x.answered.wait(10)

    later = clock() + REFRESH_CLAIM + timedelta(seconds=1)
    results["fast"] = refresher(vault, store, x).current(later, refused_version=None)
    x.hold.set()  # type: ignore[union-attr]
    slow.join()

    assert results == {"fast": "access-2", "slow": "access-2"}  # the stale one re-read the vault
    assert [stored.tokens.refresh_token for stored in vault.versions] == [X_OAUTH2_TOKENS.local_default, "refresh-2"]


def test_a_refresh_x_refuses_after_another_run_rotated_is_not_a_revocation() -> None:
    clock = Clock()
    x = x_sandbox(clock)
    api = XApiClient(SANDBOX_URL, SandboxTransport(x))
    vault, store = InMemoryTokenVault.holding(X_OAUTH2_TOKENS.local_default), InMemoryPollingStore()
    loser_read, winner_done = threading.Event(), threading.Event()
    results: list[str] = []

    def loser() -> None:
        # Read the old version, then stall past the winner's whole refresh and its claim.
        late = clock() + REFRESH_CLAIM + timedelta(seconds=1)
        results.append(refresher(vault, store, api).current(late, refused_version=None))

    thread = threading.Thread(target=loser)
    local = threading.local()

    def after_read() -> None:
        if threading.current_thread() is thread and not getattr(local, "read", False):
            local.read = True
            loser_read.set()
            winner_done.wait(10)

    vault.after_read = after_read
    thread.start()
    assert loser_read.wait(10)
    winner = refresher(vault, store, api).current(clock(), refused_version=None)
    winner_done.set()
    thread.join()

    assert results == [winner]  # X refused the spent token; the vault had moved on: not revoked
    assert store.revoked == {}
    assert x.world.requests["oauth2/token"] == 2
