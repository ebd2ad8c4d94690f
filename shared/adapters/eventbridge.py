"""Where events go: the EventBridge bus when deployed; a JSON Lines file (and an optional POST) locally.

Both write the envelope exactly as the JSON Schemas describe it: the bus as the
event's `detail`, the file as one line per event, the POST as the request body
(what an API destination whose rule sends `$.detail` receives).
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.error import URLError

from botocore.exceptions import BotoCoreError, ClientError

from shared.model.events import EVENT_SOURCE, EventEnvelope
from shared.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

PUT_EVENTS_LIMIT = 10  # entries per PutEvents call
PUT_EVENTS_MAX_BYTES = 256 * 1024  # per call, counted as EventBridge counts entry sizes
MAX_PUT_ATTEMPTS = 5
POST_TIMEOUT_S = 2.0


class EventPublisher(Protocol):
    def publish(self, events: Sequence[EventEnvelope]) -> None: ...


class EventsNotPublished(RuntimeError):
    """Some events never reached the bus; the stream record fails and Lambda retries it."""


class EventTooLarge(EventsNotPublished):
    """One event alone is over the PutEvents size limit, so no retry can send it."""


def _entry_size(entry: PutEventsRequestEntryTypeDef) -> int:
    """EventBridge's own count: 14 bytes for Time, plus the UTF-8 bytes of the strings."""
    strings = [entry["Source"], entry["DetailType"], entry["Detail"], *entry.get("Resources", [])]
    return 14 + sum(len(text.encode()) for text in strings)


def _chunks(entries: Sequence[PutEventsRequestEntryTypeDef]) -> Iterator[list[PutEventsRequestEntryTypeDef]]:
    chunk: list[PutEventsRequestEntryTypeDef] = []
    size = 0
    for entry in entries:
        entry_size = _entry_size(entry)
        if entry_size > PUT_EVENTS_MAX_BYTES:
            raise EventTooLarge(f"a {entry['DetailType']} event is {entry_size} bytes")
        if chunk and (len(chunk) == PUT_EVENTS_LIMIT or size + entry_size > PUT_EVENTS_MAX_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry_size
    if chunk:
        yield chunk


class EventBridgePublisher:
    def __init__(
        self, client: EventBridgeClient, bus_name: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._client = client
        self._bus = bus_name
        self._sleep = sleep

    def publish(self, events: Sequence[EventEnvelope]) -> None:
        entries: list[PutEventsRequestEntryTypeDef] = [
            {
                "Source": EVENT_SOURCE,
                "DetailType": event.type.value,
                "Detail": event.model_dump_json(),
                "Time": event.time,
                "EventBusName": self._bus,
            }
            for event in events
        ]
        for chunk in _chunks(entries):
            self._put(chunk)

    def _put(self, chunk: list[PutEventsRequestEntryTypeDef]) -> None:
        pending = chunk
        error_codes: set[str] = set()
        for attempt in range(MAX_PUT_ATTEMPTS):
            if attempt:
                self._sleep(min(0.1 * 2**attempt, 2.0))
            try:
                response = self._client.put_events(Entries=pending)
            except (BotoCoreError, ClientError) as error:
                error_codes = {type(error).__name__}
                continue
            if not response.get("FailedEntryCount"):
                return
            # Results are in request order; a failed entry carries an ErrorCode instead of an EventId.
            results = response["Entries"]
            error_codes = {result["ErrorCode"] for result in results if "ErrorCode" in result}
            pending = [entry for entry, result in zip(pending, results, strict=True) if "ErrorCode" in result]
            logger.warning(
                "events refused by the bus", extra={"count": len(pending), "error_codes": sorted(error_codes)}
            )
        raise EventsNotPublished(f"{len(pending)} events not published ({', '.join(sorted(error_codes))})")


class JsonLinesPublisher:
    """Locally: append each event as one JSON line; forward it to a URL if one is set."""

    def __init__(self, path: Path, post_url: str | None = None) -> None:
        self._path = path
        self._post_url = post_url
        self._lock = threading.Lock()

    def publish(self, events: Sequence[EventEnvelope]) -> None:
        lines = [event.model_dump_json() for event in events]
        with self._lock:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._path.open("a", encoding="utf-8") as file:
                file.write("".join(line + "\n" for line in lines))
        if self._post_url:
            for event, line in zip(events, lines, strict=True):
                self._post(self._post_url, event, line)

    @staticmethod
    def _post(url: str, event: EventEnvelope, body: str) -> None:
        """A failed forward is logged, never fatal: the file already holds the event."""
        request = urllib.request.Request(  # noqa: S310 -- settings accept only http(s) URLs
            url,
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "threadline-local-events"},
        )
        try:
            with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S):  # noqa: S310 -- http(s) only, see above
                pass
        except (URLError, OSError) as error:
            logger.warning(
                "event not forwarded",
                extra={"event_type": event.type.value, "event_id": str(event.event_id), "error": type(error).__name__},
            )
