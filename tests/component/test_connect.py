"""Amazon Connect contact records from Kinesis: parsing, the batch contract, and threading."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from functions.connect.handler import lambda_handler as connect_handler
from functions.processor.handler import lambda_handler as processor_handler
from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.sqs import QueueUnavailable
from shared.channels import connect
from shared.config import get_settings
from shared.ingest.message import ContactMessage
from shared.linking.processor import ContactProcessor, Outcome
from shared.model import minted
from shared.model.contact import Assurance, AttachmentType, Channel, ClaimKind, Contact, Direction, LinkRule
from shared.wiring import get_store
from tests.builders import (
    FakeContext,
    contacts_from_queue,
    event_fixture,
    kinesis_event,
    sms_contact,
    sqs_event,
    stored_contact,
    timeline_of,
)
from tests.conftest import Account

ARRIVED = datetime(2026, 11, 3, 14, 10, tzinfo=UTC)
VOICE_ID = "6a7b2c1d-3e4f-4a5b-9c8d-0e1f2a3b4c5d"


def record(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(event_fixture("connect", name))
    return {**data, **changes}


def parse(data: dict[str, Any], case_attribute: str = "caseReference") -> Contact | None:
    return connect.parse(
        json.dumps(data).encode(), received_at=ARRIVED, default_region="US", case_attribute=case_attribute
    )


def parsed(name: str, **changes: Any) -> Contact:
    contact = parse(record(name, **changes))
    assert contact is not None
    return contact


def process(*contacts: Contact) -> None:
    processor_handler(sqs_event([ContactMessage(contact=c) for c in contacts]), FakeContext())  # type: ignore[arg-type]


# --- parsing --------------------------------------------------------------------------------


def test_inbound_voice_record_is_a_voice_contact_from_the_callers_number() -> None:
    contact = parsed("voice_inbound.json")

    assert (contact.channel, contact.direction, contact.provider_message_id) == (
        Channel.VOICE,
        Direction.INBOUND,
        VOICE_ID,
    )
    [caller] = contact.sender.identifiers
    assert (caller.value, caller.assurance) == ("+14155550123", Assurance.WEAK)
    assert contact.recipient.identifiers[0].value == "+14155559999"
    assert contact.occurred_at == datetime(2026, 11, 3, 14, 1, 58, tzinfo=UTC)
    assert contact.thread.call_id == VOICE_ID
    assert (contact.content.status, contact.content.duration_s) == ("completed", 355)
    assert contact.content.disconnect_reason == "CUSTOMER_DISCONNECT"
    assert contact.revision is not None
    assert contact.revision.updated_at == datetime(2026, 11, 3, 14, 9, 2, tzinfo=UTC)


def test_every_copy_of_a_record_is_the_same_contact_id_with_its_own_revision() -> None:
    first, later = parsed("voice_inbound.json"), parsed("voice_inbound_after_contact_work.json")
    assert first.contact_id == later.contact_id
    assert first.revision and later.revision and first.revision.key != later.revision.key


def test_recording_location_is_kept_as_an_s3_url_and_an_audio_attachment() -> None:
    contact = parsed("voice_inbound_after_contact_work.json")

    assert contact.content.recording_url is not None
    assert contact.content.recording_url.startswith(
        "s3://amazon-connect-5f2c8a4e/connect/threadline-demo/CallRecordings/"
    )
    [audio] = contact.content.attachments
    assert audio.type is AttachmentType.AUDIO
    assert audio.storage_key and contact.content.recording_url.endswith(audio.storage_key)


def test_transfer_names_the_contact_it_continues() -> None:
    transfer = parsed("voice_transfer.json")
    assert transfer.thread.previous_contact_id == transfer.thread.initial_contact_id == VOICE_ID


def test_web_chat_without_customer_endpoint_is_an_anonymous_chat_with_its_transcript() -> None:
    chat = parsed("chat_web.json")

    assert chat.channel is Channel.CHAT
    assert chat.direction is Direction.INBOUND
    assert chat.sender.identifiers == ()
    assert [a.type for a in chat.content.attachments] == [AttachmentType.FILE]


def test_outbound_call_makes_the_customer_the_recipient() -> None:
    contact = parsed("voice_inbound.json", InitiationMethod="OUTBOUND")
    assert contact.direction is Direction.OUTBOUND
    assert contact.customer_party.identifiers[0].value == "+14155550123"


def test_withheld_caller_id_leaves_the_caller_anonymous() -> None:
    contact = parsed("voice_inbound.json", CustomerEndpoint={"Address": "anonymous", "Type": "TELEPHONE_NUMBER"})
    assert contact.sender.identifiers == ()


def test_task_never_opens_a_case_of_its_own() -> None:
    task = parsed("voice_inbound.json", Channel="TASK", CustomerEndpoint=None, RelatedContactId=VOICE_ID)
    assert (task.channel, task.automated, task.thread.previous_contact_id) == (Channel.TASK, True, VOICE_ID)


def test_supervisor_monitoring_is_not_stored() -> None:
    assert parse(record("voice_inbound.json", InitiationMethod="MONITOR")) is None


def test_case_reference_attribute_becomes_a_canonical_claim() -> None:
    contact = parsed("voice_inbound.json", Attributes={"caseReference": "tl-69r4rpcn-c"})
    assert [(c.kind, c.value) for c in contact.claims] == [(ClaimKind.CASE_REFERENCE, "TL-69R4RPCN-C")]


def test_case_reference_attribute_name_is_configurable() -> None:
    data = record("voice_inbound.json", Attributes={"ticket": "TL-69R4RPCN-C"})
    contact = parse(data, case_attribute="ticket")
    assert contact is not None and [c.value for c in contact.claims] == ["TL-69R4RPCN-C"]


def test_case_reference_with_a_wrong_check_symbol_is_no_claim() -> None:
    assert parsed("voice_inbound.json", Attributes={"caseReference": "TL-69R4RPCN-D"}).claims == ()


# --- the Kinesis batch ----------------------------------------------------------------------


def test_batch_queues_every_good_record_and_skips_the_malformed_ones(aws: Account) -> None:
    good = [event_fixture("connect", "voice_inbound.json"), event_fixture("connect", "chat_web.json")]
    bad = [b"not json at all", json.dumps(record("voice_inbound.json", ContactId="")).encode()]
    response = connect_handler(kinesis_event([good[0], *bad, good[1]]), FakeContext())

    assert response == {"batchItemFailures": []}
    assert {c.provider_message_id for c in contacts_from_queue(aws.queued_bodies())} == {
        VOICE_ID,
        "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
    }


def test_record_the_queue_refuses_is_reported_as_a_batch_item_failure(
    aws: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    class RefusingQueue:
        def send(self, messages: list[ContactMessage]) -> None:
            if messages[0].contact.channel is Channel.CHAT:
                raise QueueUnavailable("ingest queue refused the batch")

    monkeypatch.setattr("functions.connect.handler.get_ingest_queue", RefusingQueue)
    payloads = [event_fixture("connect", "voice_inbound.json"), event_fixture("connect", "chat_web.json")]
    event = kinesis_event(payloads)
    response = connect_handler(event, FakeContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["kinesis"]["sequenceNumber"]}]}


# --- through the processor ------------------------------------------------------------------


def test_a_transfer_threads_onto_the_case_of_the_contact_it_continues(aws: Account) -> None:
    process(parsed("voice_inbound.json"))
    process(parsed("voice_transfer.json"))

    first, transfer = (
        stored_contact("connect", VOICE_ID),
        stored_contact("connect", "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"),
    )
    assert transfer.case_id == first.case_id is not None
    assert transfer.link is not None and transfer.link.rule is LinkRule.THREAD


def test_a_transferred_anonymous_chat_still_threads_onto_the_chats_case(aws: Account) -> None:
    chat = record("chat_web.json")
    process(parsed("chat_web.json"))
    process(
        parsed(
            "chat_web.json",
            ContactId="7e6d5c4b-3a29-4187-9f6e-5d4c3b2a1908",
            InitialContactId=chat["ContactId"],
            PreviousContactId=chat["ContactId"],
            InitiationMethod="TRANSFER",
        )
    )

    first, transfer = (
        stored_contact("connect", chat["ContactId"]),
        stored_contact("connect", "7e6d5c4b-3a29-4187-9f6e-5d4c3b2a1908"),
    )
    assert first.link is not None and first.link.rule is LinkRule.ANONYMOUS
    assert transfer.case_id == first.case_id is not None
    assert transfer.link is not None and transfer.link.rule is LinkRule.THREAD


def test_redelivered_records_keep_one_contact_with_the_newest_copy_whatever_the_order(aws: Account) -> None:
    newer, older = parsed("voice_inbound_after_contact_work.json"), parsed("voice_inbound.json")
    process(newer)
    process(older)
    process(newer)

    contact = stored_contact("connect", VOICE_ID)
    assert contact.revision is not None and contact.revision.updated_at == newer.revision.updated_at  # type: ignore[union-attr]
    assert contact.content.recording_url == newer.content.recording_url
    timeline, _ = timeline_of(contact.customer_id or "")
    assert [c.provider_message_id for c in timeline] == [VOICE_ID]


def test_connect_call_from_a_number_that_texted_lands_on_the_texts_case(aws: Account) -> None:
    process(sms_contact("SM1", "+14155550123", at=datetime(2026, 11, 3, 13, 0, tzinfo=UTC)))
    process(parsed("voice_inbound.json"))

    sms, call = stored_contact("twilio", "SM1"), stored_contact("connect", VOICE_ID)
    assert call.customer_id == sms.customer_id is not None
    assert call.case_id == sms.case_id


def test_case_reference_typed_into_the_ivr_brings_the_call_onto_that_case(aws: Account) -> None:
    # Given a customer whose SMS opened a case, and a call from another number quoting its reference
    process(sms_contact("SM1", "+14155550199", at=datetime(2026, 11, 1, 9, 0, tzinfo=UTC)))
    case = stored_contact("twilio", "SM1").case_id
    assert case
    process(parsed("voice_inbound.json", Attributes={"caseReference": minted.case_reference(case)}))

    # Then the call is on that case for context, marked claimed: the caller proved nothing
    call = stored_contact("connect", VOICE_ID)
    assert call.case_id == case
    assert call.link is not None and call.link.rule is LinkRule.REFERENCE
    assert call.link.assurance is Assurance.CLAIMED
    assert call.customer_id != stored_contact("twilio", "SM1").customer_id
    assert get_store().get_customer(call.customer_id or "") is not None  # the new caller is a customer of their own


def test_a_changed_copy_of_a_record_merges_in_two_round_trips_and_a_repeat_in_one(aws: Account) -> None:
    calls_made: list[str] = []
    client = boto3.client("dynamodb")
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls_made.append(model.name))
    processor = ContactProcessor(DynamoStore(client, aws.table), get_settings())
    processor.process(parsed("voice_inbound.json"))
    calls_made.clear()

    assert processor.process(parsed("voice_inbound_after_contact_work.json")).outcome is Outcome.MERGED
    assert calls_made == ["BatchGetItem", "PutItem"]
    calls_made.clear()
    assert processor.process(parsed("voice_inbound.json")).outcome is Outcome.DUPLICATE
    assert calls_made == ["BatchGetItem"]
