"""POST /webhooks/twilio/status: Twilio's status callbacks of our replies → the outbound queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.channels import twilio, twilio_status
from shared.http import Response
from shared.ingest.app import current_request, queue_reports, verified_by, webhook_app
from shared.observability import logger, metrics, tracer
from shared.wiring import get_outbound_queue

app = webhook_app(get_outbound_queue)


@app.post("/webhooks/twilio/status", middlewares=[verified_by(twilio.verify, secret="TWILIO_AUTH_TOKEN")])
def receive_status() -> Response:
    report = twilio_status.parse(current_request(app))
    queue_reports(get_outbound_queue, [report] if report else [])
    return Response(status_code=204, content_type="text/plain", body="")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
