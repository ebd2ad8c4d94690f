"""How much of an inbound email we read, and the error for a message over the limit.

The caps keep one contact inside an SQS message (256 KiB) and a DynamoDB item
(400 KB) and keep a hostile message (a MIME bomb) from exhausting the function.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.ingest.errors import PayloadTooLarge

KIB = 1024


class EmailTooLarge(PayloadTooLarge):
    """The message is over the configured size: 413 for SendGrid/Mailgun, a counted drop for SES."""


@dataclass(frozen=True)
class EmailLimits:
    max_bytes: int = 10 * KIB * KIB
    # Measured: the stdlib parser with the modern policy spends ~0.3 ms per part and
    # grows faster than linearly; real mail rarely has 50 parts, 200 parse in ~0.2 s.
    max_parts: int = 200
    # Real mail nests 3-6 levels (signed > mixed > alternative > related); 16 is generous.
    max_depth: int = 16
    # Both texts in UTF-8 bytes; JSON escaping can double them, and the pair must
    # still leave room for attachment metadata in a 256 KiB SQS message.
    max_text_bytes: int = 32 * KIB
    max_full_text_bytes: int = 64 * KIB
    max_attachments: int = 30
    # The reply parser is regex based and superlinear on hostile input: it sees at most this much.
    reply_window_bytes: int = 16 * KIB
    max_html_bytes: int = KIB * KIB

    def refuse_oversized(self, size: int) -> None:
        if size > self.max_bytes:
            raise EmailTooLarge(f"email is larger than {self.max_bytes} bytes")
