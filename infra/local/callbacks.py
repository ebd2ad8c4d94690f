"""Posts the provider sandboxes' webhooks (Twilio status callbacks, Meta statuses) to the stack, a moment later.

A provider calls back after it answered, from its own servers: here a thread
posts each callback when it is due, over HTTP to the local server, so it goes
through the same gateway, signature check and queue as a real one. A path
without a host is the stack's own (Meta posts to the app's configured URL).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import urllib.error
import urllib.request

log = logging.getLogger("threadline.local")
TIMEOUT_S = 10


class ThreadedWebhooks:
    def __init__(self, base_url: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._due: list[tuple[float, int, str, list[tuple[str, str]], bytes]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._delivering = 0
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def post(self, url: str, headers: list[tuple[str, str]], body: bytes, *, after_s: float) -> None:
        target = self._base_url + url if url.startswith("/") else url
        with self._wake:
            heapq.heappush(self._due, (time.monotonic() + after_s, next(self._order), target, headers, body))
            self._wake.notify()

    @property
    def pending(self) -> int:
        """Callbacks not yet answered by the stack (waiting, or being posted)."""
        with self._wake:
            return len(self._due) + self._delivering

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (not self._due or self._due[0][0] > time.monotonic()):
                    self._wake.wait(timeout=self._due[0][0] - time.monotonic() if self._due else None)
                if self._stopping:
                    return
                _, _, url, headers, body = heapq.heappop(self._due)
                self._delivering += 1
            try:
                self._deliver(url, headers, body)
            finally:
                with self._wake:
                    self._delivering -= 1

    @staticmethod
    def _deliver(url: str, headers: list[tuple[str, str]], body: bytes) -> None:
        request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - the stack's own URL
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (urllib.error.URLError, OSError) as error:
            log.warning("a sandbox webhook to %s failed: %s", url.partition("?")[0], error)
            return
        if status >= 300:
            log.warning("a sandbox webhook to %s was answered %d", url.partition("?")[0], status)
