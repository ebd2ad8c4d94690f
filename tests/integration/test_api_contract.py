"""The HTTP contract of the local stack itself and of /v1, as a client meets it."""

from __future__ import annotations

import socket

import pytest

from tests.integration.stack import LocalStack

pytestmark = pytest.mark.integration


def test_v1_without_api_key_is_401(stack: LocalStack) -> None:
    response = stack.post("/v1/customers", b"")  # wrong method first: still routed, 405
    assert response.status == 405
    anonymous = stack.client.request("GET", "/v1/customers", query="identifier=phone:%2B14155550100")
    assert anonymous.status == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"


def test_unknown_contact_is_a_404_json_error(stack: LocalStack) -> None:
    response = stack.api_get("/v1/contacts/01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert response.status == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_path_is_a_404_json_error(stack: LocalStack) -> None:
    response = stack.client.request("GET", "/webhooks/nowhere")
    assert response.status == 404
    assert response.json() == {"error": {"code": "not_found", "message": "no route for this path"}}


def test_body_over_the_payload_quota_is_413_without_being_read(stack: LocalStack) -> None:
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as connection:
        connection.sendall(
            b"POST /webhooks/twilio/sms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10485761\r\n\r\n"
        )
        status_line = connection.makefile("rb").readline()
    assert status_line.split()[1] == b"413"


def test_openapi_document_is_served(stack: LocalStack) -> None:
    response = stack.api_get("/v1/openapi.json")
    assert response.status == 200
    assert "/v1/customers/{customer_id}/timeline" in response.json()["paths"]
