"""The resolver every webhook function uses: errors map to statuses here, once.

Routes never catch: a domain error raised anywhere below a route becomes the
right status with a JSON body and a log line that names the error, not the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from pydantic import ValidationError

from shared.channels.consent import consent_change
from shared.channels.payloads import ParsedBatch
from shared.config import SecretUnavailable, Settings, get_secret, get_settings
from shared.http import Response, error_response
from shared.ingest.errors import InvalidSignature, WebhookError
from shared.ingest.message import ContactMessage
from shared.ingest.request import WebhookRequest
from shared.ingest.routing import Middleware, NextMiddleware, Router
from shared.model.contact import Contact
from shared.model.delivery import ChangeConsent, DeliveryReport, OutboundMessage, ReportDelivery
from shared.model.failures import DependencyUnavailable, UntrustedUrl
from shared.observability import logger, metrics

Verifier = Callable[[WebhookRequest, str], None]
BodyLimit = Callable[[Settings], int]


class ContactQueue(Protocol):
    """The ingest queue port (`shared.adapters.sqs.FifoQueue`): durable once `send` returns."""

    def send(self, messages: Sequence[ContactMessage]) -> None: ...


class OutboundQueue(Protocol):
    """The outbound queue port: replies, delivery reports and consent changes for the sender."""

    def send(self, messages: Sequence[OutboundMessage]) -> None: ...


class WebhookResolver(Router):
    """A webhook's resolver: the body limit its requests are decoded against, and the queue it fills."""

    def __init__(self, body_limit: BodyLimit, queue: Callable[[], ContactQueue]) -> None:
        super().__init__()
        self.body_limit = body_limit
        self.queue = queue

    def enqueue(self, contacts: Sequence[Contact], *, channel: str) -> None:
        enqueue(self.queue(), contacts, channel=channel)

    def enqueue_batch(self, batch: ParsedBatch, *, channel: str) -> None:
        enqueue_batch(self.queue(), batch, channel=channel)


def general_body_limit(settings: Settings) -> int:
    return settings.max_body_bytes


def webhook_app(queue: Callable[[], ContactQueue], *, body_limit: BodyLimit = general_body_limit) -> WebhookResolver:
    """The resolver of one webhook function; email routes pass their larger body limit."""
    app = WebhookResolver(body_limit, queue)

    @app.exception_handler(WebhookError)
    def _refuse(error: WebhookError) -> Response:
        return _refusal(error)

    @app.exception_handler(ValidationError)
    def _invalid(error: ValidationError) -> Response:
        # A signed payload that breaks our schema (a 600-character id, say): name the
        # fields, never their values, which may be personal data.
        fields = sorted({".".join(str(part) for part in issue["loc"]) for issue in error.errors()})
        logger.warning("webhook payload breaks the contact schema", extra={"fields": fields})
        return error_response(400, "malformed_payload", f"invalid fields: {', '.join(fields)}")

    @app.exception_handler(UntrustedUrl)
    def _untrusted(error: UntrustedUrl) -> Response:
        # Only a bypassed URL check upstream gets here: refused like a forged signature.
        return _refusal(InvalidSignature(str(error)))

    @app.exception_handler(DependencyUnavailable)
    @app.exception_handler(SecretUnavailable)
    def _unavailable(error: Exception) -> Response:
        logger.exception("webhook dependency unavailable", extra={"error_type": type(error).__name__})
        return error_response(503, "unavailable", "temporarily unavailable, retry later")

    return app


def _refusal(error: WebhookError) -> Response:
    logger.warning("webhook refused", extra={"error_code": error.code, "status": error.status})
    metrics.add_metric(name=f"Webhook{error.status}", unit="Count", value=1)
    return error_response(error.status, error.code, error.message)


def current_request(app: Router) -> WebhookRequest:
    """The request of the current invocation, decoded once and shared by middleware and route."""
    request = app.context.get("webhook_request")
    if request is None:
        settings = get_settings()
        limit = app.body_limit if isinstance(app, WebhookResolver) else general_body_limit
        request = WebhookRequest.from_event(
            app.current_event,
            public_base_url=settings.public_url,
            max_body_bytes=limit(settings),
        )
        app.append_context(webhook_request=request)
    assert isinstance(request, WebhookRequest)
    return request


def verified_by(verify: Verifier, *, secret: str) -> Middleware:
    """Route middleware: the signature is checked with the named secret before the route runs."""

    def middleware(app: Router, next_middleware: NextMiddleware) -> Response:
        verify(current_request(app), get_secret(secret))
        return next_middleware(app)

    return middleware


def enqueue(queue: ContactQueue, contacts: Sequence[Contact], *, channel: str) -> None:
    """Queue contacts durably; the caller acknowledges the provider only after this returns."""
    queue.send([ContactMessage(contact=contact) for contact in contacts])
    metrics.add_metric(name="ContactsQueued", unit="Count", value=len(contacts))
    logger.info("contacts queued", extra={"channel": channel, "count": len(contacts)})


def queue_consent(queue: Callable[[], OutboundQueue], contacts: Sequence[Contact]) -> None:
    """SMS keywords (STOP, START) → consent changes on the outbound queue, after their contacts are queued."""
    changes = [change for contact in contacts if (change := consent_change(contact)) is not None]
    if changes:
        queue().send([OutboundMessage(work=ChangeConsent(consent=change)) for change in changes])
        logger.info("consent changes queued", extra={"count": len(changes)})


def queue_reports(queue: Callable[[], OutboundQueue], reports: Sequence[DeliveryReport]) -> None:
    """Providers' reports on our replies → the outbound queue: the sender owns a reply's delivery."""
    if reports:
        queue().send([OutboundMessage(work=ReportDelivery(report=report)) for report in reports])
        metrics.add_metric(name="DeliveryReportsQueued", unit="Count", value=len(reports))
        logger.info("delivery reports queued", extra={"statuses": sorted({r.status.value for r in reports})})


def enqueue_batch(queue: ContactQueue, batch: ParsedBatch, *, channel: str) -> None:
    """Queue a multi-item payload's contacts; log what was not stored by type and reason, never by value."""
    if batch.ignored or batch.skipped:
        log = logger.warning if batch.skipped else logger.info
        log(
            "webhook items not stored",
            extra={"channel": channel, "ignored": dict(batch.ignored), "skipped": dict(batch.skipped)},
        )
        metrics.add_metric(name="WebhookItemsSkipped", unit="Count", value=sum(batch.skipped.values()))
    if batch.contacts:
        enqueue(queue, batch.contacts, channel=channel)
