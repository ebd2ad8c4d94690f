"""What Twilio SMS and Voice share: X-Twilio-Signature and reading their form fields."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from shared.ingest.errors import MalformedPayload, UnsupportedMediaType
from shared.ingest.request import WebhookRequest
from shared.ingest.signatures import hmac_base64, require_match

SIGNATURE_HEADER = "x-twilio-signature"
_DEFAULT_PORTS = {"https": 443, "http": 80}


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's algorithm: the full URL, then each key and value sorted, HMAC-SHA1, base64.

    A repeated key contributes each of its distinct values in sorted order, as
    twilio-python's RequestValidator does.
    """
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    payload = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    return hmac_base64(auth_token, payload.encode(), "sha1")


def _url_variants(url: str) -> tuple[str, str]:
    """Twilio may sign the URL with or without the port; accept either, as its SDKs do."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 443)
    return urlunsplit(parts._replace(netloc=host)), urlunsplit(parts._replace(netloc=f"{host}:{port}"))


def verify(request: WebhookRequest, auth_token: str) -> None:
    """Check X-Twilio-Signature over the public URL the provider called and the form body."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("Twilio webhooks are application/x-www-form-urlencoded")
    accepted = [compute_signature(auth_token, url, request.form_pairs) for url in _url_variants(request.public_url)]
    require_match(request.header(SIGNATURE_HEADER), *accepted, header=SIGNATURE_HEADER)


def required(form: dict[str, str], *names: str) -> list[str]:
    """The named fields, or a 400 that lists the missing ones (names only, never values)."""
    missing = [name for name in names if not form.get(name, "").strip()]
    if missing:
        raise MalformedPayload(f"missing fields: {', '.join(missing)}")
    return [form[name].strip() for name in names]
