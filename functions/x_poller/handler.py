"""Scheduled (xMode polling): X API v2 mentions and DM events → the ingest queue. docs/channels/x.md."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger, metrics, tracer
from shared.polling.poller import PollReport
from shared.wiring import get_x_poller

# Streams that did not catch up this run, and why (docs/channels/x.md, "Metrics and alarms").
OUTCOME_METRICS = {
    "rate_limited": "XPollRateLimited",
    "backing_off": "XPollBackingOff",
    "budget_exhausted": "XPollBudgetExhausted",
    "overlapped": "XPollOverlapped",
    "refused": "XPollRefused",
    "unavailable": "XPollUnavailable",
}


def publish(report: PollReport) -> None:
    """The metrics the stack's alarms watch: a stalled stream, a refused grant (infra/cdk/monitoring.py)."""
    metrics.add_metric(name="XPollRequests", unit="Count", value=report.requests)
    metrics.add_metric(name="XAuthRevoked", unit="Count", value=int(report.revoked))
    if report.lag_s is not None:
        metrics.add_metric(name="XPollLagSeconds", unit="Seconds", value=report.lag_s)
    for outcome, name in OUTCOME_METRICS.items():
        hits = sum(1 for stream in report.streams.values() if stream.outcome == outcome)
        if hits:
            metrics.add_metric(name=name, unit="Count", value=hits)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    poller = get_x_poller(client_secret="X_OAUTH2_CLIENT_SECRET", token_secret="X_OAUTH2_TOKENS")
    report = poller.run(datetime.now(UTC))
    publish(report)
    log = logger.error if report.revoked else logger.info
    log("x polled", extra=report.as_dict())
    return report.as_dict()
