"""A signed SNS notification of SES inbound mail, as SNS would POST it.

SNS signs with AWS's key; locally we sign with a test key whose certificate the
stack trusts through SNS_TEST_CERT_PEM. `write_test_certificate` creates such a
file (the key and the self-signed certificate in one PEM).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from infra.local.samples import SampleOptions, SignedRequest
from infra.local.samples.email import DEFAULT_RECIPIENT, sample_email
from shared.channels.sns import SnsMessage, string_to_sign
from shared.config import DEV_SES_TOPIC_ARN, get_settings

PATH = "/webhooks/ses"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-threadlinetest.pem"


# `threadline serve` trusts this file unless SNS_TEST_CERT_PEM names another, so a sample
# signed in another shell of the same folder verifies with no setup.
LOCAL_TEST_PEM = Path(".threadline/sns-test.pem")


def write_test_certificate(path: Path) -> Path:
    """A self-signed RSA certificate and its key in one PEM file (kept if it exists)."""
    if path.exists():
        return path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + certificate.public_bytes(serialization.Encoding.PEM)
    )
    return path


def sign(fields: dict[str, Any], pem_path: Path, version: str = "2") -> dict[str, Any]:
    """The SNS body with SignatureVersion, SigningCertURL and Signature filled in."""
    key = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    body = {**fields, "SignatureVersion": version, "SigningCertURL": CERT_URL}
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS SignatureVersion 1 is SHA1
    signature = key.sign(string_to_sign(SnsMessage.model_validate(body)), padding.PKCS1v15(), algorithm)
    return {**body, "Signature": base64.b64encode(signature).decode()}


def receipt_notification(
    raw: bytes | None,
    *,
    recipient: str = DEFAULT_RECIPIENT,
    dmarc: str = "PASS",
    s3_object: tuple[str, str] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """SES's notification: the raw mail inline (SNS action, BASE64) or where it lies (S3 action)."""
    timestamp = (at or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    verdict = {"status": "PASS"}
    action: dict[str, Any] = {"type": "SNS", "topicArn": DEV_SES_TOPIC_ARN, "encoding": "BASE64"}
    if s3_object is not None:
        action = {"type": "S3", "topicArn": DEV_SES_TOPIC_ARN, "bucketName": s3_object[0], "objectKey": s3_object[1]}
    notification: dict[str, Any] = {
        "notificationType": "Received",
        "mail": {
            "timestamp": timestamp,
            "source": "ann.jones@example.net",
            "messageId": uuid.uuid4().hex[:20],
            "destination": [recipient],
            "headersTruncated": False,
        },
        "receipt": {
            "timestamp": timestamp,
            "processingTimeMillis": 312,
            "recipients": [recipient],
            "spamVerdict": verdict,
            "virusVerdict": verdict,
            "spfVerdict": verdict,
            "dkimVerdict": verdict,
            "dmarcVerdict": {"status": dmarc},
            "action": action,
        },
    }
    if raw is not None and s3_object is None:
        notification["content"] = base64.b64encode(raw).decode()
    return notification


def sns_request(fields: dict[str, Any], pem_path: Path, version: str = "2") -> SignedRequest:
    body = sign(fields, pem_path, version)
    return SignedRequest(
        method="POST",
        path=PATH,
        body=json.dumps(body).encode(),
        headers={
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": str(fields["Type"]),
            "x-amz-sns-message-id": str(fields["MessageId"]),
            "x-amz-sns-topic-arn": str(fields["TopicArn"]),
        },
    )


def notification_request(
    notification: dict[str, Any], pem_path: Path, *, topic_arn: str = DEV_SES_TOPIC_ARN, version: str = "2"
) -> SignedRequest:
    fields = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": json.dumps(notification),
        "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
        + topic_arn
        + ":0f5a1b1e-0000-4000-8000-000000000000",
    }
    return sns_request(fields, pem_path, version)


def build(options: SampleOptions) -> SignedRequest:
    """Signed with the certificate the local stack trusts: SNS_TEST_CERT_PEM, else the stack's default file."""
    pem_path = write_test_certificate(Path(get_settings().sns_test_cert_pem or LOCAL_TEST_PEM))
    notification = receipt_notification(sample_email(options), recipient=options.recipient or DEFAULT_RECIPIENT)
    return notification_request(notification, pem_path)
