"""GET|POST /webhooks/meta: the subscription handshake, then Messenger, Instagram and WhatsApp → the ingest queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.channels import meta
from shared.config import get_secret
from shared.http import Response
from shared.ingest.app import current_request, queue_reports, verified_by, webhook_app
from shared.observability import logger, metrics, tracer
from shared.wiring import get_ingest_queue, get_outbound_queue

app = webhook_app(get_ingest_queue)


@app.get("/webhooks/meta")
def confirm_subscription() -> Response:
    challenge = meta.confirm_subscription(current_request(app).query, get_secret("META_VERIFY_TOKEN"))
    return Response(status_code=200, content_type="text/plain", body=challenge)


@app.post("/webhooks/meta", middlewares=[verified_by(meta.verify, secret="META_APP_SECRET")])
def receive_events() -> Response:
    batch = meta.parse(current_request(app))
    app.enqueue_batch(batch, channel="meta")
    queue_reports(get_outbound_queue, batch.reports)
    return Response(status_code=200, content_type="text/plain", body="EVENT_RECEIVED")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
