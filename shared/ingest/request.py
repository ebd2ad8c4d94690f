"""The provider-neutral view of one webhook call, built from an API Gateway v2 event."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from urllib.parse import parse_qsl

from shared.ingest.errors import MalformedPayload, PayloadTooLarge

MAX_FORM_FIELDS = 300


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    path: str
    raw_query: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    public_url: str
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def from_event(cls, event: Mapping[str, object], *, public_base_url: str, max_body_bytes: int) -> WebhookRequest:
        """Decode an HTTP API (payload v2) event; the exact body bytes are kept for signatures."""
        raw_body = str(event.get("body") or "")
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(raw_body, validate=True)
            except binascii.Error as error:
                raise MalformedPayload("body is not valid base64") from error
        else:
            body = raw_body.encode()
        if len(body) > max_body_bytes:
            raise PayloadTooLarge(f"body is larger than {max_body_bytes} bytes")
        http = dict(event.get("requestContext", {}).get("http", {}))  # type: ignore[attr-defined]
        path = str(event.get("rawPath") or http.get("path") or "/")
        raw_query = str(event.get("rawQueryString") or "")
        headers = {str(name).lower(): str(value) for name, value in dict(event.get("headers") or {}).items()}  # type: ignore[call-overload]
        query = {str(k): str(v) for k, v in dict(event.get("queryStringParameters") or {}).items()}  # type: ignore[call-overload]
        public_url = public_base_url.rstrip("/") + path + (f"?{raw_query}" if raw_query else "")
        return cls(
            method=str(http.get("method", "POST")).upper(),
            path=path,
            raw_query=raw_query,
            headers=headers,
            query=query,
            body=body,
            public_url=public_url,
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @cached_property
    def form_pairs(self) -> list[tuple[str, str]]:
        """An urlencoded body as ordered pairs (a key may repeat), decoded once."""
        try:
            return parse_qsl(
                self.body.decode("utf-8"),
                keep_blank_values=True,
                strict_parsing=False,
                max_num_fields=MAX_FORM_FIELDS,
            )
        except (UnicodeDecodeError, ValueError) as error:
            raise MalformedPayload("form body cannot be decoded") from error

    @cached_property
    def form(self) -> dict[str, str]:
        return dict(self.form_pairs)
