"""The one rule for a URL Threadline may fetch on SNS's behalf: https on an `sns.<region>.amazonaws.com` host.

Both the SNS message check (`shared.channels.sns`) and the adapter that fetches
(`shared.adapters.sns`) apply it, so a certificate or subscription URL from a
forged message is refused before any I/O, even if one of them is bypassed.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from shared.model.failures import UntrustedUrl

_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")


def require_sns_url(url: str | None, *, what: str) -> str:
    """The URL itself when it is https on an SNS host (default port, no credentials); else `UntrustedUrl`."""
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme != "https"
        or not _SNS_HOST.match(parts.hostname or "")
        or port not in (None, 443)
        or parts.username is not None
        or parts.password is not None
    ):
        raise UntrustedUrl(f"{what} is not an https URL on an SNS host")
    return url or ""
