"""Rule 4 and rule 5 on the hot path: claims suggest, references link, nothing claimed ever merges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from shared.adapters.dynamo import keys
from shared.adapters.dynamo.contacts import DynamoStore
from shared.adapters.dynamo.identity import DynamoIdentityStore
from shared.adapters.dynamo.stream import ChangeName, RawChange, decode
from shared.config import get_settings
from shared.events.derivation import derive_events
from shared.linking.merging import Merging
from shared.linking.processor import ContactProcessor
from shared.model import identifiers, minted
from shared.model.contact import Assurance, Channel, Contact, Direction, Identifier, LinkRule, Party, Provider, Thread
from shared.model.events import EventType
from tests.builders import email_contact as email
from tests.builders import sms_contact
from tests.conftest import Account

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ANN_PHONE, BOB_PHONE = "+14155550123", "+14155550177"
ANN_EMAIL, ANN_WORK = "ann@example.org", "ann.work@example.org"
SHOP = Party(identifiers=(identifiers.email("support@shop.example.org", Assurance.CHANNEL),))


@pytest.fixture
def processor(aws: Account) -> ContactProcessor:
    client = boto3.client("dynamodb")
    return ContactProcessor(
        DynamoStore(client, aws.table), get_settings(), Merging(DynamoIdentityStore(client, aws.table))
    )


def x_reply(tweet_id: str, user_id: str, conversation: str, *, at: datetime) -> Contact:
    return Contact(
        contact_id=minted.contact_id("x", tweet_id, at),
        channel=Channel.X,
        provider=Provider.X,
        direction=Direction.INBOUND,
        provider_message_id=tweet_id,
        occurred_at=at,
        received_at=at,
        sender=Party(identifiers=(identifiers.x_user(user_id),)),
        recipient=Party(identifiers=(identifiers.x_user("999"),)),
        thread=Thread(conversation_id=conversation),
        content={"text": "@shop same problem here"},  # type: ignore[arg-type]
    )


def stored(processor: ContactProcessor, contact: Contact) -> Contact:
    processor.process(contact)
    found = DynamoStore(boto3.client("dynamodb"), get_settings().table_name).get_contact(contact.contact_id)
    assert found is not None
    return found


def item(key: keys.Key) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb").Table(get_settings().table_name)
    found: dict[str, Any] | None = table.get_item(Key=key).get("Item")
    return found


def owner_of(identifier: Identifier) -> str | None:
    found = item(keys.identifier(identifier))
    return str(found["customer_id"]) if found else None


def phone(value: str) -> Identifier:
    return identifiers.phone(value, "US", Assurance.CHANNEL)


# --- claimed identifiers (rule 4) -------------------------------------------------------------------


def test_claimed_email_of_another_customer_never_merges_and_is_suggested(processor: ContactProcessor) -> None:
    # Given Ann, known by her email
    ann = stored(processor, email("<a1@mail.example.org>", ANN_EMAIL, at=T0))
    # When Bob texts Ann's address as if it were his
    bob = stored(processor, sms_contact("SM1", BOB_PHONE, at=T0 + timedelta(hours=1), text=f"I am {ANN_EMAIL}"))

    # Then Bob stays his own customer on his own case, Ann is untouched
    assert bob.customer_id not in (None, ann.customer_id)
    assert bob.case_id != ann.case_id
    assert owner_of(identifiers.email(ANN_EMAIL, Assurance.CHANNEL)) == ann.customer_id
    ann_profile = item(keys.profile(ann.customer_id or ""))
    assert ann_profile is not None and "merged_into" not in ann_profile and "absorbed" not in ann_profile
    # And a suggestion names the claim, who sent it and who owns it
    suggestion = item(keys.suggestion(bob.contact_id, f"email:{ANN_EMAIL}#{ann.customer_id}"))
    assert suggestion is not None
    assert (suggestion["customer_id"], suggestion["candidate_customer_id"]) == (bob.customer_id, ann.customer_id)
    assert suggestion["identifier"]["assurance"] == "claimed"


def test_claimed_phone_of_another_customer_never_changes_the_senders_customer(processor: ContactProcessor) -> None:
    ann = stored(processor, sms_contact("SM1", ANN_PHONE, at=T0))
    bob = stored(processor, email("<b1@mail.example.org>", "bob@example.org", at=T0, text="call me on 415 555 0123"))

    assert bob.customer_id not in (None, ann.customer_id)
    assert bob.link is not None and bob.link.rule is LinkRule.NEW_CASE
    assert owner_of(phone(ANN_PHONE)) == ann.customer_id
    suggestion = item(keys.suggestion(bob.contact_id, f"phone:{ANN_PHONE}#{ann.customer_id}"))
    assert suggestion is not None and suggestion["candidate_customer_id"] == ann.customer_id


def test_unowned_claimed_email_is_suggested_without_a_candidate(processor: ContactProcessor) -> None:
    bob = stored(processor, sms_contact("SM1", BOB_PHONE, at=T0, text="my email is bob@example.org"))

    suggestion = item(keys.suggestion(bob.contact_id, "email:bob@example.org"))
    assert suggestion is not None and "candidate_customer_id" not in suggestion
    assert owner_of(identifiers.email("bob@example.org", Assurance.CHANNEL)) is None  # a claim attaches nothing


def test_a_stored_suggestion_becomes_identity_suggested(processor: ContactProcessor) -> None:
    ann = stored(processor, email("<a1@mail.example.org>", ANN_EMAIL, at=T0))
    bob = stored(processor, sms_contact("SM1", BOB_PHONE, at=T0, text=f"I am {ANN_EMAIL}"))
    key = keys.suggestion(bob.contact_id, f"email:{ANN_EMAIL}#{ann.customer_id}")
    image = item(key)
    assert image is not None

    change = RawChange("stream-1", ChangeName.INSERT, T0, key, None, image)
    assert [event.type for event in derive_events(decode(change))] == [EventType.IDENTITY_SUGGESTED]


# --- case references (rule 5, second match) ------------------------------------------------------


def test_own_reference_after_the_window_links_back_to_that_case_plainly(processor: ContactProcessor) -> None:
    first = stored(processor, sms_contact("SM1", ANN_PHONE, at=T0))
    reference = minted.case_reference(first.case_id or "")

    later = stored(processor, sms_contact("SM2", ANN_PHONE, at=T0 + timedelta(days=20), text=f"re {reference}"))

    assert later.case_id == first.case_id
    assert later.link is not None and later.link.rule is LinkRule.REFERENCE
    assert later.link.assurance is None


def test_someone_elses_reference_links_the_contact_claimed_and_merges_nothing(processor: ContactProcessor) -> None:
    ann = stored(processor, sms_contact("SM1", ANN_PHONE, at=T0))
    reference = minted.case_reference(ann.case_id or "")

    bob = stored(processor, sms_contact("SM2", BOB_PHONE, at=T0 + timedelta(hours=1), text=f"about {reference}"))

    assert bob.case_id == ann.case_id
    assert bob.link is not None and bob.link.rule is LinkRule.REFERENCE
    assert bob.link.assurance is Assurance.CLAIMED
    assert bob.customer_id not in (None, ann.customer_id)
    assert owner_of(phone(BOB_PHONE)) == bob.customer_id
    assert owner_of(phone(ANN_PHONE)) == ann.customer_id
    suggestion = item(keys.suggestion(bob.contact_id, f"phone:{BOB_PHONE}#{ann.customer_id}"))
    assert suggestion is not None
    assert (suggestion["candidate_customer_id"], suggestion["case_id"]) == (ann.customer_id, ann.case_id)
    bob_profile = item(keys.profile(bob.customer_id or ""))
    assert bob_profile is not None and "merged_into" not in bob_profile


def test_claimed_case_does_not_become_the_senders_open_case(processor: ContactProcessor) -> None:
    ann = stored(processor, sms_contact("SM1", ANN_PHONE, at=T0))
    reference = minted.case_reference(ann.case_id or "")
    stored(processor, sms_contact("SM2", BOB_PHONE, at=T0 + timedelta(hours=1), text=f"about {reference}"))

    follow_up = stored(processor, sms_contact("SM3", BOB_PHONE, at=T0 + timedelta(hours=2), text="anyone?"))

    assert follow_up.case_id != ann.case_id


def test_mistyped_reference_links_as_if_there_were_none(processor: ContactProcessor) -> None:
    ann = stored(processor, sms_contact("SM1", ANN_PHONE, at=T0))
    reference = minted.case_reference(ann.case_id or "")
    typo = reference[:-1] + ("A" if reference[-1] != "A" else "B")

    bob = stored(processor, sms_contact("SM2", BOB_PHONE, at=T0 + timedelta(hours=1), text=f"about {typo}"))

    assert bob.case_id != ann.case_id
    assert bob.link is not None and bob.link.rule is LinkRule.NEW_CASE and bob.link.assurance is None
    assert bob.claims == ()


# --- thread keys of another customer (rule 5, first match) -----------------------------------------


def test_reply_from_a_second_address_joins_the_open_case_marked_claimed(processor: ContactProcessor) -> None:
    first = stored(processor, email("<a1@mail.example.org>", ANN_EMAIL, at=T0))

    reply = stored(
        processor,
        email("<a2@work.example.org>", ANN_WORK, at=T0 + timedelta(hours=3), in_reply_to=first.thread.message_id),
    )

    assert reply.case_id == first.case_id
    assert reply.link is not None and reply.link.rule is LinkRule.THREAD
    assert reply.link.assurance is Assurance.CLAIMED
    assert reply.customer_id not in (None, first.customer_id)
    assert item(keys.suggestion(reply.contact_id, f"email:{ANN_WORK}#{first.customer_id}")) is not None


def test_stranger_replying_in_a_public_x_conversation_does_not_join_its_case(processor: ContactProcessor) -> None:
    author = stored(processor, x_reply("1850000000000000001", "111", "1850000000000000001", at=T0))

    stranger = stored(
        processor, x_reply("1850000000000000002", "222", "1850000000000000001", at=T0 + timedelta(minutes=5))
    )

    assert stranger.customer_id not in (None, author.customer_id)
    assert stranger.case_id != author.case_id
    assert stranger.link is not None and stranger.link.assurance is None


# --- keys after a merge (issue 13, class 2) ---------------------------------------------------------


def test_a_reply_on_the_thread_of_a_customer_merged_since_is_the_survivors_own(processor: ContactProcessor) -> None:
    # Given Ann texting (the older customer), then emailing from an address not yet known to be hers
    texted = stored(processor, sms_contact("SM1", ANN_PHONE, at=T0))
    mailed = stored(processor, email("<a1@mail.example.org>", ANN_EMAIL, at=T0 + timedelta(hours=1)))
    assert texted.customer_id and mailed.customer_id and texted.customer_id != mailed.customer_id
    # And a CRM merging the two, so the email thread's key names a merged customer
    Merging(DynamoIdentityStore(boto3.client("dynamodb"), get_settings().table_name)).merge_customers(
        texted.customer_id, mailed.customer_id, "CRM record holds both"
    )

    # When she answers that email ten days later, outside the reopen window
    reply = stored(
        processor,
        email("<a2@mail.example.org>", ANN_EMAIL, at=T0 + timedelta(days=10), in_reply_to="<a1@mail.example.org>"),
    )

    # Then it joins the email's case as her own thread: not claimed, nothing suggested
    assert (reply.customer_id, reply.case_id) == (texted.customer_id, mailed.case_id)
    assert reply.link is not None and reply.link.rule is LinkRule.THREAD and reply.link.assurance is None
    assert item(keys.suggestion(reply.contact_id, f"email:{ANN_EMAIL}#{mailed.customer_id}")) is None
