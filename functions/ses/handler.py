"""POST /webhooks/ses: SNS notifications of SES inbound mail → the ingest queue; SES events of our
email replies (bounces, complaints, deliveries) → the outbound queue, for the sender.

Every message is signature-checked first; a subscription to one of our topics is
confirmed. Mail SES cannot hand us (over the size limit) is acknowledged, logged
and counted, because an error would only make SNS deliver it again and again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.channels import ses, ses_events
from shared.channels.email.limits import EmailTooLarge
from shared.channels.email.mime import parse_message
from shared.channels.sns import SnsEndpoint, SnsMessage
from shared.config import get_settings
from shared.http import Response
from shared.ingest.app import current_request, queue_reports, webhook_app
from shared.ingest.email import (
    acknowledged,
    drop_email,
    email_contact,
    email_limits,
    queue_email,
)
from shared.ingest.routing import NextMiddleware, Router
from shared.model.failures import ObjectTooLarge
from shared.observability import logger, metrics, tracer
from shared.wiring import get_ingest_queue, get_mailbox, get_outbound_queue, get_sns_endpoint

if TYPE_CHECKING:
    from shared.adapters.s3 import Mailbox  # loads boto3; the first request's get_mailbox() does that

app = webhook_app(get_ingest_queue)


def sns_verified(resolver: Router, next_middleware: NextMiddleware) -> Response:
    message = ses.verify(current_request(resolver), resolver.context["sns"], get_settings().ses_topic_arns)
    resolver.append_context(sns_message=message)
    return next_middleware(resolver)


# SNS messages are at most 256 KiB, within the general body limit; the email limit applies
# to the mail inside (SES inlines at most 150 KB, the S3 action up to 40 MB).
@app.post("/webhooks/ses", middlewares=[sns_verified])
def receive_notification() -> Response:
    message: SnsMessage = app.context["sns_message"]
    if message.type == "SubscriptionConfirmation":
        app.context["sns"].confirm_subscription(message.subscribe_url or "")
        logger.info("SNS subscription confirmed")
        return acknowledged("subscribed")
    if message.type == "Notification" and ses_events.is_event(message.message):
        return _report(message)
    notification = ses.read_notification(message) if message.type == "Notification" else None
    source = ses.raw_source(notification) if notification else None
    if notification is None or source is None:
        logger.info("SNS message not stored", extra={"sns_type": message.type})
        return acknowledged("ignored")
    mailbox: Mailbox = app.context["mailbox"]
    limits = email_limits(get_settings())
    try:
        raw = (
            mailbox.fetch(source.bucket, source.key, limits.max_bytes) if isinstance(source, ses.StoredInS3) else source
        )
        parsed = parse_message(raw, limits)
    except (EmailTooLarge, ObjectTooLarge):
        return drop_email("too_large", channel="ses")
    contact = email_contact(
        parsed,
        ses.delivery(notification, current_request(app).received_at),
        mailbox.store,
        raw_storage_key=source.storage_key if isinstance(source, ses.StoredInS3) else None,
        keep_attachment_bytes=not notification.virus_found,
    )
    return queue_email(app, contact, parsed, channel="ses")


def _report(message: SnsMessage) -> Response:
    """An SES event of one of our email replies (bounce, complaint, delivery): for the sender, not a contact."""
    report = ses_events.report(message.message)
    queue_reports(get_outbound_queue, [report] if report else [])
    logger.info("SES event", extra={"status": report.status.value if report else None})
    return acknowledged("reported" if report else "ignored")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, *, sns: SnsEndpoint | None = None, mailbox: Mailbox | None = None
) -> dict[str, Any]:
    """Tests pass `sns` and `mailbox` fakes; deployed, the cached adapters are used."""
    app.append_context(sns=sns or get_sns_endpoint(), mailbox=mailbox or get_mailbox())
    return app.resolve(event, context)
