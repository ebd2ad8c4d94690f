"""A poison message: redelivered, then dead-lettered, while the good messages of the moment are stored."""

from __future__ import annotations

import pytest

from tests.integration.stack import LocalStack, unique_phone

pytestmark = pytest.mark.integration


def test_poison_message_lands_in_the_dlq_and_good_messages_of_the_same_moment_are_stored(stack: LocalStack) -> None:
    sqs = stack.boto3("sqs")
    status = stack.status()
    dead_before = status["dead_letter_queue"]["visible"]
    poison = "this is not a contact message"
    sqs.send_message(
        QueueUrl=status["queue"]["url"],
        MessageBody=poison,
        MessageGroupId="poison-test",
        MessageDeduplicationId="poison-test-1",
    )
    phones = [unique_phone(), unique_phone()]
    for phone in phones:
        assert stack.send(stack.sample("twilio-sms", sender=phone)).status == 200

    # Idle only once the poison message has used its receives and moved to the DLQ.
    status = stack.wait_idle(timeout=45)

    assert status["dead_letter_queue"]["visible"] == dead_before + 1
    for phone in phones:
        assert stack.customer_of(phone) is not None
    dead = sqs.receive_message(QueueUrl=status["dead_letter_queue"]["url"], MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in dead] == [poison]
