"""Replies through AWS: SES v2 raw MIME (moto) and End User Messaging SendTextMessage (botocore's Stubber)."""

from __future__ import annotations

import email

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from shared.adapters.aws_senders import EumTextSender, SesMailer
from shared.model import identifiers
from shared.model.contact import (
    Assurance,
    Channel,
    Contact,
    Party,
    Provider,
    Thread,
)
from shared.model.delivery import Accepted, Refused, RetryLater
from shared.replies.couriers import MailCourier, SmsCourier
from tests.fakes_replies import REPLY_TIME, outbound, phone_party

NOW = REPLY_TIME


def test_an_email_reply_leaves_through_ses_as_raw_mime_tagged_with_the_reply() -> None:
    with mock_aws():
        boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress="support@example.com")
        mailer = SesMailer(boto3.client("sesv2", region_name="us-east-1"), configuration_set=None, identity_arn=None)
        contact = outbound(
            Channel.EMAIL,
            Provider.SES,
            Party(handle="support@example.com"),
            Party(identifiers=(identifiers.email("anna@example.com", Assurance.CHANNEL),)),
            thread=Thread(message_id="ours@example.com", in_reply_to="theirs@mail.example.com", subject="Re: Late"),
        )

        outcome = MailCourier(mailer, "support@example.com").send(contact, NOW)

        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        (sent,) = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert isinstance(outcome, Accepted)
    parsed = email.message_from_string(sent.raw_data)
    assert (parsed["Message-ID"], parsed["In-Reply-To"]) == ("<ours@example.com>", "<theirs@mail.example.com>")


def test_ses_refuses_an_unverified_sender_for_good() -> None:
    with mock_aws():
        mailer = SesMailer(boto3.client("sesv2", region_name="us-east-1"), configuration_set=None, identity_arn=None)

        outcome = mailer.send_raw(b"Subject: x\r\n\r\nx", "nobody@example.com", "anna@example.com", {})

    assert isinstance(outcome, Refused)
    assert outcome.error.code == "MessageRejected"


def sms() -> Contact:
    return outbound(Channel.SMS, Provider.EUM, phone_party("+14155550100"), phone_party("+14155550142"))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, Accepted("eum-1")),
        (
            {"service_error_code": "ThrottlingException", "http_status_code": 400},
            RetryLater("ThrottlingException from AWS", 30),
        ),
        (
            {"service_error_code": "InternalServerException", "http_status_code": 500},
            RetryLater("InternalServerException from AWS", 30),
        ),
    ],
)
def test_an_sms_reply_leaves_through_end_user_messaging(error: dict[str, object] | None, expected: object) -> None:
    client = boto3.client(
        "pinpoint-sms-voice-v2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    request = {
        "DestinationPhoneNumber": "+14155550142",
        "OriginationIdentity": "+14155550100",
        "MessageBody": "It ships today.",
        "MessageType": "TRANSACTIONAL",
        "Context": {"contact_id": sms().contact_id},
    }
    with Stubber(client) as stubber:
        if error is None:
            stubber.add_response("send_text_message", {"MessageId": "eum-1"}, request)
        else:
            stubber.add_client_error("send_text_message", expected_params=request, **error)  # type: ignore[arg-type]

        outcome = SmsCourier(EumTextSender(client, configuration_set=None)).send(sms(), NOW)

    assert outcome == expected


def test_an_opted_out_number_is_refused_and_opted_out() -> None:
    client = boto3.client(
        "pinpoint-sms-voice-v2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "send_text_message",
            service_error_code="ConflictException",
            http_status_code=409,
            service_message="The destination phone number is opted out",
            response_meta={},
            modeled_fields={
                "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
                "ResourceType": "opt-out",
                "ResourceId": "x",
            },
        )

        outcome = SmsCourier(EumTextSender(client, configuration_set=None)).send(sms(), NOW)

    assert isinstance(outcome, Refused)
    assert outcome.opted_out
