"""A parsed email → the Contact: ids, times, parties, threading keys and flags, the same for every provider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.channels.email.contacts import Delivery, occurred_at, provider_message_id, to_contact
from shared.channels.email.limits import EmailLimits
from shared.channels.email.mime import parse_message
from shared.channels.email.parsed import ParsedEmail
from shared.channels.email.storage import store_parts
from shared.linking import rules as linking
from shared.model import thread_keys
from shared.model.contact import Assurance, Channel, ClaimKind, Contact, Direction, Provider
from tests.builders import event_fixture

SENT = datetime(2025, 3, 4, 9, 15, tzinfo=UTC)  # the corpus' Date: Tue, 4 Mar 2025 10:15:00 +0100


class MemoryStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes, content_type: str) -> str:
        self.objects[key] = data
        return f"s3://memory/{key}"


def parsed(name: str) -> ParsedEmail:
    return parse_message(event_fixture("email", name), EmailLimits())


def delivery(**changes: object) -> Delivery:
    values: dict[str, object] = {
        "provider": Provider.SES,
        "received_at": SENT + timedelta(seconds=3),
        "fallback_message_id": "ses-id-1",
        **changes,
    }
    return Delivery(**values)  # type: ignore[arg-type]


def contact(name: str, **changes: object) -> Contact:
    email = parsed(name)
    return to_contact(email, delivery(**changes), tuple(part.attachment for part in email.attachments))


def test_an_inbound_email_contact_names_sender_recipient_subject_and_text() -> None:
    made = contact("alternative.eml", sender_assurance=Assurance.CHANNEL, envelope_recipient="Support@Acme.Example")

    assert (made.channel, made.direction, made.provider) == (Channel.EMAIL, Direction.INBOUND, Provider.SES)
    assert made.sender.identifiers[0].value == "ann.jones@example.net"
    assert made.sender.identifiers[0].assurance is Assurance.CHANNEL
    assert made.sender.display_name == "Ann Jones"
    assert made.recipient.identifiers[0].value == "support@acme.example"
    assert made.content.subject == made.thread.subject == "Refund request"
    assert made.content.text == "Please refund order 100234, the kettle leaks."
    assert made.occurred_at == SENT


def test_without_an_envelope_recipient_the_first_to_address_is_ours() -> None:
    assert contact("alternative.eml").recipient.identifiers[0].value == "support@acme.example"


def test_the_message_id_is_the_provider_message_id_and_the_fallback_covers_its_absence() -> None:
    assert contact("alternative.eml").provider_message_id == "alt-1@mail.example.net"
    assert contact("no_message_id.eml").provider_message_id == "ses-id-1"


def test_a_message_id_longer_than_the_schema_allows_is_hashed_stably() -> None:
    email = parse_message(
        b"From: a@example.net\r\nMessage-ID: <" + b"x" * 400 + b"@example.net>\r\n\r\nhi", EmailLimits()
    )
    first = provider_message_id(email, delivery())
    assert first.startswith("sha256:")
    assert first == provider_message_id(email, delivery())


@pytest.mark.parametrize(
    ("date_shift", "uses_date"),
    [(timedelta(0), True), (timedelta(days=-2), True), (timedelta(days=-4), False), (timedelta(hours=1), False)],
    ids=["now", "two-days-old", "four-days-old", "an-hour-ahead"],
)
def test_the_date_header_is_trusted_only_near_the_providers_time(date_shift: timedelta, uses_date: bool) -> None:
    email = parsed("alternative.eml")
    provider_time = SENT - date_shift
    at = occurred_at(email, delivery(provider_time=provider_time))
    assert at == (SENT if uses_date else provider_time)


def test_automated_mail_is_flagged_so_it_never_opens_a_case() -> None:
    for name in ("auto_reply_rfc3834.eml", "dsn_bounce.eml", "list_mail.eml", "out_of_office_exchange.eml"):
        made = contact(name)
        assert made.automated
        assert not linking.may_open_case(made)
    assert not contact("auto_submitted_no.eml").automated


def test_a_reply_looks_up_the_thread_key_the_first_message_registered() -> None:
    first = contact("plain_text_crlf.eml")
    reply = contact("gmail_reply.eml")
    assert "msg#CAF3x9aQ1@mail.example.net" in thread_keys.owned(first)
    assert "msg#CAF3x9aQ1@mail.example.net" in thread_keys.quoted(reply)


def test_outlook_replies_without_in_reply_to_share_the_conversation_key() -> None:
    first = contact("outlook_first_message.eml")
    reply = contact("outlook_reply_thread_index.eml")
    [conversation] = [key for key in thread_keys.owned(first) if key.startswith("conv#")]
    assert conversation in thread_keys.quoted(reply)


def test_message_id_keys_come_before_the_outlook_conversation_key() -> None:
    keys = thread_keys.quoted(contact("gmail_reply.eml"))
    assert keys[0] == "msg#support-0001@acme.example"


def test_a_sender_without_a_valid_address_is_a_party_without_identifiers() -> None:
    assert contact("malformed_from.eml").sender.identifiers == ()


def test_stored_attachments_carry_their_keys_and_the_raw_message_is_listed_last() -> None:
    email = parsed("attachment_pdf.eml")
    store = MemoryStore()
    recorded = store_parts(email, provider=Provider.SES, provider_message_id="att-1@mail.example.net", store=store)

    pdf, original = recorded
    assert pdf.storage_key is not None
    assert pdf.storage_key.endswith("/01-invoice-100234.pdf")
    assert original.name == "message.eml"
    assert store.objects[(original.storage_key or "").removeprefix("s3://memory/")] == email.raw


def test_storage_keys_are_the_same_on_a_retry() -> None:
    email = parsed("attachment_pdf.eml")
    first = store_parts(email, provider=Provider.SES, provider_message_id="m", store=MemoryStore())
    again = store_parts(email, provider=Provider.SES, provider_message_id="m", store=MemoryStore())
    assert first == again


def test_the_contact_fits_an_sqs_message_even_at_every_text_limit() -> None:
    text = '"quoted" \\ text ' * 20_000
    raw = ("From: a@example.net\r\nMessage-ID: <big@x>\r\nContent-Type: text/plain\r\n\r\n" + text).encode()
    email = parse_message(raw, EmailLimits())
    made = to_contact(email, delivery(), ())
    assert len(made.model_dump_json().encode()) < 256 * 1024


def test_a_case_reference_becomes_a_claim_on_the_contact() -> None:
    claims = contact("case_reference_subject.eml").claims
    assert [(claim.kind, claim.value) for claim in claims] == [(ClaimKind.CASE_REFERENCE, "TL-FV70XWGY-G")]


def test_a_reference_typed_in_the_body_in_lower_case_is_found_once() -> None:
    from shared.channels.email.parsed import case_references

    assert case_references("Re: help", "my case is tl-fv70xwgy-g, again TL-FV70XWGY-G") == ("TL-FV70XWGY-G",)
