"""POST /webhooks/ses: SNS signatures (v1, v2), subscription confirmation, SES content and S3 actions."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.ses.handler import lambda_handler
from infra.local.samples import SignedRequest, ses
from infra.local.samples.email import compose_email
from shared import config
from shared.adapters.sns import SnsHttp, SnsUnavailable, TrustedTestCertificate
from shared.channels.sns import SnsMessage, string_to_sign, verify_signature
from shared.config import DEV_SES_TOPIC_ARN
from shared.model.contact import Assurance, AttachmentType, Provider
from shared.wiring import get_sns_endpoint
from tests.builders import (
    FakeContext,
    contacts_from_queue,
    event_fixture,
    json_body,
    signed_event,
)
from tests.conftest import Account, clear_factories

BUCKET = "threadline-mail-test"
RECIPIENT = "support@acme.example"


class FakeSns:
    """Records what the webhook asked SNS for; answers with the test certificate or fails."""

    def __init__(self, pem: Path, *, reachable: bool = True) -> None:
        self.pem = pem
        self.reachable = reachable
        self.fetched: list[str] = []
        self.confirmed: list[str] = []

    def certificate(self, url: str) -> bytes:
        self.fetched.append(url)
        if not self.reachable:
            raise SnsUnavailable("SNS cannot be reached")
        return self.pem.read_bytes()

    def confirm_subscription(self, subscribe_url: str) -> None:
        self.confirmed.append(subscribe_url)


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ses.write_test_certificate(tmp_path_factory.mktemp("sns") / "sns-test.pem")


@pytest.fixture
def trusted_pem(pem: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SNS_TEST_CERT_PEM", str(pem))
    clear_factories()
    return pem


@pytest.fixture
def bucket(aws: Account, monkeypatch: pytest.MonkeyPatch) -> Any:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("THREADLINE_MAIL_BUCKET", BUCKET)
    clear_factories()
    return s3


def send(signed: SignedRequest, sns: FakeSns | None = None) -> dict[str, Any]:
    return lambda_handler(signed_event(signed), FakeContext(), sns=sns)


def mail_notification(pem: Path, raw: bytes, *, version: str = "2", **options: Any) -> SignedRequest:
    return ses.notification_request(ses.receipt_notification(raw, recipient=RECIPIENT, **options), pem, version=version)


def tampered(signed: SignedRequest, **changes: str) -> SignedRequest:
    body = {**json.loads(signed.body), **changes}
    return SignedRequest(signed.method, signed.path, json.dumps(body).encode(), signed.headers)


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_notification_with_content_is_queued_as_an_email_contact(
    aws: Account, trusted_pem: Path, version: str
) -> None:
    raw = event_fixture("email", "gmail_reply.eml")
    response = send(mail_notification(trusted_pem, raw, version=version))

    assert response["statusCode"] == 200
    assert json_body(response)["status"] == "queued"
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.provider is Provider.SES
    assert contact.provider_message_id == "CAGmailReply2@mail.example.net"
    assert contact.sender.identifiers[0].value == "ann.jones@example.net"
    assert contact.recipient.identifiers[0].value == RECIPIENT
    assert contact.thread.in_reply_to == "support-0001@acme.example"
    assert contact.content.text == "Thanks, the tracking link works now."


def test_dmarc_pass_makes_the_sender_channel_assurance(aws: Account, trusted_pem: Path) -> None:
    send(mail_notification(trusted_pem, event_fixture("email", "alternative.eml"), dmarc="PASS"))
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.sender.identifiers[0].assurance is Assurance.CHANNEL


@pytest.mark.parametrize("verdict", ["FAIL", "GRAY", "PROCESSING_FAILED"])
def test_without_dmarc_pass_the_sender_is_weak_assurance(aws: Account, trusted_pem: Path, verdict: str) -> None:
    send(mail_notification(trusted_pem, event_fixture("email", "alternative.eml"), dmarc=verdict))
    [contact] = contacts_from_queue(aws.queued_bodies())
    assert contact.sender.identifiers[0].assurance is Assurance.WEAK


def test_a_tampered_message_is_403_and_queues_nothing(aws: Account, trusted_pem: Path) -> None:
    signed = mail_notification(trusted_pem, event_fixture("email", "alternative.eml"))
    response = send(tampered(signed, Timestamp="2030-01-01T00:00:00.000Z"))

    assert response["statusCode"] == 403
    assert json_body(response)["error"]["code"] == "invalid_signature"
    assert aws.queued_bodies() == []


def test_a_message_without_signature_is_401(aws: Account, trusted_pem: Path) -> None:
    signed = mail_notification(trusted_pem, event_fixture("email", "alternative.eml"))
    assert send(tampered(signed, Signature=""))["statusCode"] == 401


def test_an_unknown_signature_version_is_403(aws: Account, trusted_pem: Path) -> None:
    signed = mail_notification(trusted_pem, event_fixture("email", "alternative.eml"))
    assert send(tampered(signed, SignatureVersion="3"))["statusCode"] == 403


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-x.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-x.pem",
        "https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        "",
    ],
)
def test_a_certificate_url_off_sns_hosts_is_refused_before_anything_is_fetched(
    aws: Account, pem: Path, url: str
) -> None:
    sns = FakeSns(pem)
    signed = mail_notification(pem, event_fixture("email", "alternative.eml"))
    response = send(tampered(signed, SigningCertURL=url), sns)

    assert response["statusCode"] == 403
    assert sns.fetched == []


def test_a_china_region_certificate_host_is_accepted(aws: Account, pem: Path) -> None:
    sns = FakeSns(pem)
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem"
    notification = ses.receipt_notification(event_fixture("email", "alternative.eml"), recipient=RECIPIENT)
    fields = json.loads(ses.notification_request(notification, pem).body)
    fields["SigningCertURL"] = url
    signed = ses.sns_request({k: v for k, v in fields.items() if k not in ("Signature", "SigningCertURL")}, pem)
    signed = tampered(signed, SigningCertURL=url)
    # The certificate URL is not part of the signed string, so the signature still holds.
    assert send(signed, sns)["statusCode"] == 200
    assert sns.fetched == [url]


def test_a_notification_from_a_topic_we_do_not_own_is_403(aws: Account, trusted_pem: Path) -> None:
    notification = ses.receipt_notification(event_fixture("email", "alternative.eml"), recipient=RECIPIENT)
    signed = ses.notification_request(notification, trusted_pem, topic_arn="arn:aws:sns:us-east-1:999999999999:other")
    assert send(signed)["statusCode"] == 403
    assert aws.queued_bodies() == []


def subscription(pem: Path, topic_arn: str, subscribe_url: str | None = None) -> SignedRequest:
    token = "2336412f37fb687f5d51e6e2425f004aed26a4e5" * 2
    url = subscribe_url or (
        f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}"
    )
    fields = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": token,
        "TopicArn": topic_arn,
        "Message": f"You have chosen to subscribe to the topic {topic_arn}.",
        "SubscribeURL": url,
        "Timestamp": "2025-03-04T09:00:00.000Z",
    }
    return ses.sns_request(fields, pem)


def test_subscription_to_a_configured_topic_is_confirmed_by_fetching_subscribe_url(aws: Account, pem: Path) -> None:
    sns = FakeSns(pem)
    signed = subscription(pem, DEV_SES_TOPIC_ARN)
    response = send(signed, sns)

    assert response["statusCode"] == 200
    assert json_body(response)["status"] == "subscribed"
    assert sns.confirmed == [json.loads(signed.body)["SubscribeURL"]]


def test_subscription_to_another_topic_is_refused_and_not_confirmed(aws: Account, pem: Path) -> None:
    sns = FakeSns(pem)
    response = send(subscription(pem, "arn:aws:sns:us-east-1:999999999999:someone-elses"), sns)
    assert response["statusCode"] == 403
    assert sns.confirmed == []


def test_configured_topics_come_from_the_environment(aws: Account, pem: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    topic = "arn:aws:sns:eu-west-1:123456789012:threadline-inbound"
    monkeypatch.setenv("THREADLINE_SES_TOPIC_ARNS", f"{topic}, arn:aws:sns:eu-west-1:123456789012:spare")
    clear_factories()
    sns = FakeSns(pem)

    assert send(subscription(pem, topic), sns)["statusCode"] == 200
    assert send(subscription(pem, DEV_SES_TOPIC_ARN), sns)["statusCode"] == 403


def test_a_subscribe_url_off_sns_hosts_is_never_fetched(aws: Account, pem: Path) -> None:
    # TrustedTestCertificate and SnsHttp both check the URL themselves before any I/O.
    with pytest.raises(Exception, match="not an https URL on an SNS host"):
        SnsHttp().confirm_subscription("https://evil.example/?Action=ConfirmSubscription")
    with pytest.raises(Exception, match="not an https URL on an SNS host"):
        TrustedTestCertificate(str(pem)).confirm_subscription("http://sns.us-east-1.amazonaws.com/")


def test_an_unreachable_certificate_is_503_so_sns_retries(aws: Account, pem: Path) -> None:
    response = send(mail_notification(pem, event_fixture("email", "alternative.eml")), FakeSns(pem, reachable=False))
    assert response["statusCode"] == 503
    assert aws.queued_bodies() == []


def test_unsubscribe_confirmation_is_acknowledged_and_stores_nothing(aws: Account, pem: Path) -> None:
    signed = subscription(pem, DEV_SES_TOPIC_ARN)
    fields = {k: v for k, v in json.loads(signed.body).items() if k not in ("Signature", "SignatureVersion")}
    response = send(ses.sns_request({**fields, "Type": "UnsubscribeConfirmation"}, pem), FakeSns(pem))
    assert response["statusCode"] == 200
    assert json_body(response)["status"] == "ignored"
    assert aws.queued_bodies() == []


def test_a_notification_that_is_not_about_received_mail_is_acknowledged(aws: Account, trusted_pem: Path) -> None:
    notification = ses.receipt_notification(None, recipient=RECIPIENT)
    notification["receipt"]["action"] = {"type": "Lambda", "functionArn": "arn:aws:lambda:us-east-1:1:function:f"}
    response = send(ses.notification_request(notification, trusted_pem))
    assert response["statusCode"] == 200
    assert json_body(response)["status"] == "ignored"
    assert aws.queued_bodies() == []


def test_a_body_that_is_not_an_sns_message_is_400(aws: Account, trusted_pem: Path) -> None:
    response = send(SignedRequest("POST", ses.PATH, b'{"hello": "world"}', {"Content-Type": "text/plain"}))
    assert response["statusCode"] == 400


def test_an_sns_message_that_is_not_an_ses_notification_is_400(aws: Account, trusted_pem: Path) -> None:
    fields = json.loads(mail_notification(trusted_pem, b"x").body)
    fields = {k: v for k, v in fields.items() if k not in ("Signature", "SignatureVersion", "SigningCertURL")}
    response = send(ses.sns_request({**fields, "Message": "not json"}, trusted_pem))
    assert response["statusCode"] == 400


def test_mail_over_the_size_limit_is_acknowledged_dropped_and_counted(
    aws: Account, trusted_pem: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("THREADLINE_MAX_EMAIL_BYTES", "2000")
    clear_factories()
    raw = compose_email(text="x" * 5000)
    response = send(mail_notification(trusted_pem, raw))

    assert response["statusCode"] == 200
    assert json_body(response) == {"status": "dropped", "reason": "too_large"}
    assert aws.queued_bodies() == []
    assert "EmailDropped" in capsys.readouterr().out


def test_s3_action_mail_is_read_from_the_bucket_and_referenced_not_copied(
    aws: Account, trusted_pem: Path, bucket: Any
) -> None:
    raw = event_fixture("email", "attachment_pdf.eml")
    bucket.put_object(Bucket=BUCKET, Key="inbound/q8m3e7k2", Body=raw)
    response = send(mail_notification(trusted_pem, raw, s3_object=(BUCKET, "inbound/q8m3e7k2")))

    assert response["statusCode"] == 200
    [contact] = contacts_from_queue(aws.queued_bodies())
    pdf, original = contact.content.attachments
    assert original.storage_key == f"s3://{BUCKET}/inbound/q8m3e7k2"
    assert original.type is AttachmentType.OTHER
    assert pdf.storage_key is not None
    key = pdf.storage_key.removeprefix(f"s3://{BUCKET}/")
    assert bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read().startswith(b"%PDF-1.4")
    stored = {item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert stored == {"inbound/q8m3e7k2", key}


def test_s3_action_mail_over_the_limit_is_dropped_without_reading_it(
    aws: Account, trusted_pem: Path, bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADLINE_MAX_EMAIL_BYTES", "1000")
    clear_factories()
    bucket.put_object(Bucket=BUCKET, Key="inbound/big", Body=b"x" * 5000)
    response = send(mail_notification(trusted_pem, None, s3_object=(BUCKET, "inbound/big")))
    assert json_body(response)["status"] == "dropped"


def test_a_missing_s3_object_is_503_so_sns_retries(aws: Account, trusted_pem: Path, bucket: Any) -> None:
    response = send(mail_notification(trusted_pem, None, s3_object=(BUCKET, "inbound/not-there")))
    assert response["statusCode"] == 503


def test_with_a_bucket_attachments_and_the_raw_message_are_stored(aws: Account, trusted_pem: Path, bucket: Any) -> None:
    raw = event_fixture("email", "nested_multipart.eml")
    send(mail_notification(trusted_pem, raw))

    [contact] = contacts_from_queue(aws.queued_bodies())
    *parts, original = contact.content.attachments
    assert [part.name for part in parts] == [None, "photo1.jpg", "receipt.pdf"]
    assert all(part.storage_key and part.storage_key.startswith(f"s3://{BUCKET}/mail/ses/") for part in parts)
    assert original.name == "message.eml"
    key = (original.storage_key or "").removeprefix(f"s3://{BUCKET}/")
    assert bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read() == raw


def test_without_a_bucket_only_attachment_metadata_is_kept(aws: Account, trusted_pem: Path) -> None:
    send(mail_notification(trusted_pem, event_fixture("email", "attachment_pdf.eml")))
    [contact] = contacts_from_queue(aws.queued_bodies())
    [pdf] = contact.content.attachments
    assert pdf.storage_key is None
    assert pdf.size == 69


def test_a_virus_verdict_keeps_attachment_bytes_out_of_the_bucket(aws: Account, trusted_pem: Path, bucket: Any) -> None:
    notification = ses.receipt_notification(event_fixture("email", "attachment_pdf.eml"), recipient=RECIPIENT)
    notification["receipt"]["virusVerdict"] = {"status": "FAIL"}
    send(ses.notification_request(notification, trusted_pem))

    [contact] = contacts_from_queue(aws.queued_bodies())
    pdf, original = contact.content.attachments
    assert pdf.storage_key is None
    assert original.storage_key is not None


def test_a_retried_notification_queues_the_same_contact_id(aws: Account, trusted_pem: Path) -> None:
    raw = event_fixture("email", "plain_text_crlf.eml")
    notification = ses.receipt_notification(raw, recipient=RECIPIENT)
    send(ses.notification_request(notification, trusted_pem))
    send(ses.notification_request(notification, trusted_pem))
    ids = {contact.contact_id for contact in contacts_from_queue(aws.queued_bodies())}
    assert len(ids) == 1


def test_the_string_to_sign_leaves_out_an_absent_subject() -> None:
    message = SnsMessage.model_validate(
        {"Type": "Notification", "MessageId": "m", "TopicArn": "t", "Message": "hi", "Timestamp": "ts"}
    )
    assert string_to_sign(message) == b"Message\nhi\nMessageId\nm\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n"


def test_the_test_certificate_is_never_trusted_on_lambda(pem: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNS_TEST_CERT_PEM", str(pem))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "threadline-ses")
    clear_factories()
    assert config.get_settings().sns_test_cert_pem is None
    assert isinstance(get_sns_endpoint(), SnsHttp)


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signature_over_the_documented_confirmation_string_verifies(pem: Path, version: str) -> None:
    # Given the string AWS documents for a SubscriptionConfirmation, written out by hand
    # (so a mistake in string_to_sign cannot hide behind signing with string_to_sign itself)
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    fields = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37",
        "TopicArn": DEV_SES_TOPIC_ARN,
        "Message": "You have chosen to subscribe.",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336412f37",
        "Timestamp": "2025-03-04T09:00:00.000Z",
    }
    documented = "".join(
        f"{name}\n{fields[name]}\n"
        for name in ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    ).encode()
    key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS v1 is SHA1
    signature = base64.b64encode(key.sign(documented, padding.PKCS1v15(), algorithm)).decode()
    message = SnsMessage.model_validate({**fields, "SignatureVersion": version, "Signature": signature})

    # When it is verified, Then it holds
    verify_signature(message, pem.read_bytes())


def ses_event(event_type: str, contact_id: str, **detail: Any) -> dict[str, Any]:
    """An SES event as a configuration set's SNS destination publishes it (our tag names the reply)."""
    return {
        "eventType": event_type,
        "mail": {
            "timestamp": "2026-12-04T09:00:00.000Z",
            "source": "support@example.com",
            "messageId": "0100018c-ses-message-id",
            "destination": ["anna@example.com"],
            "tags": {"contact_id": [contact_id], "ses:configuration-set": ["threadline-replies"]},
        },
        **detail,
    }


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        (ses_event("Delivery", "01M900YKA4RE3X3EA3V34YQY0Y", delivery={}), "delivered", None),
        (
            ses_event(
                "Bounce", "01M900YKA4RE3X3EA3V34YQY0Y", bounce={"bounceType": "Permanent", "bounceSubType": "General"}
            ),
            "failed",
            "bounce:Permanent/General",
        ),
        (ses_event("Complaint", "01M900YKA4RE3X3EA3V34YQY0Y", complaint={}), "failed", "complaint"),
    ],
)
def test_ses_events_of_our_replies_are_queued_for_the_sender_not_stored_as_mail(
    aws: Account, trusted_pem: Path, event: dict[str, Any], status: str, code: str | None
) -> None:
    response = send(ses.notification_request(event, trusted_pem), FakeSns(trusted_pem))

    assert response["statusCode"] == 200
    assert aws.queued_bodies() == []
    (body,) = aws.outbound_bodies()
    report = json.loads(body)["work"]["report"]
    assert (report["status"], report["contact_id"], report.get("error", {}).get("code")) == (
        status,
        "01M900YKA4RE3X3EA3V34YQY0Y",
        code,
    )
