"""The JSON error body every route answers with: `{"error": {"code": ..., "message": ...}}`."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import Response


def error_response(status: int, code: str, message: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"error": {"code": code, "message": message}}),
    )
