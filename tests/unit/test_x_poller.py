"""The X poller on in-memory ports against the X sandbox: cursors, crashes, overlaps, rate limits, budget.

Nothing waits on a clock: time is the sandbox's and the poller's shared `Clock`,
moved by the tests; overlaps are real threads held at a barrier.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import pytest

from infra.local.sandbox.x import XSandbox
from infra.local.sandbox.x_state import ACCOUNT_ID, CUSTOMER_ID
from infra.topology import X_OAUTH2_TOKENS
from shared.adapters.x_api import XApiClient
from shared.model.x_polling import Stream
from shared.polling.poller import PollerSettings, PollReport, XPoller
from shared.polling.tokens import AccessTokens
from tests.fakes_x import (
    SANDBOX_URL,
    Clock,
    InMemoryPollingStore,
    InMemoryTokenVault,
    RecordingQueue,
    SandboxTransport,
    x_sandbox,
)

CLIENT_SECRET = "dev-x-oauth2-client-secret"


@dataclass
class Rig:
    clock: Clock = field(default_factory=Clock)
    store: InMemoryPollingStore = field(default_factory=InMemoryPollingStore)
    vault: InMemoryTokenVault = field(default_factory=lambda: InMemoryTokenVault.holding(X_OAUTH2_TOKENS.local_default))
    queue: RecordingQueue = field(default_factory=RecordingQueue)
    settings: PollerSettings = field(default_factory=lambda: PollerSettings(account_id=ACCOUNT_ID))
    x: XSandbox = field(init=False)

    def __post_init__(self) -> None:
        self.x = x_sandbox(self.clock)

    def poller(self) -> XPoller:
        api = XApiClient(SANDBOX_URL, SandboxTransport(self.x))
        tokens = AccessTokens(
            self.vault,
            api,
            self.store,
            account_id=ACCOUNT_ID,
            client_id="dev-x-client-id",
            client_secret=lambda: CLIENT_SECRET,
        )
        return XPoller(api, self.store, lambda: self.queue, tokens, self.settings)

    def run(self) -> PollReport:
        return self.poller().run(self.clock())

    def mention(self, text: str = "my order has not arrived") -> str:
        self.clock.advance(seconds=1)
        return self.x.world.add_post(CUSTOMER_ID, text).id

    def dm(self, text: str = "hello?") -> str:
        self.clock.advance(seconds=1)
        return self.x.world.add_dm(CUSTOMER_ID, ACCOUNT_ID, text).id

    def requests(self, endpoint: str) -> int:
        return self.x.world.requests.get(endpoint, 0)


def small_pages(max_pages: int) -> PollerSettings:
    return PollerSettings(
        account_id=ACCOUNT_ID, page_sizes={Stream.MENTIONS: 5, Stream.DM_EVENTS: 5}, max_pages=max_pages
    )


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_the_first_run_reads_the_newest_page_and_later_runs_only_what_is_new(rig: Rig) -> None:
    old_mention, old_dm = rig.mention(), rig.dm()

    first = rig.run()
    new_mention, new_dm = rig.mention(), rig.dm()
    second = rig.run()

    assert rig.queue.provider_ids == [old_mention, old_dm, new_mention, new_dm]
    assert rig.store.cursor(ACCOUNT_ID, Stream.MENTIONS).since_id == new_mention
    assert rig.store.cursor(ACCOUNT_ID, Stream.DM_EVENTS).since_id == new_dm
    assert {report.outcome for report in [*first.streams.values(), *second.streams.values()]} == {"caught_up"}
    assert second.lag_s == 0


def test_a_backlog_is_walked_page_by_page_across_runs_without_a_gap(rig: Rig) -> None:
    rig.run()  # the streams start from here
    backlog = [rig.mention(f"mention {n}") for n in range(12)]
    rig.settings = PollerSettings(
        account_id=ACCOUNT_ID, page_sizes={Stream.MENTIONS: 5, Stream.DM_EVENTS: 5}, max_pages=2
    )

    first = rig.run()
    cursor = rig.store.cursor(ACCOUNT_ID, Stream.MENTIONS)
    second = rig.run()

    assert first.streams[Stream.MENTIONS].outcome == "walking"
    assert (cursor.since_id, cursor.walk_top) == (None, backlog[-1])  # nothing committed mid-walk
    assert second.streams[Stream.MENTIONS].outcome == "caught_up"
    assert sorted(rig.queue.provider_ids, key=int) == backlog
    assert rig.store.cursor(ACCOUNT_ID, Stream.MENTIONS).since_id == backlog[-1]


def test_a_crash_between_queueing_and_the_cursor_write_rereads_and_skips_nothing(rig: Rig) -> None:
    rig.run()
    first, second = rig.mention(), rig.mention()

    def crash(_: object) -> None:
        raise RuntimeError("the Lambda was killed here")

    rig.store.before_save = crash
    with pytest.raises(RuntimeError):
        rig.run()
    rig.store.before_save = None
    rig.run()

    assert rig.queue.provider_ids == [first, second, first, second]  # queued twice, never skipped
    assert rig.store.cursor(ACCOUNT_ID, Stream.MENTIONS).since_id == second
    # The processor keeps one of each: the FIFO deduplication id and the MSG# marker are the provider id.
    assert len({message.deduplication_id for message in rig.queue.messages}) == 2


def test_two_overlapping_runs_never_both_move_a_cursor(rig: Rig) -> None:
    rig.run()
    mentions = [rig.mention(), rig.mention()]
    both_queued = threading.Barrier(2, timeout=10)
    # Each run reads the cursor, then waits for the other before it writes: the worst interleaving.
    rig.store.before_save = lambda cursor: both_queued.wait() if cursor.stream is Stream.MENTIONS else None
    saves_before = rig.store.saves
    reports: list[PollReport] = []

    threads = [threading.Thread(target=lambda: reports.append(rig.run())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    outcomes = sorted(report.streams[Stream.MENTIONS].outcome for report in reports)
    assert outcomes == ["caught_up", "overlapped"]
    assert rig.store.saves - saves_before == 2  # one write per stream: the other run's were refused
    assert rig.store.cursor(ACCOUNT_ID, Stream.MENTIONS).since_id == mentions[-1]
    assert set(rig.queue.provider_ids[-4:]) == set(mentions)


def test_a_spent_rate_window_skips_the_stream_until_its_reset(rig: Rig) -> None:
    rig.x.world.set_limit("mentions", 1)
    rig.run()  # spends the window: x-rate-limit-remaining 0
    waiting = rig.mention()

    skipped = rig.run()
    rig.clock.advance(minutes=15)
    resumed = rig.run()

    assert skipped.streams[Stream.MENTIONS].outcome == "rate_limited"
    assert rig.requests("mentions") == 2  # none while the window was spent: no 429 was ever provoked
    assert resumed.streams[Stream.MENTIONS].outcome == "caught_up"
    assert waiting in rig.queue.provider_ids


def test_a_429_backs_off_until_x_says_and_then_reads_what_waited(rig: Rig) -> None:
    rig.run()
    waiting = rig.mention()
    rig.x.world.fail_next("mentions", 429)

    throttled = rig.run()
    blocked_until = rig.store.cursor(ACCOUNT_ID, Stream.MENTIONS).blocked_until
    still = rig.run()
    rig.clock.now = blocked_until or rig.clock.now
    resumed = rig.run()

    assert throttled.streams[Stream.MENTIONS].outcome == "backing_off"
    assert still.streams[Stream.MENTIONS].outcome == "backing_off"
    assert rig.requests("mentions") == 3  # first run, the 429, the resumed run
    assert resumed.streams[Stream.MENTIONS].outcome == "caught_up"
    assert rig.queue.provider_ids.count(waiting) == 1


def test_server_errors_back_off_doubling_and_leave_the_cursor_where_it_was(rig: Rig) -> None:
    rig.run()
    since = rig.store.cursor(ACCOUNT_ID, Stream.DM_EVENTS).since_id
    rig.x.world.fail_next("dm_events", 503, count=2)

    rig.run()
    first = rig.store.cursor(ACCOUNT_ID, Stream.DM_EVENTS)
    rig.clock.now = first.blocked_until or rig.clock.now
    rig.run()
    second = rig.store.cursor(ACCOUNT_ID, Stream.DM_EVENTS)

    assert (first.backoff_s, second.backoff_s) == (60, 120)
    assert second.since_id == since


def test_the_monthly_request_cap_is_never_exceeded(rig: Rig) -> None:
    rig.settings = PollerSettings(account_id=ACCOUNT_ID, monthly_request_cap=3)

    reports = [rig.run() for _ in range(4)]

    assert rig.requests("mentions") + rig.requests("dm_events") == 3
    assert reports[-1].streams[Stream.MENTIONS].outcome == "budget_exhausted"
    assert rig.store.budget(ACCOUNT_ID, "2026-03") == (3, 0)


def test_an_expired_access_token_is_refreshed_and_the_rotated_refresh_token_kept(rig: Rig) -> None:
    rig.run()
    first = rig.vault.read()
    rig.clock.advance(hours=3)

    rig.run()
    second = rig.vault.read()

    assert rig.requests("oauth2/token") == 2  # the first run's, and one after expiry
    assert second.tokens.refresh_token != first.tokens.refresh_token
    assert second.version != first.version
    assert len(rig.vault.versions) == 3  # the operator's, and one per refresh


def test_a_revoked_grant_stops_polling_cleanly_until_a_new_token_is_stored(rig: Rig) -> None:
    rig.run()
    rig.x.world.revoke()
    rig.clock.advance(hours=3)

    revoked = rig.run()
    asked_before = dict(rig.x.world.requests)
    stopped = rig.run()
    asked_after = dict(rig.x.world.requests)
    rig.x.world.grant("a-new-refresh-token")  # the operator authorizes the app again ...
    rig.vault.put("a-new-refresh-token")  # ... and stores the new refresh token
    resumed = rig.run()

    assert revoked.revoked and stopped.revoked
    assert {report.outcome for report in stopped.streams.values()} == {"revoked"}
    assert asked_before["oauth2/token"] == 2  # the first run's refresh, and the one X refused
    assert asked_after == asked_before  # the stopped run asked X nothing
    assert not resumed.revoked
    assert rig.x.world.requests["oauth2/token"] == 3


def test_a_pagination_token_x_no_longer_knows_restarts_the_walk_from_the_newest(rig: Rig) -> None:
    rig.run()
    backlog = [rig.mention() for _ in range(7)]
    rig.settings = PollerSettings(
        account_id=ACCOUNT_ID, page_sizes={Stream.MENTIONS: 5, Stream.DM_EVENTS: 5}, max_pages=1
    )
    rig.run()
    cursor = rig.store.cursor(ACCOUNT_ID, Stream.MENTIONS)
    rig.store.cursors[(ACCOUNT_ID, Stream.MENTIONS)] = replace(cursor, walk_token="!not-a-token!")

    rig.settings = PollerSettings(
        account_id=ACCOUNT_ID, page_sizes={Stream.MENTIONS: 5, Stream.DM_EVENTS: 5}, max_pages=3
    )
    rig.run()

    assert set(rig.queue.provider_ids) >= set(backlog)
    assert rig.store.cursor(ACCOUNT_ID, Stream.MENTIONS).since_id == backlog[-1]


def test_a_quiet_dm_inbox_is_reread_in_one_small_page_and_counts_nothing_new(rig: Rig) -> None:
    for n in range(15):
        rig.dm(f"dm {n}")
    rig.run()
    counted = rig.store.budget(ACCOUNT_ID, "2026-03")

    quiet = [rig.run() for _ in range(3)]

    assert [report.streams[Stream.DM_EVENTS].requests for report in quiet] == [1, 1, 1]
    assert rig.store.budget(ACCOUNT_ID, "2026-03") == (counted[0] + 6, counted[1])  # requests only
    assert len(rig.queue.provider_ids) == 10  # the first walk read the newest page of 10, and started there
