"""What the functions fed by Kinesis and SNS share: a bad record is skipped, not retried.

A record that cannot be parsed will not parse on a retry either, and retrying it
would hold up every record behind it on the shard. It is logged by its id and
the names of the fields at fault, never their values, and counted.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from shared.ingest.errors import MalformedPayload
from shared.model.contact import Contact
from shared.observability import logger, metrics


def parse_or_skip(parse: Callable[[], Contact | None], *, source: str, record_id: str) -> list[Contact]:
    """The record's contact, or none when it is malformed or of a kind we do not store."""
    try:
        contact = parse()
    except (MalformedPayload, ValidationError) as error:
        fields = (
            sorted({".".join(str(part) for part in issue["loc"]) for issue in error.errors()})
            if isinstance(error, ValidationError)
            else []
        )
        logger.warning(
            "malformed record skipped",
            extra={"source": source, "record_id": record_id, "error_type": type(error).__name__, "fields": fields},
        )
        metrics.add_metric(name="RecordsSkipped", unit="Count", value=1)
        return []
    if contact is None:
        logger.info("record of a kind we do not store", extra={"source": source, "record_id": record_id})
        return []
    return [contact]
