"""The embedded AWS of the local stack: moto's server on 127.0.0.1, with the stack's resources.

State lives in this process's memory and is gone when it stops.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.local.gateway import REGION
from shared.adapters.dynamo.table import create_table_request

TABLE_NAME = "threadline-local"
QUEUE_NAME = "threadline-ingest.fifo"
DEAD_LETTER_QUEUE_NAME = "threadline-ingest-dlq.fifo"
OUTBOUND_QUEUE_NAME = "threadline-outbound.fifo"
OUTBOUND_DEAD_LETTER_QUEUE_NAME = "threadline-outbound-dlq.fifo"
MAIL_BUCKET = "threadline-mail-local"
# Short, so a poison message reaches the DLQ within seconds (3 receives, 2 s apart).
VISIBILITY_TIMEOUT_S = 2
MAX_RECEIVE_COUNT = 3
REPLY_EMAIL_FROM = "support@example.com"  # THREADLINE_REPLY_EMAIL_FROM's default
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class LocalResources:
    endpoint_url: str
    table_name: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    mail_bucket: str
    outbound_queue_url: str = ""
    outbound_queue_arn: str = ""
    outbound_dead_letter_queue_url: str = ""
    secret_arns: dict[str, str] = field(default_factory=dict)  # the secrets functions write back, by name


def client(service: str, endpoint_url: str) -> Any:
    """A client for moto that never picks up the user's real credentials or region."""
    # boto3-stubs types clients per literal service name; callers here pass several.
    return boto3.client(service, endpoint_url=endpoint_url, region_name=REGION, **FAKE_CREDENTIALS)  # type: ignore[call-overload]


class MotoBackend:
    def __init__(self) -> None:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        # moto's server logs one werkzeug line per AWS call otherwise.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()


def provision(endpoint_url: str, writable_secrets: Mapping[str, str] | None = None) -> LocalResources:
    """Create what the CDK stack would: the table, the FIFO ingest and outbound queues with their DLQs, the
    verified SES identity replies are sent from, the mail bucket,
    and each secret a function writes back (`Secret.writable`), holding its starting value."""
    client("dynamodb", endpoint_url).create_table(**create_table_request(TABLE_NAME))
    sqs = client("sqs", endpoint_url)
    queue_url, queue_arn, dlq_url = _fifo_with_dead_letters(sqs, QUEUE_NAME, DEAD_LETTER_QUEUE_NAME)
    outbound_url, outbound_arn, outbound_dlq_url = _fifo_with_dead_letters(
        sqs, OUTBOUND_QUEUE_NAME, OUTBOUND_DEAD_LETTER_QUEUE_NAME
    )
    # Replies by email leave through SES (moto), from the support address, a verified identity as deployed.
    client("ses", endpoint_url).verify_email_identity(EmailAddress=REPLY_EMAIL_FROM)
    client("s3", endpoint_url).create_bucket(Bucket=MAIL_BUCKET)
    secrets = client("secretsmanager", endpoint_url)
    secret_arns = {
        name: secrets.create_secret(Name=f"threadline/local/{name}", SecretString=value)["ARN"]
        for name, value in (writable_secrets or {}).items()
    }
    return LocalResources(
        endpoint_url=endpoint_url,
        table_name=TABLE_NAME,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dead_letter_queue_url=dlq_url,
        mail_bucket=MAIL_BUCKET,
        outbound_queue_url=outbound_url,
        outbound_queue_arn=outbound_arn,
        outbound_dead_letter_queue_url=outbound_dlq_url,
        secret_arns=secret_arns,
    )


def _fifo_with_dead_letters(sqs: Any, name: str, dead_letters_name: str) -> tuple[str, str, str]:
    """A FIFO queue and its FIFO DLQ, as infra/cdk/ingest.py makes them: (url, arn, DLQ url)."""
    dlq_url = sqs.create_queue(
        QueueName=dead_letters_name,
        Attributes={"FifoQueue": "true", "MessageRetentionPeriod": str(14 * 24 * 3600)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    queue_url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "FifoQueue": "true",
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_S),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return queue_url, queue_arn, dlq_url


def sent_emails() -> list[dict[str, Any]]:
    """The raw emails moto's SES took (it runs in this process): who to, the subject, when, the text."""
    import email
    from email.utils import parsedate_to_datetime

    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    found = []
    for message in list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages):
        raw = getattr(message, "raw_data", None)
        if raw is None:
            continue
        parsed = email.message_from_string(raw)
        body = parsed.get_payload(decode=True) if not parsed.is_multipart() else b""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else ""
        found.append(
            {
                "at": parsedate_to_datetime(parsed["Date"]).isoformat() if parsed["Date"] else "",
                "to": parsed["To"],
                "id": message.id,
                "kind": "email",
                "text": f"{parsed['Subject']}: {text.strip()}",
                "status": "sent",
            }
        )
    return found
