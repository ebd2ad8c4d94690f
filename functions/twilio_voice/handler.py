"""POST /webhooks/twilio/voice: every webhook of a Twilio call → the ingest queue, answered with TwiML."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.channels import twilio, twilio_voice
from shared.config import get_settings
from shared.http import Response
from shared.ingest.app import current_request, verified_by, webhook_app
from shared.observability import logger, metrics, tracer
from shared.wiring import get_ingest_queue

app = webhook_app(get_ingest_queue)


@app.post(twilio_voice.PATH, middlewares=[verified_by(twilio.verify, secret="TWILIO_AUTH_TOKEN")])
def receive_call_event() -> Response:
    request = current_request(app)
    settings = get_settings()
    event = twilio_voice.classify(request)
    contacts = twilio_voice.parse(request, event, default_region=settings.default_region)
    if contacts:
        app.enqueue(contacts, channel="twilio_voice")
    else:
        logger.info("voice webhook acknowledged, nothing to store", extra={"voice_event": event.value})
    twiml = twilio_voice.answer(event, twilio_voice.VoiceScript.from_settings(settings))
    return Response(status_code=200, content_type="text/xml", body=twiml)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
