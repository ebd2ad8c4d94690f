"""Where a stream's cursor goes next: the pure rules of the X poller's walks and back-offs.

A walk reads a stream newest first, a page at a time, down to `since_id` (the
newest item an earlier walk queued). Its first page names the walk's top; when
the walk reaches `since_id` the top becomes the new `since_id`. Between pages
the cursor keeps the pagination token, so a walk interrupted by a rate limit,
the budget or a crash resumes where it stopped: a crash re-reads a page, it
never skips one. The very first walk of a stream reads one page only: polling
starts from now, not from the account's history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.channels import x_v2
from shared.channels.x_v2 import TimelinePage
from shared.model.x_polling import RateWindow, Stream, StreamCursor

BACKOFF_FLOOR = timedelta(minutes=1)
BACKOFF_CEILING = timedelta(minutes=15)
REFUSED_HOLD = timedelta(minutes=15)  # a request X refuses (403, 404, 400) is not retried every minute

PageParser = Callable[[bytes, str, datetime, str | None], TimelinePage]


def _mentions(body: bytes, account_id: str, received_at: datetime, newer_than: str | None) -> TimelinePage:
    return x_v2.parse_mentions(body, account_id, received_at=received_at)  # X applies since_id itself


def _dm_events(body: bytes, account_id: str, received_at: datetime, newer_than: str | None) -> TimelinePage:
    return x_v2.parse_dm_events(body, account_id, received_at=received_at, newer_than=newer_than)


@dataclass(frozen=True)
class StreamSpec:
    stream: Stream
    path_template: str
    query: Mapping[str, str]
    page_sizes: tuple[int, int]  # the max_results X accepts
    sends_since_id: bool  # mentions take since_id; DM events have none, the walk stops where it meets it
    parse: PageParser

    def path(self, account_id: str) -> str:
        return self.path_template.format(account_id=account_id)

    def query_for(self, cursor: StreamCursor, page_size: int) -> dict[str, str]:
        """The request of the cursor's next page (`page_size` kept within what X accepts)."""
        lowest, highest = self.page_sizes
        query = {**self.query, "max_results": str(min(max(page_size, lowest), highest))}
        if self.sends_since_id and cursor.since_id:
            query["since_id"] = cursor.since_id
        if cursor.walk_token:
            query["pagination_token"] = cursor.walk_token
        return query


STREAMS = (
    StreamSpec(
        Stream.MENTIONS,
        "/2/users/{account_id}/mentions",
        x_v2.MENTIONS_QUERY,
        x_v2.MENTIONS_PAGE_SIZES,
        sends_since_id=True,
        parse=_mentions,
    ),
    StreamSpec(
        Stream.DM_EVENTS,
        "/2/dm_events",
        x_v2.DM_EVENTS_QUERY,
        x_v2.DM_EVENTS_PAGE_SIZES,
        sends_since_id=False,
        parse=_dm_events,
    ),
)


def after_page(cursor: StreamCursor, page: TimelinePage, rate: RateWindow, now: datetime) -> StreamCursor:
    """The cursor once the page's contacts are queued: the walk goes on, or it is caught up."""
    top = cursor.walk_top if cursor.walking else page.newest_id
    first_walk = cursor.caught_up_at is None and not cursor.walking  # starts from now: one page, no history
    goes_on = page.next_token is not None and not page.reached and not first_walk
    if goes_on:
        moved = replace(cursor, walk_top=top, walk_token=page.next_token)
    else:
        moved = replace(cursor, since_id=_newer(cursor.since_id, top), walk_top=None, walk_token=None, caught_up_at=now)
    return replace(moved, blocked_until=_reset_if_exhausted(rate, now), backoff_s=0)


def backing_off(cursor: StreamCursor, rate: RateWindow, now: datetime) -> StreamCursor:
    """After a 429 or an outage: wait for X's reset when it names one, else double the back-off."""
    backoff = min(max(timedelta(seconds=cursor.backoff_s * 2), BACKOFF_FLOOR), BACKOFF_CEILING)
    until = rate.reset_at if rate.reset_at is not None and rate.reset_at > now else now + backoff
    return replace(cursor, blocked_until=until, backoff_s=int(backoff.total_seconds()))


def refused(cursor: StreamCursor, now: datetime) -> StreamCursor:
    """X refused the request itself (permissions, access level): hold the stream, do not hammer."""
    return replace(cursor, blocked_until=now + REFUSED_HOLD)


def restarted(cursor: StreamCursor) -> StreamCursor:
    """X no longer knows the walk's pagination token: start the walk again from the newest (re-reads, never skips)."""
    return replace(cursor, walk_top=None, walk_token=None)


def lag(cursor: StreamCursor, now: datetime) -> timedelta | None:
    """How long since the stream was last caught up; None before its first walk ended."""
    return now - cursor.caught_up_at if cursor.caught_up_at else None


def budget_month(now: datetime) -> str:
    return now.strftime("%Y-%m")


def _reset_if_exhausted(rate: RateWindow, now: datetime) -> datetime | None:
    return rate.reset_at if rate.exhausted and rate.reset_at is not None and rate.reset_at > now else None


def _newer(first: str | None, second: str | None) -> str | None:
    candidates = [value for value in (first, second) if value]
    return max(candidates, key=int) if candidates else None
