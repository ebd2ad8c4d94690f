"""The EventBridge bus CRM sync consumers subscribe to, with an archive to replay from."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from constructs import Construct

EVENT_SOURCE = "threadline"  # DESIGN.md section 5: every event carries this source


class ThreadlineEventBus(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, archive_days: int) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"threadline-{stage}")
        self.archive = self.bus.archive(
            "Archive",
            archive_name=f"threadline-{stage}",
            description="Every Threadline event, for replay to a new or repaired consumer",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            retention=Duration.days(archive_days),  # 0 keeps events indefinitely
        )
