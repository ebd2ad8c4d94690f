"""Publishers: EventBridge PutEvents (moto) in chunks with retries; the local JSON Lines file and POST."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared import config
from shared.adapters.eventbridge import EventBridgePublisher, EventsNotPublished, EventTooLarge, JsonLinesPublisher
from shared.events.derivation import event_id
from shared.model.events import ContactReceived, EventType, event_adapter
from shared.wiring import get_event_publisher
from tests.builders import sms_contact
from tests.conftest import Account

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BUS = "threadline-test"


def received(number: int, text: str = "hello") -> ContactReceived:
    contact = sms_contact(f"SM{number}", at=T0, text=text)
    return ContactReceived(
        event_id=event_id(f"stream-record-{number}", EventType.CONTACT_RECEIVED),
        time=T0,
        customer_id=f"cus_{number}",
        case_id=None,
        data=contact,
    )


@pytest.fixture(autouse=True)
def fresh_publisher() -> Iterator[None]:
    get_event_publisher.cache_clear()
    yield
    get_event_publisher.cache_clear()


class Bus:
    """The stack's bus in moto, with a rule that copies every Threadline event to a queue we can read."""

    def __init__(self) -> None:
        self.events = boto3.client("events")
        self.sqs = boto3.client("sqs")
        self.events.create_event_bus(Name=BUS)
        self.queue_url = self.sqs.create_queue(QueueName="bus-copy")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["threadline"]}))
        self.events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "copy", "Arn": queue_arn}])

    def delivered(self) -> list[dict[str, Any]]:
        found = []
        while messages := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return found


class CountingClient:
    """The moto client, counting calls; `refuse` entries are answered as throttled (not forwarded) once."""

    def __init__(self, client: Any, refuse: int = 0, always_refuse: bool = False) -> None:
        self._client = client
        self._refuse = refuse
        self._always = always_refuse
        self.calls: list[int] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(len(Entries))
        refused = len(Entries) if self._always else min(self._refuse, len(Entries))
        self._refuse -= refused
        results = [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}] * refused
        if len(Entries) > refused:
            results += self._client.put_events(Entries=Entries[refused:])["Entries"]
        return {"FailedEntryCount": refused, "Entries": results}


@pytest.fixture
def bus(aws: Account) -> Bus:
    return Bus()


def no_sleep(_seconds: float) -> None:
    return None


def test_events_reach_the_bus_as_detail_with_their_type_as_detail_type(bus: Bus) -> None:
    event = received(1)
    EventBridgePublisher(bus.events, BUS).publish([event])

    [delivered] = bus.delivered()
    assert delivered["source"] == "threadline"
    assert delivered["detail-type"] == "contact.received"
    assert event_adapter.validate_python(delivered["detail"]) == event


def test_more_than_ten_events_go_in_chunks_of_ten(bus: Bus) -> None:
    client = CountingClient(bus.events)
    events = [received(number) for number in range(23)]

    EventBridgePublisher(client, BUS).publish(events)  # type: ignore[arg-type]

    assert client.calls == [10, 10, 3]
    assert sorted(d["detail"]["event_id"] for d in bus.delivered()) == sorted(str(e.event_id) for e in events)


def test_chunks_also_stay_under_the_request_size_limit(bus: Bus) -> None:
    client = CountingClient(bus.events)
    events = [received(number, text="x" * 100_000) for number in range(4)]

    EventBridgePublisher(client, BUS).publish(events)  # type: ignore[arg-type]

    assert client.calls == [2, 2]
    assert len(bus.delivered()) == 4


def test_refused_entries_are_retried_until_they_go_and_sent_once(bus: Bus) -> None:
    client = CountingClient(bus.events, refuse=3)
    events = [received(number) for number in range(5)]

    EventBridgePublisher(client, BUS, sleep=no_sleep).publish(events)  # type: ignore[arg-type]

    assert client.calls == [5, 3]
    assert sorted(d["detail"]["event_id"] for d in bus.delivered()) == sorted(str(e.event_id) for e in events)


def test_entries_the_bus_keeps_refusing_raise_so_the_record_is_retried(bus: Bus) -> None:
    client = CountingClient(bus.events, always_refuse=True)

    with pytest.raises(EventsNotPublished, match="ThrottlingException"):
        EventBridgePublisher(client, BUS, sleep=no_sleep).publish([received(1)])  # type: ignore[arg-type]
    assert len(client.calls) == 5


def test_an_event_over_the_size_limit_raises_without_calling_the_bus(bus: Bus) -> None:
    client = CountingClient(bus.events)

    with pytest.raises(EventTooLarge):
        EventBridgePublisher(client, BUS).publish([received(1, text="x" * 300_000)])  # type: ignore[arg-type]
    assert client.calls == []


def test_json_lines_file_gets_one_event_per_line_in_order(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "events.jsonl"
    publisher = JsonLinesPublisher(path)
    publisher.publish([received(1), received(2)])
    publisher.publish([received(3)])

    lines = path.read_text().splitlines()
    assert [event_adapter.validate_json(line) for line in lines] == [received(1), received(2), received(3)]


class Recorder(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Recorder.bodies.append({"type": self.headers["Content-Type"], "body": json.loads(self.rfile.read(length))})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    Recorder.bodies = []
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/threadline-events"
    server.shutdown()
    server.server_close()


def test_local_events_are_also_posted_when_a_url_is_set(tmp_path: Path, receiver: str) -> None:
    JsonLinesPublisher(tmp_path / "events.jsonl", receiver).publish([received(1), received(2)])

    assert [posted["type"] for posted in Recorder.bodies] == ["application/json"] * 2
    assert [posted["body"]["event_id"] for posted in Recorder.bodies] == [
        str(received(1).event_id),
        str(received(2).event_id),
    ]


def test_a_failed_post_is_logged_without_personal_data_and_the_file_still_has_the_event(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    path = tmp_path / "events.jsonl"

    JsonLinesPublisher(path, f"http://127.0.0.1:{closed_port}/").publish([received(1, text="my card is 4242")])

    assert len(path.read_text().splitlines()) == 1
    [warning] = [record for record in caplog.records if record.getMessage() == "event not forwarded"]
    assert warning.event_type == "contact.received"  # type: ignore[attr-defined]
    logged = str(vars(warning))
    assert "4242" not in logged
    assert "+14155550123" not in logged


def test_the_stack_bus_setting_selects_eventbridge_else_the_local_file(
    aws: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADLINE_EVENTS_FILE", str(tmp_path / "local.jsonl"))
    config.clear_caches()
    assert isinstance(get_event_publisher(), JsonLinesPublisher)

    monkeypatch.setenv("THREADLINE_EVENT_BUS", BUS)
    config.clear_caches()
    get_event_publisher.cache_clear()
    assert isinstance(get_event_publisher(), EventBridgePublisher)


def test_a_post_url_that_is_not_http_is_refused_by_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_EVENTS_POST_URL", "file:///etc/passwd")
    config.clear_caches()

    with pytest.raises(ValueError, match="events_post_url"):
        config.get_settings()
