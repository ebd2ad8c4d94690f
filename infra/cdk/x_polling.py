"""What xMode polling adds around the x_poller function: its settings and the alarms that watch it.

The schedule is its source (infra/cdk/schedules.py), its secret and table grants
come from its FunctionSpec; here are the two things only this function has: the
X account and caps it polls with, and two alarms on the metrics it publishes
(functions/x_poller/handler.py).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from infra.cdk.function import METRICS_NAMESPACE, ThreadlineFunction
from infra.cdk.monitoring import Monitoring
from infra.cdk.settings import XPolling


def configure_x_poller(target: ThreadlineFunction, settings: XPolling, monitoring: Monitoring) -> None:
    if settings.user_id is None or settings.client_id is None:
        raise ValueError("xMode polling needs xPolling.userId and xPolling.clientId in cdk.json")
    for name, value in {
        "THREADLINE_X_USER_ID": settings.user_id,
        "THREADLINE_X_CLIENT_ID": settings.client_id,
        "THREADLINE_X_API_URL": settings.api_url,
        "THREADLINE_X_MENTIONS_PAGE_SIZE": str(settings.mentions_page_size),
        "THREADLINE_X_DM_PAGE_SIZE": str(settings.dm_page_size),
        "THREADLINE_X_MAX_PAGES": str(settings.max_pages_per_run),
        "THREADLINE_X_MONTHLY_REQUEST_CAP": str(settings.monthly_request_cap),
        "THREADLINE_X_MONTHLY_RESOURCE_CAP": str(settings.monthly_resource_cap),
    }.items():
        target.add_environment(name, value)

    def metric(name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": target.spec.name},
            statistic=statistic,
            period=Duration.minutes(5),
        )

    monitoring.alarm(
        "XPollStalled",
        metric("XPollLagSeconds", "Maximum"),
        threshold=settings.stalled_alarm_minutes * 60,
        description=f"an X stream has not caught up for {settings.stalled_alarm_minutes} minutes, or the poller "
        "stopped reporting (rate limit, budget, X outage, a failing run): docs/channels/x.md",
        missing_breaches=True,
    )
    monitoring.alarm(
        "XAuthRevoked",
        metric("XAuthRevoked", "Maximum"),
        threshold=1,
        description="X refused the poller's OAuth grant and polling stopped: store a new refresh token "
        "(docs/channels/x.md)",
    )
