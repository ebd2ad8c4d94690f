"""Failures the use cases and the adapters share, so neither imports the other to name them.

Each entry point maps them to a response once (a webhook's resolver, the /v1
resolver, the processor's batch): a use case never catches a boto3 error.
"""

from __future__ import annotations

import time


class DependencyUnavailable(RuntimeError):
    """A service we depend on did not answer (queue, bucket, SNS, secrets): a webhook answers 503."""


class StoreContention(RuntimeError):
    """The table kept refusing or changing under a write; the record fails and SQS redelivers it."""


class ConditionFailed(RuntimeError):
    """Someone changed the item since it was read; the caller re-reads or reports a conflict."""


class ObjectTooLarge(ValueError):
    """An object in storage is over the size we agreed to read; it was not read."""


class InvalidCursor(ValueError):
    """A page cursor that is not one of ours, or belongs to another listing (API: 400)."""


class UntrustedUrl(ValueError):
    """A URL we were asked to fetch is not on the host it must be on (an SNS certificate, say)."""


class ProviderUnreachable(DependencyUnavailable):
    """A provider's API could not be reached at all (no connection): nothing was sent."""


class ProviderNoAnswer(DependencyUnavailable):
    """A request went out and no answer came back (a timeout, a reset): the provider may have acted on it."""


class TokenRejected(RuntimeError):
    """X refused an OAuth 2.0 grant: a used, expired or revoked refresh token, or a wrong client secret."""


def backoff(attempt: int) -> None:
    """How long to wait before trying again after a contention: doubling from 50 ms, at most a second."""
    time.sleep(min(0.05 * 2**attempt, 1.0))
