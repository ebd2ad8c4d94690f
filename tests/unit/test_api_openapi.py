"""The OpenAPI document: generated from the code, served at /v1/openapi.json, committed without drift."""

from __future__ import annotations

import json

from functions.api.handler import openapi_json
from infra.topology import FUNCTIONS
from shared.api.openapi import COMMITTED_DOCUMENT, committed_text


def test_committed_document_matches_the_code() -> None:
    # On failure: run `make openapi` and commit docs/openapi.json.
    assert COMMITTED_DOCUMENT.read_text(encoding="utf-8") == committed_text(openapi_json())


def test_every_api_route_of_the_topology_is_documented_and_nothing_else() -> None:
    (api,) = [spec for spec in FUNCTIONS if spec.name == "api"]
    declared = {(route.method.lower(), route.path) for route in api.routes if route.path != "/v1/openapi.json"}
    document = json.loads(openapi_json())
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert documented == declared


def test_document_describes_both_ways_to_authenticate_and_json_errors() -> None:
    document = json.loads(openapi_json())
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"]["name"] == "x-api-key"
    assert schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    for operations in document["paths"].values():
        for operation in operations.values():
            assert "422" not in operation["responses"]
            assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorResponse"
            }
