"""Where email replies' SES events go: a configuration set publishing them to an SNS topic.

The sender names the set on every SendEmail; SES publishes Send, Delivery,
Bounce, Complaint and Reject events to the topic, which SNS delivers to the SES
webhook's route (`/webhooks/ses`, the one that already verifies SNS signatures),
where they become delivery reports of the replies.
"""

from __future__ import annotations

from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.cdk.notifications import NotificationTopics

EVENTS = (
    ses.EmailSendingEvent.SEND,
    ses.EmailSendingEvent.DELIVERY,
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.REJECT,
)


class ReplyEmailEvents(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str, topics: NotificationTopics) -> None:
        super().__init__(scope, construct_id)
        self.topic: sns.Topic = topics.topic(
            "SesEventTopic", display_name="Threadline email reply events", publisher="ses.amazonaws.com"
        )
        self.configuration_set = ses.ConfigurationSet(
            self, "ConfigurationSet", configuration_set_name=f"threadline-{stage}-replies"
        )
        self.configuration_set.add_event_destination(
            "ToTopic", destination=ses.EventDestination.sns_topic(self.topic), events=list(EVENTS)
        )

    @property
    def name(self) -> str:
        return self.configuration_set.configuration_set_name
