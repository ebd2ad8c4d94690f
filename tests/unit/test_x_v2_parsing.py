"""X API v2 pages → contacts: the same contact the Account Activity webhook makes of the same post or DM."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.channels import x, x_v2
from shared.channels.x_contacts import SNOWFLAKE_EPOCH_MS
from shared.ingest.errors import MalformedPayload
from shared.model.contact import Contact, Direction
from tests.builders import event_fixture, json_request

OUR_ACCOUNT = "1478523690147852369"
ANN = "2244994945"
NOW = datetime(2024, 6, 11, tzinfo=UTC)


def webhook_contacts(*names: str) -> dict[str, Contact]:
    contacts = []
    for name in names:
        request = replace(json_request(event_fixture("x", name), path="/webhooks/x"), received_at=NOW)
        contacts += x.parse(request).contacts
    return {contact.provider_message_id: contact for contact in contacts}


def by_id(page: x_v2.TimelinePage) -> dict[str, Contact]:
    return {contact.provider_message_id: contact for contact in page.batch.contacts}


def mentions(payload: dict[str, Any]) -> x_v2.TimelinePage:
    return x_v2.parse_mentions(json.dumps(payload).encode(), OUR_ACCOUNT, received_at=NOW)


def dm_events(payload: dict[str, Any], newer_than: str | None = None) -> x_v2.TimelinePage:
    return x_v2.parse_dm_events(json.dumps(payload).encode(), OUR_ACCOUNT, received_at=NOW, newer_than=newer_than)


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(event_fixture("x", f"v2/{name}"))
    return loaded


def test_each_post_becomes_the_contact_the_webhook_makes_of_it_our_reply_included() -> None:
    webhook = webhook_contacts("mention.json", "conversation.json")

    polled = by_id(mentions(fixture("mentions.json")))

    assert polled == webhook  # contact ids, parties, thread, text, attachments: every field
    ours = polled["1800127000000000001"]  # known only as the post Ann's reply answers
    assert ours.direction is Direction.OUTBOUND
    assert ours.customer_party.identifiers[0].value == ANN


def test_each_dm_event_becomes_the_contact_the_webhook_makes_of_it() -> None:
    webhook = webhook_contacts("dm_inbound.json", "dm_outbound_media.json")

    polled = by_id(dm_events(fixture("dm_events.json")))

    assert polled == webhook


def test_a_post_stated_to_the_second_by_v2_and_to_the_millisecond_by_v1_mints_one_contact_id() -> None:
    created_ms = 1_718_018_200_123
    post_id = str(((created_ms - SNOWFLAKE_EPOCH_MS) << 22) | 0x2A5)
    v1 = json.loads(event_fixture("x", "mention.json"))
    v1["tweet_create_events"][0].update(id_str=post_id, timestamp_ms=str(created_ms))
    v2 = fixture("mentions.json")
    v2["data"] = [{**v2["data"][1], "id": post_id, "created_at": "2024-06-10T11:16:40.000Z"}]
    request = replace(json_request(json.dumps(v1).encode(), path="/webhooks/x"), received_at=NOW)

    [from_webhook] = x.parse(request).contacts
    [polled] = mentions(v2).batch.contacts

    assert polled.contact_id == from_webhook.contact_id
    assert polled.occurred_at == from_webhook.occurred_at == datetime(2024, 6, 10, 11, 16, 40, 123000, tzinfo=UTC)


def test_dm_events_at_or_below_the_cursor_were_read_before_and_end_the_walk() -> None:
    page = dm_events(fixture("dm_events.json"), newer_than="1801234567890123999")

    assert list(by_id(page)) == ["1801234567890124000"]
    assert page.resources == 1 + 2 + 2  # the new event and the page's users and media; not the two read before
    assert dm_events(fixture("dm_events.json"), newer_than="1801234567890124000").resources == 0
    assert page.reached
    assert page.newest_id == "1801234567890124000"
    assert page.next_token == "18LAA581J5II7LA00C00"


def test_a_page_reports_where_the_next_starts_and_every_resource_x_bills() -> None:
    page = mentions(fixture("mentions.json"))

    assert page.item_ids == ("1800130000000000002", "1800123456789012345")
    assert page.next_token is None
    assert not page.reached  # X applies since_id itself; a mentions walk ends when no next_token is left
    assert page.resources == 2 + 2 + 1 + 2  # posts, users, the referenced post, media


def test_an_empty_page_is_nothing_to_store() -> None:
    page = mentions({"meta": {"result_count": 0}})

    assert page.batch.contacts == []
    assert (page.item_ids, page.newest_id, page.resources) == ((), None, 0)


def test_our_reply_is_taken_once_however_many_posts_answer_it() -> None:
    payload = fixture("mentions.json")
    second_answer = {**payload["data"][0], "id": "1800131000000000003", "attachments": {}, "note_tweet": None}
    payload["data"].insert(0, second_answer)

    ids = [contact.provider_message_id for contact in mentions(payload).batch.contacts]

    assert ids.count("1800127000000000001") == 1


def test_reposts_group_conversations_and_other_events_are_counted_not_stored() -> None:
    posts = fixture("mentions.json")
    posts["data"][0]["referenced_tweets"] = [{"type": "retweeted", "id": "1800127000000000001"}]
    events = fixture("dm_events.json")
    events["data"][0]["dm_conversation_id"] = "1801234567000009999"
    events["data"][1]["event_type"] = "ParticipantsJoin"

    post_page, event_page = mentions(posts), dm_events(events)

    assert [c.provider_message_id for c in post_page.batch.contacts] == ["1800123456789012345"]
    assert post_page.batch.ignored == {"x.post.repost": 1}
    assert [c.provider_message_id for c in event_page.batch.contacts] == ["1801234567890123456"]
    assert event_page.batch.ignored == {"x.direct_message.group": 1, "x.direct_message.ParticipantsJoin": 1}


def test_an_unreadable_item_is_skipped_and_the_others_stored() -> None:
    events = fixture("dm_events.json")
    events["data"][0]["dm_conversation_id"] = "1-2"  # the sender is not in the conversation
    del events["data"][1]["sender_id"]

    page = dm_events(events)

    assert [c.provider_message_id for c in page.batch.contacts] == ["1801234567890123456"]
    assert sum(page.batch.skipped.values()) == 2
    assert page.item_ids == ("1801234567890124000", "1801234567890123999", "1801234567890123456")


@pytest.mark.parametrize("body", [b"<html>", b"[]"])
def test_an_answer_that_is_not_a_json_object_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        x_v2.parse_mentions(body, OUR_ACCOUNT, received_at=NOW)
