"""X webhooks through the processor (moto): a public conversation stays on the case it opened."""

from __future__ import annotations

import json

from functions.processor.handler import lambda_handler as processor
from functions.x.handler import lambda_handler as x_webhook
from shared.ingest.message import ContactMessage
from shared.model.contact import Contact, LinkRule
from tests.builders import FakeContext, event_fixture, sqs_event, stored_contact, x_event
from tests.conftest import Account


def deliver(account: Account, body: bytes) -> None:
    assert x_webhook(x_event(body), FakeContext())["statusCode"] == 200
    messages = [ContactMessage.model_validate_json(queued) for queued in account.queued_bodies()]
    processor(sqs_event(messages), FakeContext())  # type: ignore[arg-type]


def stored(post_id: str) -> Contact:
    return stored_contact("x", post_id)


def test_mention_our_reply_and_their_reply_share_one_case_by_thread(aws: Account) -> None:
    deliver(aws, event_fixture("x", "mention.json"))
    deliver(aws, event_fixture("x", "conversation.json"))

    mention, ours, theirs = stored("1800123456789012345"), stored("1800127000000000001"), stored("1800130000000000002")
    assert mention.link and mention.link.rule is LinkRule.NEW_CASE
    assert ours.case_id == theirs.case_id == mention.case_id is not None
    assert ours.link and ours.link.rule is LinkRule.THREAD
    assert theirs.link and theirs.link.rule is LinkRule.THREAD
    assert {ours.customer_id, theirs.customer_id} == {mention.customer_id}


def test_someone_else_replying_in_the_thread_does_not_join_the_first_customers_case(aws: Account) -> None:
    deliver(aws, event_fixture("x", "mention.json"))
    stranger_reply = json.loads(event_fixture("x", "conversation.json"))
    post = stranger_reply["tweet_create_events"][1]
    post.update(
        id_str="1800135000000000009",
        in_reply_to_status_id_str="1800123456789012345",
        user={"id_str": "3805104374", "name": "Sam Doe", "screen_name": "samdoe"},
    )
    stranger_reply["tweet_create_events"] = [post]
    deliver(aws, json.dumps(stranger_reply).encode())

    mention, stranger = stored("1800123456789012345"), stored("1800135000000000009")
    assert stranger.customer_id != mention.customer_id
    assert stranger.case_id != mention.case_id
