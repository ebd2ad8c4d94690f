"""Opaque cursors for list endpoints: the store's last key, sealed so clients cannot forge it.

A cursor is the key of the last item of a page, so pages stay stable while new
contacts arrive: a walk never repeats or skips an item that was there before it began.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from shared.model.failures import InvalidCursor


def encode_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(dict(last_key), sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, partition_attribute: str, partition: str) -> dict[str, str] | None:
    """The key to resume after; refused unless it belongs to the listing being walked."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise InvalidCursor("cursor is not valid") from error
    if not isinstance(key, dict) or not all(isinstance(v, str) for v in key.values()):
        raise InvalidCursor("cursor is not valid")
    if key.get(partition_attribute) != partition:
        raise InvalidCursor("cursor belongs to another listing")
    return {str(name): str(value) for name, value in key.items()}
