"""Domain errors a webhook can raise; `shared.ingest.app` maps each to a status once."""

from __future__ import annotations


class WebhookError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingSignature(WebhookError):
    status = 401
    code = "missing_signature"


class InvalidSignature(WebhookError):
    status = 403
    code = "invalid_signature"


class MalformedPayload(WebhookError):
    status = 400
    code = "malformed_payload"


class PayloadTooLarge(WebhookError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(WebhookError):
    status = 415
    code = "unsupported_media_type"
