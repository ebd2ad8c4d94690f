"""Signed Twilio Voice webhooks, as Twilio sends them for one call.

`kind` picks the webhook: `incoming` (default; the call rings), `status` (the
call completed), `recording`, `transcription`, `withheld` (a ringing call
without caller id), or `outbound` (the status callback of a call we placed
through the REST API to `sender`, from `recipient`: our number). Send them with
one `message_id` to watch a call fill in.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode

from infra import topology
from infra.local.samples import SampleOptions, SignedRequest
from shared.channels.twilio import SIGNATURE_HEADER, compute_signature
from shared.channels.twilio_voice import EVENT_PARAMETER, PATH, VoiceEvent

ACCOUNT_SID = "AC" + "0" * 32


def _call(sid: str, caller: str, callee: str, status: str, direction: str = "inbound") -> list[tuple[str, str]]:
    return [
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", sid),
        ("CallStatus", status),
        ("Called", callee),
        ("CalledCountry", "US"),
        ("Caller", caller),
        ("CallerCountry", "US"),
        ("Direction", direction),
        ("From", caller),
        ("FromCountry", "US"),
        ("To", callee),
        ("ToCountry", "US"),
    ]


def _form(options: SampleOptions, sid: str) -> tuple[list[tuple[str, str]], str]:
    """The form and the query string of the webhook `options.kind` names."""
    caller = options.sender or "+14155550123"
    callee = options.recipient or "+14155559999"
    kind = options.kind or "incoming"
    recording_sid = "RE" + sid[2:]
    recording_url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}"
    if kind == "withheld":
        return [*_call(sid, "+266696687", callee, "ringing"), ("CallerName", "Anonymous")], ""
    if kind in ("status", "outbound"):
        now = format_datetime(datetime.now(UTC), usegmt=True)
        extra = [("CallDuration", "47"), ("CallbackSource", "call-progress-events"), ("SequenceNumber", "0")]
        if kind == "outbound":
            # A call we placed: Twilio reports it from our number to the customer, as `outbound-api`.
            return [*_call(sid, callee, caller, "completed", "outbound-api"), *extra, ("Timestamp", now)], ""
        return [*_call(sid, caller, callee, "completed"), *extra, ("Timestamp", now)], ""
    if kind == "recording":
        # A recording status callback names the call, not its parties.
        return [
            ("AccountSid", ACCOUNT_SID),
            ("CallSid", sid),
            ("RecordingChannels", "1"),
            ("RecordingDuration", "31"),
            ("RecordingSid", recording_sid),
            ("RecordingSource", "RecordVerb"),
            ("RecordingStartTime", format_datetime(datetime.now(UTC), usegmt=True)),
            ("RecordingStatus", "completed"),
            ("RecordingUrl", recording_url),
        ], urlencode({EVENT_PARAMETER: VoiceEvent.RECORDING.value})
    if kind == "transcription":
        return [
            *_call(sid, caller, callee, "completed"),
            ("RecordingSid", recording_sid),
            ("RecordingUrl", recording_url),
            ("TranscriptionSid", "TR" + sid[2:]),
            ("TranscriptionStatus", "completed"),
            ("TranscriptionText", options.text),
            (
                "TranscriptionUrl",
                f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Transcriptions/TR{sid[2:]}",
            ),
        ], urlencode({EVENT_PARAMETER: VoiceEvent.TRANSCRIPTION.value})
    return [*_call(sid, caller, callee, "ringing"), ("StirVerstat", "TN-Validation-Passed-A")], ""


def build(options: SampleOptions) -> SignedRequest:
    sid = options.message_id or "CA" + uuid.uuid4().hex
    form, query = _form(options, sid)
    url = options.public_url.rstrip("/") + PATH + (f"?{query}" if query else "")
    return SignedRequest(
        method="POST",
        path=PATH,
        body=urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            SIGNATURE_HEADER: compute_signature(topology.local_secret("TWILIO_AUTH_TOKEN"), url, form),
        },
        query=query,
    )
