"""Reports about one call merge into one contact, whatever their order and repetition."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

import boto3
from hypothesis import given
from hypothesis import strategies as st

from functions.processor.handler import lambda_handler as processor_handler
from shared.adapters.dynamo.contacts import DynamoStore, VersionedContact
from shared.config import get_settings
from shared.ingest.message import ContactMessage
from shared.linking import calls
from shared.linking.processor import ContactProcessor, Outcome
from shared.model.contact import Assurance, Contact, LinkRule, Revision
from shared.wiring import get_store
from tests.builders import FakeContext, sms_contact, sqs_event, voice_report
from tests.conftest import Account

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CALL_REPORTS = [
    ("incoming.json", "incoming"),
    ("status_ringing.json", "status"),
    ("status_in_progress.json", "status"),
    ("status_completed.json", "status"),
    ("recording_completed.json", "recording"),
    ("transcription_completed.json", "transcription"),
]


def report(fixture: str, event: str, *, at: datetime = T0, **changes: str) -> Contact:
    return voice_report(fixture, event, at=at, **changes)


def call_reports(**changes: str) -> list[Contact]:
    return [report(f, e, at=T0 + timedelta(seconds=i), **changes) for i, (f, e) in enumerate(CALL_REPORTS)]


REPORTS = call_reports()


def same_call(contact: Contact) -> Contact:
    """A contact's content: the id is the stored contact's (its key cannot move), so it is set aside."""
    return contact.model_copy(update={"contact_id": REPORTS[0].contact_id})


# --- the pure rules -------------------------------------------------------------------------


@given(order=st.permutations(range(len(REPORTS))), repeats=st.lists(st.sampled_from(range(len(REPORTS))), max_size=6))
def test_any_order_and_repetition_of_callbacks_converges_to_one_contact(order: list[int], repeats: list[int]) -> None:
    expected = same_call(reduce(calls.merge, REPORTS))
    sequence = [REPORTS[index] for index in [*order, *repeats]]
    assert same_call(reduce(calls.merge, sequence)) == expected


def test_merged_call_has_every_field_any_callback_set() -> None:
    merged = reduce(calls.merge, reversed(REPORTS))

    assert merged.content.status == "completed"
    assert merged.content.duration_s == 47
    assert merged.content.recording_duration_s == 31
    assert merged.content.recording_url and merged.content.recording_url.endswith("RE9f8e7d6c5b4a39281706f5e4d3c2b1a0")
    assert "order 4417" in (merged.content.transcript or "")
    assert merged.sender.display_name == "ALEX RIVERA"
    # The incoming call's STIR/SHAKEN attestation is not lost to the status callbacks' weaker caller id.
    assert merged.sender.identifiers[0].assurance is Assurance.CHANNEL
    assert merged.occurred_at == min(r.occurred_at for r in REPORTS)
    assert merged.revision is not None and not merged.revision.partial


@given(statuses=st.lists(st.sampled_from(["ringing", "in-progress", "completed", "busy", "no-answer"]), min_size=1))
def test_a_terminal_status_beats_ringing_and_in_progress_in_any_order(statuses: list[str]) -> None:
    reports = [
        report("status_ringing.json", "status", CallStatus=status, SequenceNumber=str(i))
        for i, status in enumerate(statuses)
    ]
    merged = reduce(calls.merge, reports)
    terminal = [status for status in statuses if status in calls.TERMINAL_STATUSES]
    if terminal:
        assert merged.content.status in terminal
    else:
        assert merged.content.status == ("in-progress" if "in-progress" in statuses else "ringing")


def test_late_ringing_never_erases_a_duration() -> None:
    completed, ringing = report("status_completed.json", "status"), report("status_ringing.json", "status")
    assert calls.merge(completed, ringing).content.duration_s == 47
    assert calls.merge(ringing, completed).content.status == "completed"


def test_newer_provider_snapshot_wins_and_the_older_fills_gaps() -> None:
    older = REPORTS[0].model_copy(
        update={
            "revision": Revision(key="record:1", updated_at=T0),
            "content": REPORTS[0].content.model_copy(update={"status": "in-progress", "transcript": "kept"}),
        }
    )
    newer = REPORTS[0].model_copy(
        update={
            "revision": Revision(key="record:2", updated_at=T0 + timedelta(minutes=3)),
            "content": REPORTS[0].content.model_copy(
                update={"status": "completed", "disconnect_reason": "AGENT_DISCONNECT"}
            ),
        }
    )
    for merged in (calls.merge(older, newer), calls.merge(newer, older)):
        assert merged.content.disconnect_reason == "AGENT_DISCONNECT"
        assert merged.content.transcript == "kept"
        assert merged.revision and merged.revision.updated_at == T0 + timedelta(minutes=3)


def test_merge_keeps_the_stored_customer_case_and_link() -> None:
    stored = REPORTS[0].model_copy(update={"customer_id": "cus_1", "case_id": "case_1", "link": None})
    assert calls.merge(stored, REPORTS[3]).customer_id == "cus_1"
    assert not calls.needs_linking(calls.merge(REPORTS[4], REPORTS[4]))  # two partial reports: nobody to link
    assert calls.needs_linking(calls.merge(REPORTS[4], REPORTS[0]))


# --- through the processor ------------------------------------------------------------------


def process(*contacts: Contact) -> dict[str, Any]:
    messages = [ContactMessage(contact=contact) for contact in contacts]
    return processor_handler(sqs_event(messages), FakeContext())  # type: ignore[arg-type,return-value]


def stored_call(sid: str) -> Contact:
    store = get_store()
    contact_id = store.find_contact_id("twilio", sid)
    assert contact_id
    contact = store.get_contact(contact_id)
    assert contact is not None
    return contact


def test_every_order_of_a_calls_callbacks_stores_one_contact_with_the_same_content(aws: Account) -> None:
    results = []
    for n, order in enumerate(itertools.permutations([0, 3, 4, 5])):
        sid = f"CA{n:032x}"
        reports = call_reports(CallSid=sid)
        # One message per batch, as SQS FIFO hands over a group's messages one after another.
        for index in order:
            process(reports[index])
        contact = stored_call(sid)
        timeline, _ = get_store().case_contacts(contact.case_id or "", limit=50, cursor=None)
        assert [c.provider_message_id for c in timeline].count(sid) == 1
        results.append(contact.content)
    assert all(content == results[0] for content in results)
    assert (results[0].status, results[0].duration_s, results[0].recording_duration_s) == ("completed", 47, 31)


def test_status_callback_processed_first_creates_the_call_and_the_incoming_call_merges_into_it(aws: Account) -> None:
    process(REPORTS[3])
    first = stored_call(REPORTS[0].provider_message_id)
    process(REPORTS[0])
    merged = stored_call(REPORTS[0].provider_message_id)

    assert merged.contact_id == first.contact_id
    assert (merged.customer_id, merged.case_id, merged.link) == (first.customer_id, first.case_id, first.link)
    assert merged.sender.display_name == "ALEX RIVERA"
    assert merged.content.status == "completed"


def test_recording_callback_first_waits_unlinked_and_the_call_links_when_its_parties_arrive(aws: Account) -> None:
    process(REPORTS[4])
    fragment = stored_call(REPORTS[0].provider_message_id)
    assert fragment.link is None and fragment.case_id is None  # no anonymous case for a report without parties

    process(REPORTS[0])
    call = stored_call(REPORTS[0].provider_message_id)
    assert call.contact_id == fragment.contact_id
    assert call.link is not None and call.link.rule is LinkRule.NEW_CASE
    assert call.customer_id and call.content.recording_url


def test_retried_callback_changes_nothing(aws: Account) -> None:
    process(REPORTS[0], REPORTS[3])
    before = stored_call(REPORTS[0].provider_message_id)
    processor = ContactProcessor(get_store(), get_settings())
    assert processor.process(REPORTS[3]).outcome is Outcome.DUPLICATE
    assert stored_call(REPORTS[0].provider_message_id) == before


class RacingStore(DynamoStore):
    """A store where another processor merges a report between our read and our write."""

    def __init__(self, client: Any, table: str, rival: Contact) -> None:
        super().__init__(client, table)
        self._rival: Contact | None = rival

    def get_versioned(self, contact_id: str) -> VersionedContact | None:
        read = super().get_versioned(contact_id)
        if self._rival is not None:
            rival, self._rival = self._rival, None
            ContactProcessor(DynamoStore(boto3.client("dynamodb"), self._table), get_settings()).process(rival)
        return read


def test_concurrent_merges_into_one_call_lose_nothing(aws: Account) -> None:
    process(REPORTS[0])
    racing = ContactProcessor(RacingStore(boto3.client("dynamodb"), aws.table, rival=REPORTS[5]), get_settings())

    assert racing.process(REPORTS[3]).outcome is Outcome.MERGED
    call = stored_call(REPORTS[0].provider_message_id)
    assert call.content.status == "completed"  # ours
    assert "order 4417" in (call.content.transcript or "")  # the rival's


def test_merge_leaves_customer_and_case_alone_and_costs_three_round_trips(aws: Account) -> None:
    calls_made: list[str] = []
    client = boto3.client("dynamodb")
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls_made.append(model.name))
    processor = ContactProcessor(DynamoStore(client, aws.table), get_settings())

    processor.process(REPORTS[0])
    assert len(calls_made) == 6, calls_made  # a new caller: 4 as for any new customer, + claim marker, + versioned put
    linked = stored_call(REPORTS[0].provider_message_id)
    calls_made.clear()
    assert processor.process(REPORTS[3]).outcome is Outcome.MERGED
    assert calls_made == ["BatchGetItem", "GetItem", "PutItem"]
    merged = stored_call(REPORTS[0].provider_message_id)
    assert (merged.customer_id, merged.case_id, merged.link) == (linked.customer_id, linked.case_id, linked.link)
    calls_made.clear()
    assert processor.process(REPORTS[3]).outcome is Outcome.DUPLICATE
    assert calls_made == ["BatchGetItem", "GetItem"]


def test_first_report_of_a_call_from_a_known_caller_costs_five_round_trips(aws: Account) -> None:
    calls_made: list[str] = []
    client = boto3.client("dynamodb")
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls_made.append(model.name))
    processor = ContactProcessor(DynamoStore(client, aws.table), get_settings())
    processor.process(sms_contact("SM1", "+14155550123", at=datetime.now(UTC) - timedelta(hours=2)))
    calls_made.clear()

    assert processor.process(report("incoming.json", "incoming", at=datetime.now(UTC))).outcome is Outcome.STORED
    assert calls_made == ["BatchGetItem", "PutItem", "UpdateItem", "BatchWriteItem", "PutItem"]  # links, then the call
