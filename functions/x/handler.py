"""GET|POST /webhooks/x: X's challenge-response check, then Account Activity events → the ingest queue."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.channels import x
from shared.config import get_secret
from shared.http import Response
from shared.ingest.app import current_request, verified_by, webhook_app
from shared.observability import logger, metrics, tracer
from shared.wiring import get_ingest_queue

app = webhook_app(get_ingest_queue)


@app.get("/webhooks/x")
def answer_crc() -> Response:
    token = x.crc_response(current_request(app).query, get_secret("X_CONSUMER_SECRET"))
    return Response(status_code=200, content_type="application/json", body=json.dumps(token))


@app.post("/webhooks/x", middlewares=[verified_by(x.verify, secret="X_CONSUMER_SECRET")])
def receive_activity() -> Response:
    app.enqueue_batch(x.parse(current_request(app)), channel="x")
    return Response(status_code=200, content_type="application/json", body="{}")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
