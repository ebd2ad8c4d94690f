"""The I/O an SNS webhook needs: signing certificates and subscription confirmation.

Both URLs pass `require_sns_url` here, at the I/O boundary, so nothing reaches a
host other than SNS's. Certificates are cached per container; SNS rotates them
rarely and names each by its own URL.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from shared.model.failures import DependencyUnavailable
from shared.model.sns_url import require_sns_url
from shared.observability import logger

TIMEOUT_S = 5
MAX_CERTIFICATE_BYTES = 64 * 1024
MAX_CACHED_CERTIFICATES = 16


class SnsUnavailable(DependencyUnavailable):
    """SNS could not be reached: 503, so SNS delivers the message again later."""


class SnsHttp:
    """The real thing: HTTPS GETs to SNS with certificate verification and a short timeout."""

    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self._timeout_s = timeout_s
        self._certificates: dict[str, bytes] = {}

    def _get(self, url: str, limit: int) -> bytes:
        request = urllib.request.Request(url, method="GET")  # noqa: S310 - https on an SNS host, checked
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:  # noqa: S310
                return bytes(response.read(limit))
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise SnsUnavailable("SNS cannot be reached") from error

    def certificate(self, url: str) -> bytes:
        require_sns_url(url, what="SigningCertURL")
        if url not in self._certificates:
            if len(self._certificates) >= MAX_CACHED_CERTIFICATES:
                self._certificates.clear()
            self._certificates[url] = self._get(url, MAX_CERTIFICATE_BYTES)
        return self._certificates[url]

    def confirm_subscription(self, subscribe_url: str) -> None:
        self._get(require_sns_url(subscribe_url, what="SubscribeURL"), MAX_CERTIFICATE_BYTES)


class TrustedTestCertificate:
    """Local runs: every SNS message is checked against one test certificate; nothing is fetched."""

    def __init__(self, pem_path: str) -> None:
        self._pem_path = pem_path

    def certificate(self, url: str) -> bytes:
        require_sns_url(url, what="SigningCertURL")
        try:
            return Path(self._pem_path).read_bytes()
        except OSError as error:
            raise SnsUnavailable("SNS_TEST_CERT_PEM cannot be read") from error

    def confirm_subscription(self, subscribe_url: str) -> None:
        # There is no SNS to answer locally; the subscription counts as confirmed.
        require_sns_url(subscribe_url, what="SubscribeURL")
        logger.info("local run: SNS subscription confirmation skipped")
