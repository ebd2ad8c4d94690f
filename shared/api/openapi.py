"""What the generated OpenAPI document says besides the routes: auth, errors, the committed copy.

The document is generated from the handler's routes and the models in
`shared.api.models`; `make openapi` rewrites docs/openapi.json and a test fails
when the committed copy drifts from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from shared.api.models import ErrorResponse

COMMITTED_DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"

DESCRIPTION = """\
Read and correct what Threadline knows: contacts, customers, their timelines and cases.
Lists answer `{"items": [...], "next_cursor": ...}`; pass `next_cursor` back as `cursor`
until it is null. Errors answer `{"error": {"code", "message"}}`. See docs/api.md."""


def _error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorResponse}}}


ERROR_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "OK"},  # without content: the route's return type is the schema
    400: _error("Invalid parameters or body (`invalid_request`)"),
    401: _error("Missing or wrong x-api-key (local stack only; deployed, the gateway answers 403)"),
    404: _error("No such contact, customer, case or merge (`not_found`)"),
    409: _error("Conflict: the customer was merged (`customer_merged`), or a merge is refused or undone"),
    410: _error("The customer was erased (`erased`)"),
    415: _error("A Content-Type other than application/json (`unsupported_media_type`)"),
}

SECURITY_SCHEMES = {
    "apiKey": APIKey(
        in_=APIKeyIn.header,
        name="x-api-key",
        description="Local stack: THREADLINE_API_KEY (development default `dev-api-key`).",
    ),
    # OpenAPI has no SigV4 scheme; this is how API Gateway itself describes IAM authorization.
    "sigv4": APIKey(
        in_=APIKeyIn.header,
        name="Authorization",
        description="Deployed: AWS Signature Version 4 (IAM), service `execute-api`; e.g. `awscurl`.",
        openapi_extensions={"x-amazon-apigateway-authtype": "awsSigv4"},
    ),
}


def document_settings() -> dict[str, Any]:
    """Arguments for `get_openapi_json_schema`: one place, so served and committed documents agree."""
    return {
        "title": "Threadline API",
        "version": "1",
        "openapi_version": "3.1.0",
        "description": DESCRIPTION,
        "security_schemes": SECURITY_SCHEMES,
        "security": [{"apiKey": []}, {"sigv4": []}],
    }


def without_validation_422(document: str) -> str:
    """Powertools documents a 422 for invalid input; this API answers 400 (an `ErrorResponse`)."""
    parsed = json.loads(document)
    for operations in parsed.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = parsed.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return json.dumps(parsed, indent=2)


def committed_text(document: str) -> str:
    """The committed file's text for a generated document: stable key order, one trailing newline."""
    return json.dumps(json.loads(document), indent=2, sort_keys=True) + "\n"


def write_committed(document: str, path: Path = COMMITTED_DOCUMENT) -> Path:
    path.write_text(committed_text(document), encoding="utf-8")
    return path
