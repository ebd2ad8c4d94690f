"""Replies through AWS: SES v2 SendEmail (raw MIME) and End User Messaging SendTextMessage.

Both clients are built with SDK retries off: a send the SDK repeats after a
timeout could reach the customer twice. The sender's queue retries instead,
and only what certainly did not go out (`RetryLater`); a call that went out
without an answer is `Unknown` (docs/decisions.md, "Replies: at most once").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from shared.model.contact import DeliveryError
from shared.model.delivery import Accepted, Refused, RetryLater, SendOutcome, Unknown

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

THROTTLED = frozenset({"TooManyRequestsException", "ThrottlingException", "LimitExceededException", "Throttling"})
RETRY_S = 30
OPTED_OUT_REASON = "DESTINATION_PHONE_NUMBER_OPTED_OUT"  # End User Messaging's ConflictException reason


def sent_by(call: Callable[[], Mapping[str, Any]], id_field: str) -> SendOutcome:
    """One AWS send call, its answer or error read as a send outcome."""
    try:
        answer = call()
    except EndpointConnectionError:
        return RetryLater("the AWS endpoint cannot be reached", RETRY_S)
    except (ReadTimeoutError, ConnectionClosedError):
        return Unknown("AWS did not answer")
    except ClientError as error:
        details = error.response.get("Error", {})
        code = str(details.get("Code", "ClientError"))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
        if code in THROTTLED or status >= 500:
            return RetryLater(f"{code} from AWS", RETRY_S)
        reason = str(error.response.get("Reason", ""))
        message = str(details.get("Message", code))[:512]
        return Refused(DeliveryError(code=code[:64], message=message), opted_out=reason == OPTED_OUT_REASON)
    message_id = answer.get(id_field)
    return Accepted(str(message_id)) if message_id else Unknown("AWS answered without a message id")


class SesMailer:
    def __init__(self, client: SESV2Client, *, configuration_set: str | None, identity_arn: str | None) -> None:
        self._client = client
        self._configuration_set = configuration_set
        self._identity_arn = identity_arn

    def send_raw(self, raw: bytes, sender: str, recipient: str, tags: Mapping[str, str]) -> SendOutcome:
        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": raw}},
            "EmailTags": [{"Name": name, "Value": value} for name, value in tags.items()],
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        if self._identity_arn:
            request["FromEmailAddressIdentityArn"] = self._identity_arn
        return sent_by(lambda: self._client.send_email(**request), "MessageId")


class EumTextSender:
    def __init__(self, client: Any, *, configuration_set: str | None) -> None:
        self._client = client  # pinpoint-sms-voice-v2 (no type stubs in the dev set)
        self._configuration_set = configuration_set

    def send_text(self, to: str, origination: str, body: str, context: Mapping[str, str]) -> SendOutcome:
        request: dict[str, Any] = {
            "DestinationPhoneNumber": to,
            "OriginationIdentity": origination,
            "MessageBody": body,
            "MessageType": "TRANSACTIONAL",
            "Context": dict(context),
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        return sent_by(lambda: self._client.send_text_message(**request), "MessageId")
