"""POST /webhooks/app: the first-party app's signed JSON → the ingest queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.channels import app as app_channel
from shared.config import get_settings
from shared.http import Response
from shared.ingest.app import current_request, verified_by, webhook_app
from shared.observability import logger, metrics, tracer
from shared.wiring import get_ingest_queue

app = webhook_app(get_ingest_queue)


@app.post("/webhooks/app", middlewares=[verified_by(app_channel.verify, secret="APP_WEBHOOK_SECRET")])
def receive_event() -> Response:
    contacts = app_channel.parse(current_request(app), default_region=get_settings().default_region)
    app.enqueue(contacts, channel="app")
    return Response(status_code=202, content_type="application/json", body='{"accepted": true}')


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
