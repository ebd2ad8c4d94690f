"""The published JSON Schemas of the events, generated from their models.

`python -m shared.events.schemas` writes docs/schemas/<type>.json;
`python -m shared.events.schemas --check` exits 1 when a committed schema is
missing, stale or no longer belongs to an event type (CI's test does the same).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.model.events import EVENT_MODELS, EventType

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def _open_content(node: Any) -> Any:
    """Drop `additionalProperties: false`: our models forbid unknown fields, but a consumer
    validating with a published schema must keep accepting events after we add an optional field."""
    if isinstance(node, dict):
        return {
            key: _open_content(value) for key, value in node.items() if (key, value) != ("additionalProperties", False)
        }
    if isinstance(node, list):
        return [_open_content(value) for value in node]
    return node


def event_schema(event_type: EventType) -> dict[str, Any]:
    """The schema of one event type's EventBridge `detail`, as consumers receive it."""
    schema = EVENT_MODELS[event_type].model_json_schema(mode="serialization")
    return {"$schema": JSON_SCHEMA_DIALECT, **_open_content(schema)}


def rendered_schemas() -> dict[str, str]:
    """File name → file text, for every event type."""
    return {
        f"{event_type.value}.json": json.dumps(event_schema(event_type), indent=2) + "\n" for event_type in EventType
    }


def write_schemas(directory: Path = SCHEMA_DIRECTORY) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def schema_drift(directory: Path = SCHEMA_DIRECTORY) -> list[str]:
    """What differs between the models and the committed files: empty when they agree."""
    expected = rendered_schemas()
    committed = {path.name: path.read_text(encoding="utf-8") for path in directory.glob("*.json")}
    drift = [f"{name}: missing" for name in expected if name not in committed]
    drift += [f"{name}: stale" for name, text in expected.items() if name in committed and committed[name] != text]
    drift += [f"{name}: no such event type" for name in committed if name not in expected]
    return sorted(drift)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.events.schemas", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on drift")
    parser.add_argument("--directory", type=Path, default=SCHEMA_DIRECTORY)
    args = parser.parse_args(argv)
    if args.check:
        drift = schema_drift(args.directory)
        for line in drift:
            print(line, file=sys.stderr)
        return 1 if drift else 0
    for path in write_schemas(args.directory):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
