"""HMAC mechanics every provider shares, written once. Comparisons are constant-time."""

from __future__ import annotations

import base64
import hashlib
import hmac

from shared.ingest.errors import InvalidSignature, MissingSignature


def hmac_digest(secret: str, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(secret.encode(), message, getattr(hashlib, algorithm)).digest()


def hmac_base64(secret: str, message: bytes, algorithm: str = "sha256") -> str:
    return base64.b64encode(hmac_digest(secret, message, algorithm)).decode()


def hmac_hex(secret: str, message: bytes, algorithm: str = "sha256") -> str:
    return hmac_digest(secret, message, algorithm).hex()


def require_match(presented: str | None, *accepted: str, header: str) -> None:
    """Raise 401 when the signature is absent, 403 when it matches none of the accepted ones."""
    if not presented:
        raise MissingSignature(f"{header} is missing")
    candidate = presented.strip().encode()
    # Compare against every candidate, so timing says nothing about which one came close.
    matches = [hmac.compare_digest(candidate, signature.encode()) for signature in accepted]
    if not any(matches):
        raise InvalidSignature(f"{header} does not match")
