"""POST /webhooks/mailgun: Mailgun route forwards (`body-mime` or parsed fields) → the ingest queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.channels import mailgun
from shared.config import get_settings
from shared.http import Response
from shared.ingest.app import current_request, verified_by, webhook_app
from shared.ingest.email import email_body_limit, email_contact, email_limits, queue_email
from shared.observability import logger, metrics, tracer
from shared.wiring import get_ingest_queue, get_mailbox

if TYPE_CHECKING:
    from shared.adapters.s3 import Mailbox  # loads boto3; the first request's get_mailbox() does that

app = webhook_app(get_ingest_queue, body_limit=email_body_limit)
# Per container, by design: the webhook does no DynamoDB work (docs/channels/email.md).
used_tokens = mailgun.TokenLedger()


MIDDLEWARES = [verified_by(mailgun.verify, secret="MAILGUN_SIGNING_KEY")]


# Mailgun posts `body-mime` only to a URL that ends in `mime`; both forms are read alike.
@app.post("/webhooks/mailgun", middlewares=MIDDLEWARES)
@app.post("/webhooks/mailgun/mime", middlewares=MIDDLEWARES)
def receive_email() -> Response:
    request = current_request(app)
    used_tokens.refuse_reused(request)
    parsed, delivery = mailgun.parse(request, email_limits(get_settings()))
    mailbox: Mailbox = app.context["mailbox"]
    response = queue_email(app, email_contact(parsed, delivery, mailbox.store), parsed, channel="mailgun")
    used_tokens.remember(request)
    return response


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext, *, mailbox: Mailbox | None = None) -> dict[str, Any]:
    app.append_context(mailbox=mailbox or get_mailbox())
    return app.resolve(event, context)
