"""What parsers of JSON provider payloads share (Meta, X): one bad item never drops the others.

A provider request may carry many entries and many messages. Each one becomes a
contact, a delivery report of one of our replies, is ignored by design (a read receipt, a delivery status, an event type
we do not store) or is skipped because it cannot be read (a missing id, an
impossible timestamp). The result counts the last two by type name and reason
so the handler can log them; names and reasons never carry a value, which may
be personal data.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.ingest.errors import MalformedPayload
from shared.ingest.request import WebhookRequest
from shared.model.contact import Attachment, AttachmentType, Contact
from shared.model.delivery import DeliveryReport
from shared.model.identifiers import InvalidIdentifier

# Provider clocks are not ours: a little skew ahead is normal, a year 5000 timestamp is not.
EARLIEST_PROVIDER_TIME = datetime(2000, 1, 1, tzinfo=UTC)
ALLOWED_CLOCK_SKEW = timedelta(days=1)
_UNITS_PER_SECOND = {"s": 1, "ms": 1000}


class ProviderPayload(BaseModel):
    """Provider payloads grow fields: ignore what we do not read, accept ids sent as numbers."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class ItemUnreadable(ValueError):
    """One item cannot become a contact; the message names the problem, never a value."""


@dataclass
class ParsedBatch:
    contacts: list[Contact] = field(default_factory=list)
    reports: list[DeliveryReport] = field(default_factory=list)  # the provider's word on our own replies
    ignored: Counter[str] = field(default_factory=Counter)  # not contacts by design
    skipped: Counter[str] = field(default_factory=Counter)  # contacts we could not read

    def ignore(self, kind: str, count: int = 1) -> None:
        if count:
            self.ignored[kind] += count

    @contextmanager
    def isolated(self, kind: str) -> Iterator[None]:
        """Run the parsing of one item: if it cannot be read, count it and go on with the next."""
        try:
            yield
        except ValueError as error:  # pydantic's ValidationError and InvalidIdentifier are ValueErrors
            self.skipped[f"{kind}: {_reason(error)}"] += 1


def _reason(error: ValueError) -> str:
    if isinstance(error, ValidationError):
        # Field paths only: pydantic's own message quotes the offending input.
        fields = sorted({".".join(str(part) for part in issue["loc"]) for issue in error.errors()})
        return "invalid " + ", ".join(fields)
    if isinstance(error, ItemUnreadable | InvalidIdentifier):
        return str(error)
    # Anything else may quote its input (int("...") does): name the type only.
    return type(error).__name__


def json_object(request: WebhookRequest) -> dict[str, Any]:
    """The body as a JSON object, or a 400."""
    return json_document(request.body)


def json_document(raw: bytes) -> dict[str, Any]:
    """A provider's JSON object (a webhook body, an API answer), or `MalformedPayload`."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedPayload("body is not JSON") from error
    if not isinstance(body, dict):
        raise MalformedPayload("body is not a JSON object")
    return body


def type_name(item: object, field: str = "type") -> str:
    """How the provider names an item's type, short enough to log; "unknown" when it is not a string."""
    value = item.get(field) if isinstance(item, dict) else None
    return value[:40] if isinstance(value, str) and value else "unknown"


def epoch_time(value: int, unit: Literal["s", "ms"], *, received_at: datetime) -> datetime:
    """A provider's Unix time as UTC, refused when it cannot be true (before 2000, or in the future)."""
    latest = received_at + ALLOWED_CLOCK_SKEW
    per_second = _UNITS_PER_SECOND[unit]
    # Compare as integers first: datetime.fromtimestamp overflows on values like 1e20.
    if not EARLIEST_PROVIDER_TIME.timestamp() * per_second <= value <= latest.timestamp() * per_second:
        raise ItemUnreadable("timestamp is out of range")
    return datetime.fromtimestamp(value / per_second, tz=UTC)


def location_attachment(latitude: float, longitude: float, name: str | None = None) -> Attachment:
    """A shared location as a `geo:` URI (RFC 5870), which maps and CRMs open as they are."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ItemUnreadable("location is out of range")
    return Attachment(
        type=AttachmentType.LOCATION, url=f"geo:{latitude},{longitude}", name=name[:512] if name else None
    )
