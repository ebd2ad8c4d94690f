"""One run of the X poller: each stream walks from its cursor, queues what it reads, then moves the cursor.

The order of a page is fixed: request (counted against the month's budget),
parse, queue the contacts through the webhooks' own `enqueue_batch`, and only
then write the cursor, conditionally on the version it was read at. A crash in
between re-reads the page on the next run and queues it again; the processor
drops the duplicates by provider message id. Two overlapping runs read the
same cursor; the second write fails and that run stops (docs/channels/x.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, NoReturn

from shared.ingest.app import ContactQueue, enqueue_batch
from shared.model.failures import ConditionFailed, DependencyUnavailable
from shared.model.x_polling import ApiAnswer, RateWindow, Stream, StreamCursor
from shared.observability import logger
from shared.polling import walk
from shared.polling.ports import PollingStore, XApi
from shared.polling.tokens import AccessTokens, AuthRevoked
from shared.polling.walk import STREAMS, StreamSpec


@dataclass(frozen=True)
class PollerSettings:
    account_id: str
    # Per stream: mentions come filtered by since_id, DM events do not (every run re-reads their newest page).
    page_sizes: Mapping[Stream, int] = field(
        default_factory=lambda: MappingProxyType({Stream.MENTIONS: 100, Stream.DM_EVENTS: 10})
    )
    max_pages: int = 5  # per stream and run: a backlog drains over a few runs, never in one burst
    monthly_request_cap: int = 100_000
    monthly_resource_cap: int = 10_000


@dataclass
class StreamReport:
    # caught_up, walking, rate_limited, backing_off, budget_exhausted, overlapped, refused, unavailable, revoked
    outcome: str = "caught_up"
    requests: int = 0
    queued: int = 0
    lag_s: float | None = None  # since the stream was last caught up


@dataclass
class PollReport:
    streams: dict[Stream, StreamReport] = field(default_factory=dict)
    revoked: bool = False

    @property
    def requests(self) -> int:
        return sum(report.requests for report in self.streams.values())

    @property
    def lag_s(self) -> float | None:
        lags = [report.lag_s for report in self.streams.values() if report.lag_s is not None]
        return max(lags, default=None)

    def as_dict(self) -> dict[str, Any]:
        return {"revoked": self.revoked, "streams": {stream.value: asdict(r) for stream, r in self.streams.items()}}


class _RunToken:
    """The access token, fetched when the first request needs it: a run with every stream blocked refreshes nothing."""

    def __init__(self, tokens: AccessTokens, now: datetime, refused_version: str | None) -> None:
        self._tokens = tokens
        self._now = now
        self._refused_version = refused_version
        self.value: str | None = None

    def get(self) -> str:
        if self.value is None:
            self.value = self._tokens.current(self._now, refused_version=self._refused_version)
        return self.value

    def renew(self) -> str:
        self.value = self._tokens.after_unauthorized(self.get(), self._now)
        return self.value

    def give_up(self) -> NoReturn:
        self._tokens.give_up(self.get(), self._now)


class XPoller:
    def __init__(
        self,
        api: XApi,
        store: PollingStore,
        queue: Callable[[], ContactQueue],
        tokens: AccessTokens,
        settings: PollerSettings,
    ) -> None:
        self._api = api
        self._store = store
        self._queue = queue
        self._tokens = tokens
        self._settings = settings

    def run(self, now: datetime) -> PollReport:
        account = self._settings.account_id
        state = self._store.state(account, (spec.stream for spec in STREAMS))
        token = _RunToken(self._tokens, now, state.revoked_token_version)
        report = PollReport()
        for spec in STREAMS:
            stream_report = report.streams.setdefault(spec.stream, StreamReport())
            cursor = state.cursor(spec.stream)
            try:
                if report.revoked:
                    raise AuthRevoked("an earlier stream of this run found the grant refused")
                cursor = self._walk(spec, cursor, token, now, stream_report)
            except AuthRevoked:
                report.revoked = True  # and no other stream asks X again with the same grant
                stream_report.outcome = "revoked"
            except DependencyUnavailable:
                # X, the vault or the queue did not answer: the cursor stays, the next run retries.
                logger.warning("x poll interrupted", extra={"stream": spec.stream.value})
                stream_report.outcome = "unavailable"
            lag = walk.lag(cursor, now)
            stream_report.lag_s = lag.total_seconds() if lag is not None else None
        return report

    def _walk(
        self, spec: StreamSpec, cursor: StreamCursor, token: _RunToken, now: datetime, report: StreamReport
    ) -> StreamCursor:
        report.outcome = "caught_up"
        for _ in range(self._settings.max_pages):
            if cursor.blocked(now):
                report.outcome = "rate_limited" if cursor.backoff_s == 0 else "backing_off"
                return cursor
            if not self._take_request(now):
                report.outcome = "budget_exhausted"
                return cursor
            answer = self._request(spec, cursor, token)
            report.requests += 1
            try:
                cursor, done = self._settle(spec, cursor, answer, now, report)
            except ConditionFailed:
                # Another run moved this cursor since we read it: it owns the stream now.
                report.outcome = "overlapped"
                return cursor
            if done:
                return cursor
        report.outcome = "walking" if cursor.walking else report.outcome
        return cursor

    def _request(self, spec: StreamSpec, cursor: StreamCursor, token: _RunToken) -> ApiAnswer:
        path, query = (
            spec.path(self._settings.account_id),
            spec.query_for(cursor, self._settings.page_sizes[spec.stream]),
        )
        answer = self._api.get(path, query, token.get())
        if answer.status == 401:  # expired or revoked early: one refresh, one retry
            answer = self._api.get(path, query, token.renew())
            if answer.status == 401:
                token.give_up()
        return answer

    def _settle(
        self, spec: StreamSpec, cursor: StreamCursor, answer: ApiAnswer, now: datetime, report: StreamReport
    ) -> tuple[StreamCursor, bool]:
        """What one answer does to the cursor: (the saved cursor, whether this stream is done for the run)."""
        account = self._settings.account_id
        if answer.status == 200:
            page = spec.parse(answer.body, account, now, cursor.since_id)
            self._store.add_resources(account, walk.budget_month(now), page.resources)
            enqueue_batch(self._queue(), page.batch, channel="x")  # durable before the cursor moves
            report.queued += len(page.batch.contacts)
            saved = self._save(walk.after_page(cursor, page, answer.rate, now))
            report.outcome = "walking" if saved.walking else "caught_up"
            return saved, not saved.walking
        if answer.status == 429 or answer.status >= 500:
            logger.warning("x backs off", extra={"stream": spec.stream.value, "status": answer.status})
            report.outcome = "backing_off"
            # X's reset names when a 429 ends; during an outage it says nothing about when X is back.
            rate = answer.rate if answer.status == 429 else RateWindow()
            return self._save(walk.backing_off(cursor, rate, now)), True
        if answer.status == 400 and cursor.walking:
            # A pagination token X no longer accepts: start the walk again from the newest.
            return self._save(walk.restarted(cursor)), False
        logger.error(
            "x refused the request", extra={"stream": spec.stream.value, "status": answer.status, **_problem(answer)}
        )
        report.outcome = "refused"
        return self._save(walk.refused(cursor, now)), True

    def _save(self, cursor: StreamCursor) -> StreamCursor:
        return self._store.save_cursor(self._settings.account_id, cursor)

    def _take_request(self, now: datetime) -> bool:
        settings = self._settings
        return self._store.take_request(
            settings.account_id,
            walk.budget_month(now),
            request_cap=settings.monthly_request_cap,
            resource_cap=settings.monthly_resource_cap,
            now=now,
        )


def _problem(answer: ApiAnswer) -> dict[str, str]:
    """X's problem `title` and `type` (RFC 7807) for the log: never the body, which may quote data."""
    try:
        problem = json.loads(answer.body)
    except ValueError:
        return {}
    if not isinstance(problem, dict):
        return {}
    return {key: str(problem[key])[:200] for key in ("title", "type") if isinstance(problem.get(key), str)}
