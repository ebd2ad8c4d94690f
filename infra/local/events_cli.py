"""`threadline events [--follow] [--file PATH]`: the local CRM sync events, one readable line each.

The local stack appends every event to a JSON Lines file (THREADLINE_EVENTS_FILE);
this prints them, and with `--follow` keeps printing new ones as they come, like
`tail -f`. Ctrl-C ends it cleanly.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

FOLLOW_POLL_S = 0.25


def describe(event: dict[str, Any]) -> str:
    """One line: time, type, the ids a reader looks for, and the event id to dedupe on."""
    data = event.get("data") or {}
    parts = [
        str(event.get("time", "?")),
        f"{event.get('type', '?'):<18}",
        f"customer={event.get('customer_id') or '-'}",
        f"case={event.get('case_id') or '-'}",
    ]
    if "contact_id" in data and "channel" in data:
        parts.append(f"contact={data['contact_id']} {data['channel']} {data.get('direction', '')}".rstrip())
    if "reference" in data and "status" in data:
        parts.append(f"{data['reference']} {data['status']}")
    parts.append(f"id={event.get('event_id', '?')}")
    return "  ".join(parts)


def _print_line(line: bytes, out: IO[str]) -> None:
    try:
        event = json.loads(line)
    except ValueError:  # UnicodeDecodeError included
        print("(a line that is not JSON)", file=out)
        return
    print(describe(event) if isinstance(event, dict) else "(a line that is not an event)", file=out)


def print_events(
    path: Path,
    *,
    follow: bool = False,
    out: IO[str] = sys.stdout,
    stop: threading.Event | None = None,
) -> int:
    """Print the events in `path`; with `follow`, wait for more until Ctrl-C (or `stop`, for tests)."""
    stop = stop or threading.Event()
    if not path.exists() and not follow:
        print(f"no events yet ({path} does not exist)", file=sys.stderr)
        return 0
    position = 0
    pending = b""  # a line the writer has not finished yet (bytes: it may end inside a character)
    try:
        while True:
            if path.exists():
                if path.stat().st_size < position:  # truncated or replaced: start again
                    position, pending = 0, b""
                with path.open("rb") as file:
                    file.seek(position)
                    chunk = file.read()
                position += len(chunk)
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    if line.strip():
                        _print_line(line, out)
                out.flush()
            if not follow or stop.wait(FOLLOW_POLL_S):
                return 0
    except KeyboardInterrupt:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    from shared.config import get_settings

    parser = argparse.ArgumentParser(prog="threadline events", description=__doc__)
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing events as they come")
    parser.add_argument("--file", type=Path, default=None, help="the JSON Lines file (default THREADLINE_EVENTS_FILE)")
    args = parser.parse_args(argv)
    return print_events(args.file or Path(get_settings().events_file), follow=args.follow)


if __name__ == "__main__":
    raise SystemExit(main())
