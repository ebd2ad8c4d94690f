"""`threadline events [--follow]`: the local JSON Lines events, printed readably."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime
from pathlib import Path

from infra.local.events_cli import main, print_events
from shared.adapters.eventbridge import JsonLinesPublisher
from shared.events.derivation import event_id
from shared.model.events import ContactReceived, EventType
from tests.builders import sms_contact

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def received(number: int) -> ContactReceived:
    return ContactReceived(
        event_id=event_id(f"record-{number}", EventType.CONTACT_RECEIVED),
        time=T0,
        customer_id=f"cus_{number}",
        case_id=f"case_{number}",
        data=sms_contact(f"SM{number}", at=T0, text="my address is 1 Main St"),
    )


class GrowingOutput(io.StringIO):
    """Output another thread writes to; `wait_for` returns once some text has appeared."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def write(self, text: str) -> int:
        with self._changed:
            written = super().write(text)
            self._changed.notify_all()
            return written

    def wait_for(self, text: str) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: text in self.getvalue(), timeout=30)


def test_each_event_prints_as_one_line_with_time_type_and_ids(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    JsonLinesPublisher(path).publish([received(1), received(2)])
    out = io.StringIO()

    assert print_events(path, out=out) == 0

    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("2026-11-02T09:00:00Z  contact.received")
    assert "customer=cus_1" in lines[0]
    assert "case=case_1" in lines[0]
    assert f"contact={received(1).data.contact_id} sms inbound" in lines[0]
    assert f"id={received(1).event_id}" in lines[0]
    assert "Main St" not in out.getvalue()  # ids, not content


def test_a_line_that_is_not_an_event_is_marked_and_the_rest_still_print(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{broken\n\n"a string"\n' + received(1).model_dump_json() + "\n")
    out = io.StringIO()

    print_events(path, out=out)

    assert out.getvalue().splitlines()[:2] == ["(a line that is not JSON)", "(a line that is not an event)"]
    assert "contact.received" in out.getvalue().splitlines()[2]


def test_no_file_yet_is_not_an_error(tmp_path: Path) -> None:
    assert main(["--file", str(tmp_path / "none.jsonl")]) == 0


def test_follow_prints_events_as_they_are_appended_even_in_pieces(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"  # does not exist yet: follow waits for it
    out = GrowingOutput()
    stop = threading.Event()
    follower = threading.Thread(target=print_events, args=(path,), kwargs={"follow": True, "out": out, "stop": stop})
    follower.start()
    try:
        JsonLinesPublisher(path).publish([received(1)])
        assert out.wait_for("customer=cus_1")
        line = received(2).model_dump_json()
        with path.open("a") as file:
            file.write(line[:40])  # a writer caught mid-line
            file.flush()
            file.write(line[40:] + "\n")
        assert out.wait_for("customer=cus_2")
    finally:
        stop.set()
        follower.join(timeout=30)

    assert not follower.is_alive()
    assert len(out.getvalue().splitlines()) == 2


def test_follow_starts_again_when_the_file_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    JsonLinesPublisher(path).publish([received(1), received(2)])
    out = GrowingOutput()
    stop = threading.Event()
    follower = threading.Thread(target=print_events, args=(path,), kwargs={"follow": True, "out": out, "stop": stop})
    follower.start()
    try:
        assert out.wait_for("customer=cus_2")
        path.write_text(received(3).model_dump_json() + "\n")  # a new local run starts the file over
        assert out.wait_for("customer=cus_3")
    finally:
        stop.set()
        follower.join(timeout=30)
    assert len(out.getvalue().splitlines()) == 3
