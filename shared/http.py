"""The HTTP answers of our functions: a response in API Gateway's payload 2.0 shape, and the
JSON error body every route answers with, `{"error": {"code": ..., "message": ...}}`.

Plain types on purpose: the webhooks answer with them and never load Powertools'
event handler (see shared/ingest/routing.py); /v1 wraps the same body in the
Powertools response its resolver takes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Response:
    status_code: int
    content_type: str
    body: str

    def result(self) -> dict[str, Any]:
        """What the Lambda function returns to API Gateway (HTTP API, payload format 2.0)."""
        return {
            "statusCode": self.status_code,
            "body": self.body,
            "isBase64Encoded": False,
            "headers": {"Content-Type": self.content_type},
            "cookies": [],
        }


def error_body(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


def error_response(status: int, code: str, message: str) -> Response:
    return Response(status_code=status, content_type="application/json", body=error_body(code, message))
