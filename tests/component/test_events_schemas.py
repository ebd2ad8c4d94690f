"""The published JSON Schemas: committed, in step with the models, and true of the events we emit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from shared import config
from shared.events import schemas
from shared.model.contact import Assurance
from shared.model.events import (
    EVENT_MODELS,
    CustomerErased,
    CustomerMerged,
    CustomerUnmerged,
    EventEnvelope,
    EventType,
    IdentitySuggested,
)
from shared.model.identifiers import email
from shared.wiring import get_contact_processor, get_event_publisher
from tests.builders import sms_contact
from tests.conftest import Account
from tests.streams import Stream, publish, published

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def committed_schema(event_type: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((schemas.SCHEMA_DIRECTORY / f"{event_type}.json").read_text())
    return schema


def test_committed_schemas_match_the_models() -> None:
    drift = schemas.schema_drift()

    assert drift == [], "run `python -m shared.events.schemas` and commit docs/schemas/"


def test_a_changed_model_shows_as_drift(tmp_path: Path) -> None:
    schemas.write_schemas(tmp_path)
    (tmp_path / "case.closed.json").write_text("{}\n")
    (tmp_path / "contact.received.json").unlink()
    (tmp_path / "case.deleted.json").write_text("{}\n")

    assert schemas.schema_drift(tmp_path) == [
        "case.closed.json: stale",
        "case.deleted.json: no such event type",
        "contact.received.json: missing",
    ]
    assert schemas.main(["--check", "--directory", str(tmp_path)]) == 1


def test_every_event_type_has_one_model_carrying_that_type() -> None:
    assert set(EVENT_MODELS) == set(EventType)
    for event_type, model in EVENT_MODELS.items():
        assert model.model_fields["type"].default is event_type


def test_published_schemas_accept_fields_added_later() -> None:
    schema = committed_schema("contact.received")
    event = {
        "event_id": "5f0c1a52-6a3d-5f7e-9d57-0c2a4b1e2f3a",
        "type": "contact.received",
        "time": "2026-11-02T09:00:00Z",
        "schema_version": 1,
        "customer_id": None,
        "case_id": None,
        "data": json.loads(sms_contact("SM1", at=T0).model_dump_json()),
        "added_in_a_later_release": True,
    }

    jsonschema.validate(event, schema)


def test_events_from_the_stream_validate_against_their_committed_schemas(
    aws: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.jsonl"
    monkeypatch.setenv("THREADLINE_EVENTS_FILE", str(path))
    config.clear_caches()
    get_event_publisher.cache_clear()
    get_contact_processor().process(sms_contact("SM1", at=T0))

    publish(Stream(aws).new_batch())

    events = published(path)
    assert {event["type"] for event in events} == {"customer.created", "case.opened", "contact.received"}
    for event in events:
        jsonschema.validate(event, committed_schema(event["type"]))
    get_event_publisher.cache_clear()


@pytest.mark.parametrize(
    "event",
    [
        CustomerMerged(
            event_id="0b8e3f5e-3c57-5b43-9a0e-0f3f2b8e6a11",
            time=T0,
            customer_id="cus_A",
            case_id=None,
            data={
                "merge_id": "mrg_1",
                "surviving_customer_id": "cus_A",
                "merged_customer_id": "cus_B",
                "evidence": "app login holds both identifiers",
                "merged_at": T0,
            },
        ),
        CustomerUnmerged(
            event_id="1b8e3f5e-3c57-5b43-9a0e-0f3f2b8e6a11",
            time=T0,
            customer_id="cus_A",
            case_id=None,
            data={
                "merge_id": "mrg_1",
                "surviving_customer_id": "cus_A",
                "restored_customer_id": "cus_B",
                "unmerged_at": T0,
            },
        ),
        CustomerErased(
            event_id="2b8e3f5e-3c57-5b43-9a0e-0f3f2b8e6a11",
            time=T0,
            customer_id="cus_A",
            case_id=None,
            data={"customer_id": "cus_A", "erased_at": T0},
        ),
        IdentitySuggested(
            event_id="3b8e3f5e-3c57-5b43-9a0e-0f3f2b8e6a11",
            time=T0,
            customer_id="cus_A",
            case_id="case_1",
            data={
                "contact_id": "01M6DQS9M031DHHYXX5ZQCSE9Z",
                "customer_id": "cus_A",
                "identifier": email("Ana@Example.com", Assurance.CLAIMED),
                "candidate_customer_id": "cus_B",
                "case_id": "case_1",
                "evidence": "email address typed in the message",
            },
        ),
    ],
    ids=lambda event: event.type.value,
)
def test_events_not_emitted_yet_already_fit_their_published_schemas(event: EventEnvelope) -> None:
    jsonschema.validate(json.loads(event.model_dump_json()), committed_schema(event.type.value))
