"""Form bodies of the email webhooks: multipart/form-data (files) or urlencoded.

Multipart is decoded by the stdlib `email` parser (the `cgi` module is gone in
Python 3.13), after a cheap count of the parts so a body with thousands of
parts is refused before the parser spends time on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any

from shared.channels.email.headers import clean
from shared.ingest.errors import MalformedPayload, UnsupportedMediaType
from shared.ingest.request import WebhookRequest

MAX_FORM_PARTS = 120  # SendGrid and Mailgun send ~20 fields plus the attachments


@dataclass(frozen=True)
class UploadedFile:
    payload: bytes
    content_type: str
    filename: str | None


@dataclass(frozen=True)
class FormData:
    fields: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def text(self, name: str, charset: str = "utf-8") -> str | None:
        """A field as text in the charset the provider declares for it (UTF-8 if none)."""
        value = self.fields.get(name)
        if value is None:
            return None
        try:
            return value.decode(charset)
        except (LookupError, UnicodeDecodeError):
            return value.decode("utf-8", "replace")

    def json(self, name: str) -> Any:
        """A JSON field; an unreadable one reads as absent (it only ever adds detail)."""
        value = self.fields.get(name)
        if not value:
            return None
        try:
            return json.loads(value)
        except (ValueError, UnicodeDecodeError):
            return None


# One slot: the form of the request being handled, so decoding happens once per request.
_decoded: list[tuple[WebhookRequest, FormData]] = []


def _multipart(request: WebhookRequest) -> FormData:
    content_type = request.header("content-type") or ""
    document = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + request.body
    )
    boundary = document.get_boundary()
    if not boundary:
        raise MalformedPayload("multipart body has no boundary")
    if request.body.count(b"--" + boundary.encode("latin-1", "replace")) > MAX_FORM_PARTS + 1:
        raise MalformedPayload(f"form has more than {MAX_FORM_PARTS} parts")
    form = FormData()
    for part in document.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            form.fields[name] = data
        else:
            form.files[name] = UploadedFile(data, part.get_content_type(), clean(filename))
    return form


def form_data(request: WebhookRequest) -> FormData:
    """The form of this request, decoded once (verification and parsing both read it)."""
    if _decoded and _decoded[0][0] is request:
        return _decoded[0][1]
    if request.content_type == "multipart/form-data":
        form = _multipart(request)
    elif request.content_type == "application/x-www-form-urlencoded":
        form = FormData(fields={name: value.encode() for name, value in request.form_pairs})
    else:
        raise UnsupportedMediaType("email webhooks are multipart/form-data or application/x-www-form-urlencoded")
    _decoded[:] = [(request, form)]
    return form
