"""Amazon SES inbound mail, delivered as SNS notifications of a receipt rule → contacts.

SES either puts the raw message into the notification (`SNS` action, `content`)
or stores it in S3 and says where (`S3` action). SES checks SPF, DKIM and DMARC
itself; a DMARC pass is what makes the From address `channel` assurance.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.channels import sns
from shared.channels.email.contacts import Delivery
from shared.ingest.errors import InvalidSignature, MalformedPayload
from shared.ingest.request import WebhookRequest
from shared.model.contact import Assurance, Provider

RECEIVED = "Received"


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Verdict(_Tolerant):
    status: str = "GRAY"  # PASS, FAIL, GRAY or PROCESSING_FAILED

    @property
    def passed(self) -> bool:
        return self.status.upper() == "PASS"


class ReceiptAction(_Tolerant):
    type: str
    encoding: str | None = None
    bucket_name: str | None = Field(default=None, alias="bucketName")
    object_key: str | None = Field(default=None, alias="objectKey")


class Receipt(_Tolerant):
    timestamp: datetime | None = None
    recipients: tuple[str, ...] = ()
    spf_verdict: Verdict = Field(default_factory=Verdict, alias="spfVerdict")
    dkim_verdict: Verdict = Field(default_factory=Verdict, alias="dkimVerdict")
    dmarc_verdict: Verdict = Field(default_factory=Verdict, alias="dmarcVerdict")
    spam_verdict: Verdict = Field(default_factory=Verdict, alias="spamVerdict")
    virus_verdict: Verdict = Field(default_factory=Verdict, alias="virusVerdict")
    action: ReceiptAction


class MailSummary(_Tolerant):
    message_id: str = Field(alias="messageId", min_length=1)
    timestamp: datetime | None = None


class SesNotification(_Tolerant):
    notification_type: str = Field(alias="notificationType")
    mail: MailSummary
    receipt: Receipt
    content: str | None = None

    @property
    def virus_found(self) -> bool:
        return self.receipt.virus_verdict.status.upper() == "FAIL"


@dataclass(frozen=True)
class StoredInS3:
    bucket: str
    key: str

    @property
    def storage_key(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def verify(request: WebhookRequest, endpoint: sns.SnsEndpoint, allowed_topics: frozenset[str]) -> sns.SnsMessage:
    """The SNS message, once its signature checks out and its topic is one of ours (else 403)."""
    message = sns.SnsMessage.from_body(request.body)
    certificate_url = sns.require_sns_url(message.signing_cert_url, what="SigningCertURL")
    sns.verify_signature(message, endpoint.certificate(certificate_url))
    if message.topic_arn not in allowed_topics:
        raise InvalidSignature("TopicArn is not a configured SES topic")
    return message


def read_notification(message: sns.SnsMessage) -> SesNotification | None:
    """The SES receipt notification, or None for a notification that is not about received mail."""
    try:
        notification = SesNotification.model_validate_json(message.message)
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in issue["loc"]) for issue in error.errors()})
        raise MalformedPayload(f"not an SES notification: {', '.join(fields) or 'invalid JSON'}") from error
    return notification if notification.notification_type == RECEIVED else None


def raw_source(notification: SesNotification) -> bytes | StoredInS3 | None:
    """The raw message itself (SNS action), where SES stored it (S3 action), or None (other actions)."""
    action = notification.receipt.action
    if action.type.upper() == "SNS" and notification.content is not None:
        if (action.encoding or "").upper() != "BASE64":
            return notification.content.encode("utf-8", "surrogateescape")
        try:
            return base64.b64decode(notification.content, validate=True)
        except (binascii.Error, ValueError) as error:
            raise MalformedPayload("content is not valid base64") from error
    if action.type.upper() == "S3" and action.bucket_name and action.object_key:
        return StoredInS3(action.bucket_name, action.object_key)
    return None


def delivery(notification: SesNotification, received_at: datetime) -> Delivery:
    receipt = notification.receipt
    return Delivery(
        provider=Provider.SES,
        received_at=received_at,
        fallback_message_id=notification.mail.message_id,
        provider_time=receipt.timestamp or notification.mail.timestamp,
        sender_assurance=Assurance.CHANNEL if receipt.dmarc_verdict.passed else Assurance.WEAK,
        envelope_recipient=receipt.recipients[0] if receipt.recipients else None,
    )
