"""POST /webhooks/twilio/sms: Twilio Messaging → the ingest queue, answered with empty TwiML."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.channels import twilio, twilio_sms
from shared.config import get_settings
from shared.http import Response
from shared.ingest.app import current_request, queue_consent, verified_by, webhook_app
from shared.observability import logger, metrics, tracer
from shared.wiring import get_ingest_queue, get_outbound_queue

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

app = webhook_app(get_ingest_queue)


@app.post("/webhooks/twilio/sms", middlewares=[verified_by(twilio.verify, secret="TWILIO_AUTH_TOKEN")])
def receive_message() -> Response:
    contacts = twilio_sms.parse(current_request(app), default_region=get_settings().default_region)
    app.enqueue(contacts, channel="twilio_sms")
    queue_consent(get_outbound_queue, contacts)
    return Response(status_code=200, content_type="text/xml", body=EMPTY_TWIML)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
