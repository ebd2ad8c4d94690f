"""A case reference read out in a voicemail moves the call onto the named case (rule 5, second match)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.model import minted
from shared.model.contact import Assurance, LinkRule
from shared.wiring import get_store
from tests.builders import stored_contact, voice_fixture
from tests.component.test_twilio_voice_linking import deliver, text
from tests.conftest import Account, clear_factories

MESSENGER_LIKE_CUSTOMER = "+14155550177"  # someone other than the caller, as in the classic journey


@pytest.fixture
def stack(aws: Account) -> Iterator[Account]:
    clear_factories()
    yield aws
    clear_factories()


def call_reports(transcript: str) -> list[tuple[dict[str, str], str | None]]:
    return [
        (voice_fixture("incoming.json"), None),
        (voice_fixture("status_completed.json"), None),
        (voice_fixture("recording_completed.json"), "recording"),
        (voice_fixture("transcription_completed.json", TranscriptionText=transcript), "transcription"),
    ]


def test_reference_in_a_voicemail_transcript_moves_the_call_onto_that_case_claimed(stack: Account) -> None:
    # Given another customer's open case
    text("SM1", datetime.now(UTC) - timedelta(hours=3), sender=MESSENGER_LIKE_CUSTOMER)
    first = stored_contact("twilio", "SM1")
    reference = minted.case_reference(first.case_id or "")

    # When a call's transcript, arriving last, reads the reference out
    deliver(stack, *call_reports(f"Hi, I am calling about case {reference}, please call me back."))

    # Then the call is on that case, marked claimed, and its caller stays their own customer
    call = stored_contact("twilio", voice_fixture("incoming.json")["CallSid"])
    assert call.case_id == first.case_id
    assert call.link is not None and call.link.rule is LinkRule.REFERENCE
    assert call.link.assurance is Assurance.CLAIMED
    assert call.customer_id not in (None, first.customer_id)


def test_callers_own_reference_in_a_voicemail_moves_the_call_onto_their_case_plainly(stack: Account) -> None:
    caller = voice_fixture("incoming.json")["From"]
    text("SM1", datetime.now(UTC) - timedelta(days=10), sender=caller)  # out of the reopen window
    first = stored_contact("twilio", "SM1")

    deliver(stack, *call_reports(f"It's about {minted.case_reference(first.case_id or '')} again."))

    call = stored_contact("twilio", voice_fixture("incoming.json")["CallSid"])
    assert call.case_id == first.case_id
    assert call.link is not None and call.link.rule is LinkRule.REFERENCE and call.link.assurance is None
    case_contacts, _ = get_store().case_contacts(first.case_id or "", limit=10, cursor=None)
    assert {c.contact_id for c in case_contacts} == {first.contact_id, call.contact_id}


def test_voicemail_without_a_reference_keeps_the_case_the_call_opened(stack: Account) -> None:
    deliver(stack, *call_reports("Hi, the parcel did not arrive."))

    call = stored_contact("twilio", voice_fixture("incoming.json")["CallSid"])
    assert call.link is not None and call.link.rule is LinkRule.NEW_CASE
