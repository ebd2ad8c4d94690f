"""The resolver every webhook function uses: errors map to statuses here, once.

Routes never catch: a domain error raised anywhere below a route becomes the
right status with a JSON body and a log line that names the error, not the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from pydantic import ValidationError

from shared.channels.payloads import ParsedBatch
from shared.config import SecretUnavailable, Settings, get_secret, get_settings
from shared.http import error_response
from shared.ingest import ContactMessage
from shared.observability import logger, metrics
from shared.queue import QueueUnavailable, get_ingest_queue
from shared.schema import Contact
from shared.webhooks.errors import WebhookError
from shared.webhooks.request import WebhookRequest

Verifier = Callable[[WebhookRequest, str], None]
BodyLimit = Callable[[Settings], int]


class WebhookResolver(APIGatewayHttpResolver):
    """A resolver that knows which body limit its webhook's requests are decoded against."""

    def __init__(self, body_limit: BodyLimit) -> None:
        super().__init__()
        self.body_limit = body_limit


def general_body_limit(settings: Settings) -> int:
    return settings.max_body_bytes


def webhook_app(*, body_limit: BodyLimit = general_body_limit) -> WebhookResolver:
    """The resolver of one webhook function; email routes pass their larger body limit."""
    app = WebhookResolver(body_limit)

    @app.exception_handler(WebhookError)
    def _refuse(error: WebhookError) -> Response[str]:
        logger.warning("webhook refused", extra={"error_code": error.code, "status": error.status})
        metrics.add_metric(name=f"Webhook{error.status}", unit="Count", value=1)
        return error_response(error.status, error.code, error.message)

    @app.exception_handler(ValidationError)
    def _invalid(error: ValidationError) -> Response[str]:
        # A signed payload that breaks our schema (a 600-character id, say): name the
        # fields, never their values, which may be personal data.
        fields = sorted({".".join(str(part) for part in issue["loc"]) for issue in error.errors()})
        logger.warning("webhook payload breaks the contact schema", extra={"fields": fields})
        return error_response(400, "malformed_payload", f"invalid fields: {', '.join(fields)}")

    @app.exception_handler(QueueUnavailable)
    @app.exception_handler(SecretUnavailable)
    def _unavailable(error: Exception) -> Response[str]:
        logger.exception("webhook dependency unavailable", extra={"error_type": type(error).__name__})
        return error_response(503, "unavailable", "temporarily unavailable, retry later")

    return app


def current_request(app: APIGatewayHttpResolver) -> WebhookRequest:
    """The request of the current invocation, decoded once and shared by middleware and route."""
    request = app.context.get("webhook_request")
    if request is None:
        settings = get_settings()
        limit = app.body_limit if isinstance(app, WebhookResolver) else general_body_limit
        request = WebhookRequest.from_event(
            app.current_event.raw_event,
            public_base_url=settings.public_url,
            max_body_bytes=limit(settings),
        )
        app.append_context(webhook_request=request)  # type: ignore[no-untyped-call]
    assert isinstance(request, WebhookRequest)
    return request


def verified_by(verify: Verifier, *, secret: str) -> Callable[[APIGatewayHttpResolver, NextMiddleware], Response[str]]:
    """Route middleware: the signature is checked with the named secret before the route runs."""

    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
        verify(current_request(app), get_secret(secret))
        return next_middleware(app)

    return middleware


def enqueue(contacts: Sequence[Contact], *, channel: str) -> None:
    """Queue contacts durably; the caller acknowledges the provider only after this returns."""
    get_ingest_queue().send([ContactMessage(contact=contact) for contact in contacts])
    metrics.add_metric(name="ContactsQueued", unit="Count", value=len(contacts))
    logger.info("contacts queued", extra={"channel": channel, "count": len(contacts)})


def enqueue_batch(batch: ParsedBatch, *, channel: str) -> None:
    """Queue a multi-item payload's contacts; log what was not stored by type and reason, never by value."""
    if batch.ignored or batch.skipped:
        log = logger.warning if batch.skipped else logger.info
        log(
            "webhook items not stored",
            extra={"channel": channel, "ignored": dict(batch.ignored), "skipped": dict(batch.skipped)},
        )
        metrics.add_metric(name="WebhookItemsSkipped", unit="Count", value=sum(batch.skipped.values()))
    if batch.contacts:
        enqueue(batch.contacts, channel=channel)
