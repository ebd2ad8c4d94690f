"""Amazon SNS HTTP(S) deliveries: the message model and its signature (SignatureVersion 1 and 2).

Generic on purpose: any webhook that SNS calls (SES inbound mail, End User
Messaging SMS) verifies with `verify_signature`. Pure: the signing certificate
is handed in by the caller, which fetches it through `shared.adapters.sns` after
`require_sns_url` accepted its URL.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Literal, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.ingest.errors import InvalidSignature, MalformedPayload, MissingSignature
from shared.model import sns_url
from shared.model.failures import UntrustedUrl

MESSAGE_TYPE_HEADER = "x-amz-sns-message-type"
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


class SnsEndpoint(Protocol):
    """The I/O SNS verification needs; `shared.adapters.sns` implements it."""

    def certificate(self, url: str) -> bytes: ...

    def confirm_subscription(self, subscribe_url: str) -> None: ...


class SnsMessage(BaseModel):
    """An SNS HTTP delivery body; tolerant of fields SNS adds later."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Literal["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"] = Field(alias="Type")
    message_id: str = Field(alias="MessageId", min_length=1)
    topic_arn: str = Field(alias="TopicArn", min_length=1)
    message: str = Field(alias="Message")
    timestamp: str = Field(alias="Timestamp", min_length=1)
    subject: str | None = Field(default=None, alias="Subject")
    token: str | None = Field(default=None, alias="Token")
    subscribe_url: str | None = Field(default=None, alias="SubscribeURL")
    signature_version: str = Field(default="", alias="SignatureVersion")
    signature: str = Field(default="", alias="Signature")
    signing_cert_url: str = Field(default="", alias="SigningCertURL")

    @classmethod
    def from_body(cls, body: bytes) -> SnsMessage:
        try:
            return cls.model_validate_json(body)
        except ValidationError as error:
            fields = sorted({".".join(str(part) for part in issue["loc"]) for issue in error.errors()})
            raise MalformedPayload(f"not an SNS message: {', '.join(fields) or 'invalid JSON'}") from error


def require_sns_url(url: str | None, *, what: str) -> str:
    """Only https on an `sns.<region>.amazonaws.com` host: checked before anything is fetched (else 403)."""
    try:
        return sns_url.require_sns_url(url, what=what)
    except UntrustedUrl as error:
        raise InvalidSignature(str(error)) from error


def string_to_sign(message: SnsMessage) -> bytes:
    """The canonical string: each signed field present as `Name\\nvalue\\n`, in SNS's order."""
    fields = _NOTIFICATION_FIELDS if message.type == "Notification" else _CONFIRMATION_FIELDS
    values = message.model_dump(by_alias=True)
    lines = [f"{name}\n{values[name]}\n" for name in fields if values.get(name) is not None]
    return "".join(lines).encode()


@functools.lru_cache(maxsize=16)
def _public_key(certificate_pem: bytes) -> rsa.RSAPublicKey:
    key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidSignature("SNS signing certificate does not hold an RSA key")
    return key


def verify_signature(message: SnsMessage, certificate_pem: bytes) -> None:
    """403 unless the message is signed by the certificate's key (SHA1withRSA or SHA256withRSA)."""
    if not message.signature:
        raise MissingSignature("Signature is missing")
    algorithm = _HASHES.get(message.signature_version)
    if algorithm is None:
        raise InvalidSignature("SignatureVersion must be 1 or 2")
    try:
        signature = base64.b64decode(message.signature, validate=True)
        public_key = _public_key(certificate_pem)
    except (binascii.Error, ValueError) as error:
        raise InvalidSignature("Signature or signing certificate cannot be read") from error
    try:
        public_key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
    except CryptoInvalidSignature as error:
        raise InvalidSignature("Signature does not match") from error
