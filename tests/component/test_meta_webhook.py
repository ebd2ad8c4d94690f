"""The Meta webhook: hub challenge, X-Hub-Signature-256, queueing and the error contract."""

from __future__ import annotations

import json

import pytest

from functions.meta.handler import lambda_handler
from shared.channels import meta
from tests.builders import FakeContext, contacts_from_queue, event_fixture, http_event, json_body, meta_event
from tests.conftest import Account, clear_factories

PATH = "/webhooks/meta"
VERIFY_TOKEN = "dev-meta-verify-token"


def handshake(**query: str) -> dict[str, object]:
    return lambda_handler(http_event("GET", PATH, query=query), FakeContext())


def test_signature_is_hex_hmac_sha256_as_in_rfc_4231() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    assert meta.signature("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_subscribe_with_our_verify_token_answers_the_challenge_as_plain_text() -> None:
    response = handshake(**{"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/plain"
    assert response["body"] == "1158201444"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
        {},
    ],
)
def test_any_other_handshake_is_403_json(query: dict[str, str]) -> None:
    response = handshake(**query)

    assert response["statusCode"] == 403
    assert json_body(response)["error"]["code"] == "invalid_signature"
    assert "1158201444" not in response["body"]


def test_verify_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("META_VERIFY_TOKEN", "configured-token")
    clear_factories()
    query = {"hub.mode": "subscribe", "hub.challenge": "42"}
    assert handshake(**query, **{"hub.verify_token": "configured-token"})["statusCode"] == 200
    assert handshake(**query, **{"hub.verify_token": VERIFY_TOKEN})["statusCode"] == 403


def test_signed_messenger_message_is_queued_and_acknowledged(aws: Account) -> None:
    response = lambda_handler(meta_event(event_fixture("meta", "messenger_text.json")), FakeContext())

    assert response["statusCode"] == 200
    assert response["body"] == "EVENT_RECEIVED"
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.content.text == "Hi, my order #48213 has not arrived yet."


def test_base64_encoded_body_is_verified_on_its_decoded_bytes(aws: Account) -> None:
    body = event_fixture("meta", "whatsapp_text.json")
    response = lambda_handler(meta_event(body, base64_body=True), FakeContext())

    assert response["statusCode"] == 200
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.provider_message_id.startswith("wamid.")


def test_the_signature_covers_the_exact_bytes_not_the_json_they_decode_to(aws: Account) -> None:
    body = event_fixture("meta", "messenger_text.json")
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    event = meta_event(body, signature=meta.signature("dev-meta-app-secret", compact))

    assert lambda_handler(event, FakeContext())["statusCode"] == 403
    assert aws.queued_bodies() == []


def test_upper_case_hex_signature_is_accepted(aws: Account) -> None:
    body = event_fixture("meta", "messenger_text.json")
    signature = "sha256=" + meta.signature("dev-meta-app-secret", body).removeprefix("sha256=").upper()
    assert lambda_handler(meta_event(body, signature=signature), FakeContext())["statusCode"] == 200


def test_wrong_secret_is_403_and_queues_nothing(aws: Account) -> None:
    event = meta_event(event_fixture("meta", "messenger_text.json"), secret="not-the-app-secret")
    response = lambda_handler(event, FakeContext())

    assert response["statusCode"] == 403
    assert json_body(response)["error"]["code"] == "invalid_signature"
    assert aws.queued_bodies() == []


def test_missing_signature_is_401(aws: Account) -> None:
    event = meta_event(event_fixture("meta", "messenger_text.json"), signature="")
    assert lambda_handler(event, FakeContext())["statusCode"] == 401


@pytest.mark.parametrize(("fixture", "reports"), [("messenger_receipts.json", 1), ("whatsapp_statuses.json", 2)])
def test_receipts_and_statuses_are_queued_for_the_sender_not_stored_as_contacts(
    aws: Account, fixture: str, reports: int
) -> None:
    response = lambda_handler(meta_event(event_fixture("meta", fixture)), FakeContext())

    assert response["statusCode"] == 200
    assert aws.queued_bodies() == []
    assert len(aws.outbound_bodies()) == reports


def test_unknown_product_is_acknowledged_and_nothing_is_queued(aws: Account) -> None:
    body = json.dumps({"object": "permissions", "entry": [{"id": "1", "time": 1718013437}]}).encode()
    assert lambda_handler(meta_event(body), FakeContext())["statusCode"] == 200
    assert aws.queued_bodies() == []


def test_one_bad_message_never_drops_the_others(aws: Account) -> None:
    response = lambda_handler(meta_event(event_fixture("meta", "whatsapp_batch.json")), FakeContext())

    assert response["statusCode"] == 200
    queued = contacts_from_queue(aws.queued_bodies())
    assert sorted(contact.provider_message_id for contact in queued) == ["wamid.BATCH1", "wamid.BATCH6", "wamid.BATCH7"]


@pytest.mark.parametrize("body", [b"{not json", b'{"object": "page", "entry": "everything"}'])
def test_signed_body_that_is_not_a_meta_envelope_is_400(aws: Account, body: bytes) -> None:
    response = lambda_handler(meta_event(body), FakeContext())

    assert response["statusCode"] == 400
    assert aws.queued_bodies() == []


def test_body_over_the_limit_is_413(aws: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_MAX_BODY_BYTES", "100")
    clear_factories()
    response = lambda_handler(meta_event(event_fixture("meta", "messenger_text.json")), FakeContext())
    assert response["statusCode"] == 413
