"""The X webhook: challenge-response check, x-twitter-webhooks-signature, queueing and errors."""

from __future__ import annotations

import pytest

from functions.x.handler import lambda_handler
from shared.channels import x
from tests.builders import FakeContext, contacts_from_queue, event_fixture, http_event, json_body, x_event
from tests.conftest import Account, clear_factories

PATH = "/webhooks/x"


def test_signature_is_base64_hmac_sha256_as_in_rfc_4231() -> None:
    # RFC 4231 test case 2 (key "Jefe"), its hex digest 5bdcc146... written in base64.
    assert x.signature("Jefe", b"what do ya want for nothing?") == "sha256=W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="


def test_crc_answers_the_token_signed_with_the_consumer_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_CONSUMER_SECRET", "Jefe")
    clear_factories()
    response = lambda_handler(
        http_event("GET", PATH, query={"crc_token": "what do ya want for nothing?"}), FakeContext()
    )

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert json_body(response) == {"response_token": "sha256=W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="}


def test_crc_without_a_token_is_400() -> None:
    response = lambda_handler(http_event("GET", PATH), FakeContext())
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "malformed_payload"


def test_signed_activity_is_queued_and_acknowledged(aws: Account) -> None:
    response = lambda_handler(x_event(event_fixture("x", "conversation.json")), FakeContext())

    assert response["statusCode"] == 200
    queued = contacts_from_queue(aws.queued_bodies())
    assert sorted(contact.provider_message_id for contact in queued) == ["1800127000000000001", "1800130000000000002"]


def test_wrong_secret_is_403_and_queues_nothing(aws: Account) -> None:
    response = lambda_handler(x_event(event_fixture("x", "dm_inbound.json"), secret="not-it"), FakeContext())

    assert response["statusCode"] == 403
    assert json_body(response)["error"]["code"] == "invalid_signature"
    assert aws.queued_bodies() == []


def test_missing_signature_is_401(aws: Account) -> None:
    response = lambda_handler(x_event(event_fixture("x", "dm_inbound.json"), signature=""), FakeContext())
    assert response["statusCode"] == 401


def test_activity_with_nothing_to_store_is_acknowledged(aws: Account) -> None:
    body = b'{"for_user_id": "1478523690147852369", "follow_events": [{"type": "follow"}]}'
    response = lambda_handler(x_event(body), FakeContext())

    assert response["statusCode"] == 200
    assert aws.queued_bodies() == []


def test_signed_body_without_for_user_id_is_400(aws: Account) -> None:
    response = lambda_handler(x_event(b'{"direct_message_events": []}'), FakeContext())

    assert response["statusCode"] == 400
    assert "for_user_id" in json_body(response)["error"]["message"]
