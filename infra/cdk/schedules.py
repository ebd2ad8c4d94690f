"""Source.SCHEDULE: an EventBridge Scheduler schedule that invokes a function at a fixed rate.

A run that fails is not retried, by Scheduler or by Lambda's asynchronous
retries: the next tick is the retry, and a retried run would overlap it. What
Scheduler could not deliver at all (the function throttled, deleted) lands in
a dead-letter queue, alarmed like every other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from cdk_nag import NagPackSuppression, NagSuppressions

from infra.cdk.function import ThreadlineFunction

if TYPE_CHECKING:
    from infra.cdk.sources import EventSources


def attach_schedule(sources: EventSources, target: ThreadlineFunction) -> None:
    spec = target.spec
    minutes = sources.settings.schedule_minutes(spec)
    failures = sources.failure_queue(f"{spec.name}ScheduleFailures")
    role = iam.Role(
        sources,
        f"{spec.name}ScheduleRole",
        assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
        description=f"EventBridge Scheduler: invoke {spec.name}, send what fails to its dead-letter queue",
    )
    scheduler.Schedule(
        sources,
        f"{spec.name}Schedule",
        description=f"Runs {spec.name} every {minutes} minute(s)",
        schedule=scheduler.ScheduleExpression.rate(Duration.minutes(minutes)),
        target=targets.LambdaInvoke(
            target.function,
            # The same input the local timer sends (infra/local/timer.py).
            input=scheduler.ScheduleTargetInput.from_object({"schedule": spec.name}),
            retry_attempts=0,
            max_event_age=Duration.seconds(max(60, minutes * 60)),
            dead_letter_queue=failures,
            role=role,
        ),
    )
    function = target.function.node.default_child
    assert isinstance(function, lambda_.CfnFunction)
    # After the target bound: the grant lives in the role's default policy, made by the binding.
    NagSuppressions.add_resource_suppressions(
        role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="lambda:InvokeFunction on this one function and its versions (ARN:*), as grantInvoke writes it",
                applies_to=[f"Resource::<{Stack.of(function).resolve(function.logical_id)}.Arn>:*"],
            )
        ],
        apply_to_children=True,
    )
    target.function.configure_async_invoke(retry_attempts=0, max_event_age=Duration.seconds(max(60, minutes * 60)))
