"""The local runtime's API Gateway emulation: route matching, event and response translation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from infra.local.gateway import (
    HttpRequest,
    InvalidLambdaResponse,
    MethodNotAllowed,
    RouteNotFound,
    RouteTable,
    api_gateway_event,
    http_response,
)
from infra.local.pollers import SourceInjector, _failed_message_ids
from infra.local.server import LocalGateway
from infra.local.source_events import kinesis_events, sns_events, sqs_event
from infra.topology import FUNCTIONS, FunctionSpec, Route, Source
from shared.ingest.request import WebhookRequest

ROUTES = RouteTable(FUNCTIONS)


def request(
    method: str, target: str, *, headers: list[tuple[str, str]] | None = None, body: bytes = b""
) -> HttpRequest:
    return HttpRequest(method=method, target=target, headers=[("Host", "127.0.0.1:8080"), *(headers or [])], body=body)


def event_for(http: HttpRequest) -> dict[str, Any]:
    return api_gateway_event(http, ROUTES.match(http.method, http.path))


# --- route matching ---------------------------------------------------------------------


def test_literal_route_wins_over_a_path_parameter_of_the_same_length() -> None:
    assert ROUTES.match("GET", "/v1/customers").route.path == "/v1/customers"
    match = ROUTES.match("GET", "/v1/customers/cus_1")
    assert match.route.path == "/v1/customers/{customer_id}"
    assert match.path_parameters == {"customer_id": "cus_1"}


def test_a_path_parameter_matches_one_segment_only() -> None:
    match = ROUTES.match("GET", "/v1/customers/cus_1/timeline")
    assert match.route.path == "/v1/customers/{customer_id}/timeline"
    with pytest.raises(RouteNotFound):
        ROUTES.match("GET", "/v1/customers/cus_1/timeline/extra")


def test_known_path_with_another_method_is_method_not_allowed() -> None:
    with pytest.raises(MethodNotAllowed) as refused:
        ROUTES.match("GET", "/webhooks/twilio/sms")
    assert refused.value.allowed == ("POST",)


def test_greedy_variable_takes_the_rest_of_the_path_after_literal_routes() -> None:
    spec = FunctionSpec(
        name="files",
        description="test",
        routes=(Route("ANY", "/files/{key+}"), Route("GET", "/files/index")),
    )
    table = RouteTable([spec])
    assert table.match("GET", "/files/index").route.path == "/files/index"
    match = table.match("DELETE", "/files/a/b/c.txt")
    assert match.path_parameters == {"key": "a/b/c.txt"}
    with pytest.raises(RouteNotFound):
        table.match("GET", "/files")


# --- request → payload 2.0 event --------------------------------------------------------


def test_repeated_headers_and_query_keys_are_comma_joined_and_names_lower_cased() -> None:
    event = event_for(
        request(
            "GET",
            "/v1/contacts?provider=twilio&provider_message_id=a&provider_message_id=b",
            headers=[("X-Api-Key", "k"), ("Accept", "text/html"), ("accept", "application/json")],
        )
    )
    assert event["headers"]["x-api-key"] == "k"
    assert event["headers"]["accept"] == "text/html,application/json"
    assert event["queryStringParameters"] == {"provider": "twilio", "provider_message_id": "a,b"}
    assert event["rawQueryString"] == "provider=twilio&provider_message_id=a&provider_message_id=b"


def test_event_carries_route_key_path_parameters_and_request_context() -> None:
    event = event_for(request("GET", "/v1/cases/case%5F1"))
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /v1/cases/{case_id}" == event["requestContext"]["routeKey"]
    assert event["rawPath"] == "/v1/cases/case_1"  # HTTP APIs hand the path over decoded
    assert event["pathParameters"] == {"case_id": "case_1"}
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["domainName"] == "127.0.0.1"
    assert "queryStringParameters" not in event
    assert "body" not in event
    assert event["isBase64Encoded"] is False
    parsed = APIGatewayProxyEventV2(event)
    assert parsed.path_parameters == {"case_id": "case_1"}
    assert parsed.request_context.http.source_ip == "127.0.0.1"


def test_cookies_move_from_the_headers_into_the_cookies_list() -> None:
    event = event_for(request("GET", "/v1/customers", headers=[("Cookie", "a=1; b=2"), ("Cookie", "c=3")]))
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]


def test_form_body_is_base64_encoded_as_api_gateway_does_and_decodes_to_the_same_bytes() -> None:
    body = b"Body=caf%C3%A9&From=%2B14155550123"
    headers = [("Content-Type", "application/x-www-form-urlencoded")]
    event = event_for(request("POST", "/webhooks/twilio/sms", headers=headers, body=body))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
    decoded = WebhookRequest.from_event(event, public_base_url="http://127.0.0.1:8080", max_body_bytes=1000)
    assert decoded.body == body
    assert decoded.public_url == "http://127.0.0.1:8080/webhooks/twilio/sms"


def test_json_body_is_passed_as_text_but_invalid_utf8_is_base64() -> None:
    json_event = event_for(
        request("POST", "/webhooks/twilio/sms", headers=[("Content-Type", "application/json")], body=b'{"a": 1}')
    )
    assert json_event == {**json_event, "body": '{"a": 1}', "isBase64Encoded": False}
    binary_event = event_for(
        request("POST", "/webhooks/twilio/sms", headers=[("Content-Type", "text/plain")], body=b"\xff\xfe")
    )
    assert binary_event["isBase64Encoded"] is True
    assert base64.b64decode(binary_event["body"]) == b"\xff\xfe"


# --- function result → HTTP response ----------------------------------------------------


def test_result_without_status_code_is_a_200_json_body() -> None:
    assert http_response({"ok": True}).status == 200
    assert json.loads(http_response({"ok": True}).body) == {"ok": True}
    assert http_response("plain").body == b'"plain"'


def test_response_cookies_become_set_cookie_headers_and_base64_bodies_are_decoded() -> None:
    response = http_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png", "Content-Length": "999"},
            "cookies": ["a=1", "b=2"],
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status == 201
    assert response.body == b"\x89PNG"
    assert ("Set-Cookie", "a=1") in response.headers and ("Set-Cookie", "b=2") in response.headers
    assert all(name != "Content-Length" for name, _ in response.headers)  # the server states the real length


def test_a_status_code_that_is_not_an_integer_is_refused() -> None:
    with pytest.raises(InvalidLambdaResponse):
        http_response({"statusCode": "200", "body": ""})


# --- the local front door ---------------------------------------------------------------


class RaisingInvoker:
    def invoke(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")


class RecordingInvoker:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        self.calls.append((spec.name, event))
        return {"batchItemFailures": []}


CONNECT = FunctionSpec(name="connect", description="test", source=Source.CONNECT_STREAM)


def gateway(invoker: Any = None, functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> LocalGateway:
    invoker = invoker or RaisingInvoker()
    return LocalGateway(ROUTES, invoker, SourceInjector(functions, invoker), status=lambda: {"idle": True})


def test_unknown_path_is_a_404_json_error_and_a_raising_function_a_500_json_error() -> None:
    missing = gateway().handle(request("GET", "/nowhere"))
    assert missing.status == 404
    assert json.loads(missing.body)["error"]["code"] == "not_found"
    failed = gateway().handle(request("GET", "/v1/customers"))
    assert failed.status == 500
    assert json.loads(failed.body)["error"]["code"] == "internal_error"


def test_injecting_a_source_no_function_consumes_is_a_404() -> None:
    response = gateway(functions=()).handle(request("POST", "/_local/inject/connect_stream", body=b"{}"))
    assert response.status == 404
    assert "connect_stream" in json.loads(response.body)["error"]["message"]


def test_injected_list_reaches_the_sources_function_as_one_kinesis_batch() -> None:
    invoker = RecordingInvoker()
    body = json.dumps([{"ContactId": "c-1"}, {"ContactId": "c-2"}]).encode()

    response = gateway(invoker, functions=(CONNECT,)).handle(
        request("POST", "/_local/inject/connect_stream", body=body)
    )

    assert response.status == 200
    assert json.loads(response.body) == {
        "source": "connect_stream",
        "function": "connect",
        "records": 2,
        "results": [{"batchItemFailures": []}],
    }
    ((name, event),) = invoker.calls
    assert name == "connect"
    assert [record["eventSource"] for record in event["Records"]] == ["aws:kinesis", "aws:kinesis"]


def test_injecting_a_body_that_is_not_json_is_a_400() -> None:
    response = gateway(RecordingInvoker(), functions=(CONNECT,)).handle(
        request("POST", "/_local/inject/connect_stream", body=b"{not json")
    )
    assert response.status == 400


# --- the other sources' events ----------------------------------------------------------


def test_sqs_event_keeps_fifo_attributes_and_camel_cases_message_attributes() -> None:
    received = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": "{}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Attributes": {"MessageGroupId": "g", "MessageDeduplicationId": "d", "ApproximateReceiveCount": "2"},
        "MessageAttributes": {"trace": {"DataType": "String", "StringValue": "t"}},
    }
    event = sqs_event([received], queue_arn="arn:aws:sqs:us-east-1:123456789012:threadline-ingest.fifo")
    record = event["Records"][0]
    assert record["attributes"] == {
        "ApproximateReceiveCount": "2",
        "MessageGroupId": "g",
        "MessageDeduplicationId": "d",
    }
    assert record["messageAttributes"]["trace"]["stringValue"] == "t"
    assert record["eventSource"] == "aws:sqs" and record["awsRegion"] == "us-east-1"


def test_kinesis_batch_holds_every_record_and_sns_invokes_once_per_message() -> None:
    (kinesis,) = kinesis_events([{"ContactId": "c-1"}, {"ContactId": "c-2"}])
    data = [json.loads(base64.b64decode(record["kinesis"]["data"])) for record in kinesis["Records"]]
    assert data == [{"ContactId": "c-1"}, {"ContactId": "c-2"}]
    assert kinesis["Records"][0]["kinesis"]["partitionKey"] == "c-1"
    sns = sns_events([{"a": 1}, {"b": 2}])
    assert [len(event["Records"]) for event in sns] == [1, 1]
    assert json.loads(sns[1]["Records"][0]["Sns"]["Message"]) == {"b": 2}


def test_a_partial_batch_report_naming_an_unknown_record_fails_the_whole_batch() -> None:
    batch = {"m-1", "m-2"}
    assert _failed_message_ids({"batchItemFailures": [{"itemIdentifier": "m-2"}]}, batch) == {"m-2"}
    assert _failed_message_ids({"batchItemFailures": []}, batch) == set()
    assert _failed_message_ids({"batchItemFailures": [{"itemIdentifier": "other"}]}, batch) == batch
    assert _failed_message_ids(None, batch) == set()
