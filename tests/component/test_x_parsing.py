"""X Account Activity payloads → contacts: DMs are private, posts public and threaded, pure (no AWS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.channels import x
from shared.channels.payloads import ParsedBatch
from shared.ingest.errors import MalformedPayload
from shared.model import thread_keys
from shared.model.contact import AttachmentType, Channel, Direction, IdentifierKind, Provider, Visibility
from tests.builders import event_fixture, json_request

OUR_ACCOUNT = "1478523690147852369"
ANN = "2244994945"


def parse(name: str) -> ParsedBatch:
    return x.parse(json_request(event_fixture("x", name), path="/webhooks/x"))


def test_inbound_dm_is_private_and_keyed_by_numeric_user_id_with_handle_as_display() -> None:
    batch = parse("dm_inbound.json")

    [contact] = batch.contacts
    assert (contact.channel, contact.provider, contact.direction) == (Channel.X, Provider.X, Direction.INBOUND)
    assert contact.provider_message_id == "1801234567890123456"
    assert contact.occurred_at == datetime(2024, 6, 10, 10, 56, 40, 123000, tzinfo=UTC)
    [sender] = contact.sender.identifiers
    assert (sender.kind, sender.value) == (IdentifierKind.X, ANN)
    assert (contact.sender.handle, contact.sender.display_name) == ("annlee", "Ann Lee")
    assert contact.recipient.identifiers[0].value == OUR_ACCOUNT
    assert contact.recipient.handle == "ExampleShopHelp"
    assert contact.content.text == "Hi, my order #48213 has not arrived yet."
    assert contact.content.visibility is Visibility.PRIVATE
    assert not batch.ignored
    assert not batch.skipped


def test_dm_sent_by_our_account_is_outbound_to_the_customer_and_media_is_an_attachment() -> None:
    ours, theirs = parse("dm_outbound_media.json").contacts

    assert ours.direction is Direction.OUTBOUND
    assert ours.customer_party.identifiers[0].value == ANN
    assert ours.content.text == "Here is the tracking screen"  # the t.co link of the photo is the attachment
    [photo] = ours.content.attachments
    assert (photo.type, photo.content_id) == (AttachmentType.IMAGE, "1801234567000000001")
    assert photo.url and photo.url.startswith("https://ton.twitter.com/")
    assert theirs.direction is Direction.INBOUND
    [video] = theirs.content.attachments
    assert (video.type, video.content_type) == (AttachmentType.VIDEO, "video/mp4")
    assert video.url and video.url.endswith("/1280x720/high.mp4")  # the best variant


def test_mention_is_a_public_inbound_contact_that_registers_its_post_id() -> None:
    [mention] = parse("mention.json").contacts

    assert mention.direction is Direction.INBOUND
    assert mention.content.visibility is Visibility.PUBLIC
    assert mention.sender.identifiers[0].value == ANN
    assert mention.sender.handle == "annlee"
    assert mention.recipient.identifiers[0].value == OUR_ACCOUNT
    assert mention.occurred_at == datetime(2024, 6, 10, 11, 16, 40, tzinfo=UTC)
    assert mention.thread.message_id == "1800123456789012345"
    assert mention.thread.in_reply_to is None


def test_a_reply_chain_threads_every_post_onto_the_one_before_it() -> None:
    [mention] = parse("mention.json").contacts
    our_reply, their_reply = parse("conversation.json").contacts

    # Our answer is outbound to the person it replies to, and looks up the mention's case.
    assert our_reply.direction is Direction.OUTBOUND
    assert our_reply.customer_party.identifiers[0].value == ANN
    assert our_reply.customer_party.handle == "annlee"
    assert set(thread_keys.owned(mention)) & set(thread_keys.quoted(our_reply))
    # Their reply to our answer (two levels down) still finds it.
    assert their_reply.direction is Direction.INBOUND
    assert set(thread_keys.owned(our_reply)) & set(thread_keys.quoted(their_reply))


def test_truncated_post_is_read_in_full_with_every_photo() -> None:
    their_reply = parse("conversation.json").contacts[1]

    assert their_reply.content.text is not None
    assert their_reply.content.text.endswith("Two photos attached.")
    assert [a.content_id for a in their_reply.content.attachments] == ["1800129990000000011", "1800129990000000012"]


def test_broadcasts_reposts_likes_typing_and_read_receipts_are_not_contacts() -> None:
    batch = parse("not_contacts.json")

    [question] = batch.contacts
    assert question.sender.handle == "samdoe"
    assert question.occurred_at == datetime(2024, 6, 10, 12, 7, tzinfo=UTC)  # from created_at
    assert batch.ignored == {
        "x.post.own_broadcast": 1,
        "x.post.repost": 1,
        "x.favorite_events": 1,
        "x.direct_message_indicate_typing_events": 1,
        "x.direct_message_mark_read_events": 1,
        "x.direct_message.welcome_message": 1,
    }
    assert batch.skipped == {
        "x.post: timestamp is out of range": 1,
        "x.direct_message: X user id must be numeric": 1,
    }


def test_unknown_future_activity_is_counted_by_name() -> None:
    body = json.dumps({"for_user_id": OUR_ACCOUNT, "subscription_revoke_events": [{"user": "x"}]}).encode()
    batch = x.parse(json_request(body, path="/webhooks/x"))
    assert batch.contacts == []
    assert batch.ignored == {"x.subscription_revoke_events": 1}


@pytest.mark.parametrize("body", [b"[]", b'{"tweet_create_events": []}', b"not json"])
def test_a_body_without_for_user_id_is_malformed(body: bytes) -> None:
    with pytest.raises((MalformedPayload, ValueError)):
        x.parse(json_request(body, path="/webhooks/x"))
