"""The labeled journey suite (journeys/*.toml): every file loads and validates, and the replay's inputs are sound."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from pydantic import ValidationError

from infra.local.samples import SignedRequest, samples
from shared.channels import connect, mailgun, meta, twilio, twilio_voice, x
from shared.channels.email.limits import EmailLimits
from shared.model import minted
from shared.model.contact import Direction
from tests.builders import sample_request
from tools.journeys.identities import Identities, mistyped_reference
from tools.journeys.replay import JourneyRun, provider_time
from tools.journeys.requests import (
    ApiCall,
    Built,
    ContactKey,
    Injection,
    StepContext,
    api_step,
    app_step,
    call_step,
    connect_step,
    email_step,
    message_step,
    render,
)
from tools.journeys.runner import expected_of
from tools.journeys.steps import ApiStep, AppStep, CallStep, ConnectStep, EmailStep, MessageStep, parse_duration
from tools.journeys.suite import Journey, SuiteError, journey_files, load_suite

REFERENCE = minted.case_reference("case_01J00000000000000000000000")
PUBLIC_URL = "https://hooks.example.com"
WHEN = datetime(2026, 11, 3, 14, 1, 58, tzinfo=UTC)


@pytest.fixture(scope="module")
def suite() -> list[Journey]:
    return load_suite()


def test_every_journey_file_loads_and_validates(suite: list[Journey]) -> None:
    assert len(journey_files()) >= 5
    assert len(suite) >= 60


def test_the_suite_covers_every_channel_that_has_a_builder(suite: list[Journey]) -> None:
    used = {step.channel for journey in suite for step in journey.steps}

    assert {"sms", "sms-eum", "whatsapp", "messenger", "instagram", "x-dm", "x-mention", "call"} <= used
    assert {"connect-voice", "connect-chat", "email", "app", "api", "repeat"} <= used


def test_the_suite_holds_the_journeys_issue_6_names(suite: list[Journey]) -> None:
    tags = Counter(tag for journey in suite for tag in journey.tags)
    ids_ = {journey.id for journey in suite}

    assert {"classic", "attacker", "shared-identifier", "automation", "duplicate", "window", "undo"} <= set(tags)
    assert {"family-shares-one-phone", "recycled-phone-number", "email-reply-from-second-address"} <= ids_
    assert {"crm-record-arrives-late-and-merges", "crm-merge-undone", "x-dm-then-public-mention"} <= ids_
    assert sum(1 for journey in suite if journey.expect.must_not_link) >= 10


def test_the_suite_holds_a_group_per_class_of_issue_13(suite: list[Journey]) -> None:
    groups = Counter(journey.group for journey in suite)
    steps = [step for journey in suite for step in journey.steps]
    classes = ("merges-active", "merges-keys", "outbound", "cc-threads", "shared-numbers", "late-arrivals", "argentina")

    assert all(groups[group] >= 3 for group in classes), groups
    assert all(any(step.late for step in journey.steps) for journey in suite if journey.group == "late-arrivals")
    assert any(isinstance(step, CallStep) and step.direction == "outbound" for step in steps)
    assert any(getattr(step, "sender", "").startswith("phone:ar-") for step in steps)


def test_journeys_use_placeholders_not_literal_identifiers(suite: list[Journey]) -> None:
    """Unique values come from the replay; a literal phone number would collide between journeys."""
    for journey in suite:
        for step in journey.steps:
            for text in step.texts():
                assert "+1" not in text and "TL-" not in text.upper(), journey.id


def journey(steps: list[dict[str, Any]], **expect: Any) -> dict[str, Any]:
    return {
        "id": "probe",
        "title": "a probe",
        "tags": ["t"],
        "why": "to see what fails",
        "step": steps,
        "expect": expect,
    }


def sms(label: str, at: str = "0m", **fields: Any) -> dict[str, Any]:
    return {"channel": "sms", "label": label, "from": "phone:ann", "at": at, "text": "hi", **fields}


def messenger(label: str, at: str = "0m", **fields: Any) -> dict[str, Any]:
    return {"channel": "messenger", "label": label, "from": "messenger:ann", "at": at, "text": "hi", **fields}


def problems_of(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as raised:
        Journey.model_validate(data)
    return str(raised.value)


def test_a_valid_probe_journey_validates() -> None:
    Journey.model_validate(journey([sms("s1"), sms("s2", "5m")], customers=[["s1", "s2"]], cases=[["s1", "s2"]]))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (journey([sms("s1")], customers=[["s1", "x9"]], cases=[["s1"]]), "'x9' is not a label"),
        (journey([sms("s1"), sms("s2")], customers=[["s1"]], cases=[["s1", "s2"]]), "'s2' is placed nowhere"),
        (journey([sms("s1")], customers=[["s1"], ["s1"]], cases=[["s1"]]), "'s1' is placed twice"),
        (
            journey(
                [sms("s1"), sms("s2")], customers=[["s1", "s2"]], cases=[["s1", "s2"]], must_not_link=[["s1", "s2"]]
            ),
            "expected to be one customer",
        ),
        (journey([sms("s1"), sms("s1", "1m")], customers=[["s1"]], cases=[["s1"]]), "defined twice"),
        (journey([sms("s1", "5m"), sms("s2", "1m")], customers=[["s1", "s2"]], cases=[["s1", "s2"]]), "earlier than"),
        (
            journey([sms("s1"), messenger("m1", "2h")], customers=[["s1"], ["m1"]], cases=[["s1"], ["m1"]]),
            "must lie within 1:00:00",
        ),
        (
            journey([messenger("m1"), sms("s1", "1m", text="{ref:m1}", concurrent=True)], customers=[["m1"], ["s1"]]),
            "needs 'm1' processed in an earlier round",
        ),
        (journey([sms("s1", text="{ref:m9}")], customers=[["s1"]], cases=[["s1"]]), "needs 'm9'"),
        (journey([sms("s1", text="{order:1}")], customers=[["s1"]], cases=[["s1"]]), "unknown placeholder"),
        (journey([{"channel": "repeat", "of": "s1", "at": "0m"}]), "of names 's1', which no earlier step defines"),
        (journey([sms("s1", concurrent=True)], customers=[["s1"]], cases=[["s1"]]), "first step cannot be concurrent"),
        (journey([sms("s1", **{"from": "email:ann"})], customers=[["s1"]], cases=[["s1"]]), "sent from a phone"),
        (journey([sms("s1", colour="red")], customers=[["s1"]], cases=[["s1"]]), "Extra inputs are not permitted"),
        (journey([sms("s1", at="soon")], customers=[["s1"]], cases=[["s1"]]), "not a duration"),
        (journey([{"channel": "api", "action": "merge", "customer_of": "s1", "at": "0m"}]), "needs other_customer_of"),
    ],
)
def test_a_journey_that_would_mean_something_else_is_refused(data: dict[str, Any], problem: str) -> None:
    assert problem in problems_of(data)


def test_an_email_more_than_two_days_before_the_end_is_refused() -> None:
    email = {"channel": "email", "label": "e1", "from": "email:ann", "at": "0m", "subject": "s", "text": "t"}

    problem = problems_of(journey([email, messenger("m1", "3d")], customers=[["e1"], ["m1"]], cases=[["e1"], ["m1"]]))

    assert "must lie within 2 days" in problem


def whatsapp(label: str, at: str = "0m", **fields: Any) -> dict[str, Any]:
    return {"channel": "whatsapp", "label": label, "from": "phone:ann", "at": at, "text": "hi", **fields}


def late_whatsapp_journey() -> Journey:
    """w3 was written a day in, but WhatsApp retried it until two days and an hour in: after w2."""
    return Journey.model_validate(
        journey(
            [whatsapp("w1"), whatsapp("w2", "2d"), whatsapp("w3", "1d", arrives="2d 1h"), sms("s1", "2d 1h")],
            customers=[["w1", "w2", "w3", "s1"]],
            cases=[["w1", "w2", "w3", "s1"]],
        )
    )


def test_a_late_step_is_listed_where_it_arrives_and_its_arrival_ends_the_journey() -> None:
    late = late_whatsapp_journey()

    assert [step.late for step in late.steps] == [False, False, True, False]
    assert late.span == timedelta(days=2, hours=1)


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ([whatsapp("w1", "1h", arrives="30m")], "arrives (30m) is before at (1h)"),
        ([sms("s1", arrives="5m")], "step 1 (sms): arrives is for channels that carry a provider time"),
        ([{**sms("s1", arrives="5m"), "channel": "sms-eum"}], "(sms-eum): arrives is for channels"),
        ([{"channel": "call", "label": "k1", "from": "phone:ann", "at": "0m", "arrives": "5m"}], "(call): arrives"),
        ([{"channel": "api", "action": "close", "case_of": "w1", "at": "0m", "arrives": "1m"}], "(api): arrives"),
        ([whatsapp("w1"), {"channel": "repeat", "of": "w1", "at": "1m", "arrives": "2m"}], "(repeat): a repeat"),
        ([whatsapp("w1", "1d", arrives="2d"), whatsapp("w2", "1d 1h")], "step 2 arrives earlier than the step before"),
    ],
)
def test_a_late_arrival_that_cannot_happen_is_refused(steps: list[dict[str, Any]], problem: str) -> None:
    labels = [step["label"] for step in steps if "label" in step]

    assert problem in problems_of(journey(steps, customers=[labels], cases=[labels]))


def test_a_late_email_is_still_held_to_the_date_horizon() -> None:
    """The Date header is trusted for a few days after the email reaches Threadline, however late that is."""
    email = {"channel": "email", "label": "e1", "from": "email:ann", "at": "1d", "arrives": "3d 1h"}
    email |= {"subject": "s", "text": "t"}

    problem = problems_of(journey([messenger("m1"), email], customers=[["m1", "e1"]], cases=[["m1", "e1"]]))

    assert "step 2 (email) must lie within 2 days" in problem


def test_a_late_steps_story_begins_at_its_own_time_for_the_repeat_rate() -> None:
    """The repeat rate asks whether follow-ups landed on the case their story's first contact opened."""
    (case,) = expected_of(late_whatsapp_journey()).cases

    assert list(case) == ["w1", "w3", "w2", "s1"]


def test_the_replay_sends_a_late_steps_provider_time_as_declared() -> None:
    late = late_whatsapp_journey()
    now = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
    run = JourneyRun(late, Identities(1, 1), start=now - late.span)
    sent_at = [now - timedelta(hours=1, seconds=10), now - timedelta(seconds=5), now - timedelta(seconds=3), now]

    times = [provider_time(run, step, moment) for step, moment in zip(late.steps, sent_at, strict=True)]

    assert times[0] == run.start
    assert times[1] == run.start + timedelta(days=2)
    assert times[2] == run.start + timedelta(days=1)  # before w2, as the retry carries it
    assert times[3] == now  # an SMS happens when it is sent
    assert run.latest == now


def test_the_replay_keeps_on_time_steps_after_a_live_one_sent_late_by_the_replay_itself() -> None:
    """A live step is sent after its declared time; the next step may not appear to precede it."""
    steps = [sms("s1", "0m"), whatsapp("w1", "1m")]
    probe = Journey.model_validate(journey(steps, customers=[["s1", "w1"]], cases=[["s1", "w1"]]))
    now = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
    run = JourneyRun(probe, Identities(1, 1), start=now - probe.span - timedelta(seconds=90))

    sms_time = provider_time(run, probe.steps[0], now)
    whatsapp_time = provider_time(run, probe.steps[1], now + timedelta(seconds=1))

    assert whatsapp_time == sms_time + timedelta(seconds=1)


def test_a_broken_file_is_named_in_the_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[[journey]]\nid = "x"\n', encoding="utf-8")

    with pytest.raises(SuiteError, match=r"broken\.toml"):
        load_suite([broken])


def test_each_journey_belongs_to_the_group_of_its_file(suite: list[Journey]) -> None:
    assert {journey.group for journey in suite} == {path.stem for path in journey_files()}


def test_a_journey_cannot_write_its_own_group(tmp_path: Path) -> None:
    probe = tmp_path / "probe.toml"
    probe.write_text(
        '[[journey]]\nid = "probe"\ntitle = "a probe"\ntags = ["t"]\nwhy = "to see what fails"\ngroup = "other"\n'
        '[[journey.step]]\nlabel = "s1"\nchannel = "sms"\nfrom = "phone:ann"\nat = "0m"\ntext = "hi"\n'
        '[journey.expect]\ncustomers = [["s1"]]\ncases = [["s1"]]\n',
        encoding="utf-8",
    )

    with pytest.raises(SuiteError, match="group is the name of the journey's file"):
        load_suite([probe])


def test_concurrent_steps_share_the_round_of_the_step_before() -> None:
    probe = Journey.model_validate(
        journey(
            [sms("s1"), sms("s2", concurrent=True), sms("s3", "1m")],
            customers=[["s1", "s2", "s3"]],
            cases=[["s1", "s2", "s3"]],
        )
    )

    assert probe.rounds() == (0, 0, 1)


@pytest.mark.parametrize(
    ("text", "expected"), [("0m", timedelta(0)), ("90s", timedelta(seconds=90)), ("1d 4h", timedelta(hours=28))]
)
def test_durations_read_as_written(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_identities_are_unique_per_journey_and_per_run_and_valid() -> None:
    journeys = [Identities(run, journey) for run in (0, 1) for journey in (0, 1, 199)]
    values = {
        identities.value(f"{kind}:{token}")
        for identities in journeys
        for kind in ("phone", "email", "messenger", "x")
        for token in ("ann", "ben")
    }

    assert len(values) == 2 * 3 * 4 * 2
    phones = [value for value in values if value.startswith("+")]
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(phone)) for phone in phones)


def test_a_token_keeps_its_value_within_a_journey() -> None:
    identities = Identities(7, 3)

    assert identities.phone("ann") == identities.phone("ann") != identities.phone("ben")


def test_argentine_tokens_are_unique_valid_buenos_aires_mobiles() -> None:
    journeys = [Identities(run, journey) for run in (0, 1, 3999) for journey in (0, 1, 199)]
    numbers = {identities.phone(token) for identities in journeys for token in ("ar-ana", "ar-leo")}

    assert len(numbers) == 3 * 3 * 2
    for number in numbers:
        assert number.startswith("+5411") and len(number) == 13  # what callers and SMS show: no 9
        mobile = phonenumbers.parse("+549" + number.removeprefix("+54"))
        assert phonenumbers.is_valid_number(mobile)
        assert phonenumbers.number_type(mobile) == phonenumbers.PhoneNumberType.MOBILE
        assert phonenumbers.is_valid_number(phonenumbers.parse(number))


def test_an_argentine_token_is_one_phone_written_three_ways() -> None:
    identities = Identities(5, 9)
    caller = identities.value("phone:ar-ana")

    assert identities.mobile_e164("phone:ar-ana") == "+549" + caller.removeprefix("+54")
    assert identities.as_typed("phone:ar-ana").startswith("+54 9 11 ")
    assert identities.mobile_e164("phone:ann") == identities.value("phone:ann")


def test_a_whatsapp_step_from_an_argentine_mobile_sends_the_wa_id_with_the_9() -> None:
    step = MessageStep.model_validate(whatsapp("w1", **{"from": "phone:ar-ana"}))

    built = message_step(step, context())

    (contact,) = meta.parse(sample_request(signed(built))).contacts
    wa_id = Identities(5, 9).mobile_e164("phone:ar-ana").removeprefix("+")
    assert contact.sender.identifiers[0].value == wa_id
    assert wa_id.startswith("54911")
    phone = next(i for i in contact.sender.identifiers if i.kind.value == "phone")
    assert phone.value == Identities(5, 9).value("phone:ar-ana")  # one key with the caller id


def test_the_app_and_the_crm_write_an_argentine_mobile_as_libphonenumber_does() -> None:
    app = AppStep.model_validate(
        {"channel": "app", "label": "a1", "account": "app:eva", "verified": ["phone:ar-eva"], "at": "0m", "text": "hi"}
    )
    attach = ApiStep.model_validate(
        {"channel": "api", "action": "attach", "customer_of": "s1", "identifier": "phone:ar-eva", "at": "0m"}
    )

    (event,) = app_step(app, context()).calls
    (call,) = api_step(attach, context()).calls

    mobile = Identities(5, 9).mobile_e164("phone:ar-eva")
    assert isinstance(event, SignedRequest) and isinstance(call, ApiCall)
    assert json.loads(event.body)["customer"]["verified"]["phone"] == mobile
    assert call.body["value"] == mobile
    assert mobile.startswith("+54911")


def test_a_mistyped_reference_fails_the_check_symbol() -> None:
    assert minted.parse_case_reference(REFERENCE) == REFERENCE
    assert minted.parse_case_reference(mistyped_reference(REFERENCE)) is None


class FakeLookups:
    def __init__(self, built: dict[str, Built] | None = None) -> None:
        self._built = built or {}

    def reference(self, label: str) -> str:
        return REFERENCE

    def customer(self, label: str) -> str:
        return f"cus_{label}"

    def case(self, label: str) -> str:
        return f"case_{label}"

    def merge_id(self, name: str) -> str:
        return f"merge_{name}"

    def built(self, label: str) -> Built:
        return self._built[label]


def signed(built: Built) -> SignedRequest:
    (call,) = built.calls
    assert isinstance(call, SignedRequest)
    return call


def context(built: dict[str, Built] | None = None, at: datetime = WHEN) -> StepContext:
    return StepContext(PUBLIC_URL, Identities(5, 9), FakeLookups(built), at)


def test_placeholders_become_a_reference_and_typed_identifiers() -> None:
    text = render("case {ref:m1}, call {phone:ann}, mail {email:ann}", context())

    assert REFERENCE in text
    assert "(628) " in text
    assert "ann@r0005-j009.journeymail.net" in text


def test_a_messenger_step_is_signed_and_carries_the_journeys_time() -> None:
    step = MessageStep.model_validate(messenger("m1", text="about {ref:m0}"))

    built = message_step(step, context())

    request = sample_request(signed(built))
    meta.verify(request, "dev-meta-app-secret")
    (contact,) = meta.parse(request).contacts
    assert contact.occurred_at == WHEN
    assert built.key == ContactKey("meta", contact.provider_message_id)
    assert contact.content.text == f"about {REFERENCE}"


def test_an_x_reply_names_the_post_it_answers() -> None:
    first = Built((), ContactKey("x", "1790000000000000001"))
    step = MessageStep.model_validate(
        {
            "channel": "x-mention",
            "label": "p2",
            "from": "x:liv",
            "at": "9d",
            "replies_to": "p1",
            "text": "still nothing",
        }
    )

    built = message_step(step, context({"p1": first}))

    request = sample_request(signed(built))
    x.verify(request, "dev-x-consumer-secret")
    (contact,) = x.parse(request).contacts
    assert contact.thread.in_reply_to == "1790000000000000001"
    assert contact.occurred_at == WHEN


def test_an_email_reply_is_threaded_automated_and_signed_as_mailgun_signs() -> None:
    first = Built((), ContactKey("mailgun", "first@r0005-j009.journeymail.net"))
    step = EmailStep.model_validate(
        {
            "channel": "email",
            "label": "a1",
            "from": "email:cal",
            "at": "2h",
            "replies_to": "e1",
            "automated": "auto-replied",
            "subject": "Automatic reply: {ref:e1}",
            "text": "Out of office",
        }
    )
    now = datetime.now(UTC).replace(microsecond=0)

    built = email_step(step, context({"e1": first}, at=now))

    request = sample_request(signed(built))
    mailgun.verify(request, "dev-mailgun-signing-key")
    parsed, _ = mailgun.parse(request, EmailLimits())
    assert "first@r0005-j009.journeymail.net" in parsed.headers.references
    assert parsed.automated is not None
    assert parsed.case_references == (REFERENCE,)
    assert (parsed.headers.date, built.key) == (now, ContactKey("mailgun", parsed.headers.message_id or ""))


def test_an_outbound_call_step_is_our_call_to_the_customers_phone() -> None:
    step = CallStep.model_validate(
        {"channel": "call", "label": "k1", "from": "phone:ann", "at": "0m", "direction": "outbound"}
    )

    built = call_step(step, context())

    (call,) = built.calls
    assert isinstance(call, SignedRequest)
    request = sample_request(call)
    twilio.verify(request, "dev-twilio-auth-token")
    (contact,) = twilio_voice.parse(request, twilio_voice.classify(request), default_region="US")
    assert contact.direction is Direction.OUTBOUND
    assert [i.value for i in contact.customer_party.identifiers] == [Identities(5, 9).value("phone:ann")]
    assert built.key == ContactKey("twilio", contact.provider_message_id)


@pytest.mark.parametrize(
    "fields", [{"from": "withheld"}, {"callbacks": ["incoming", "status"]}, {"callbacks": ["status", "recording"]}]
)
def test_an_outbound_call_goes_to_a_phone_and_reports_its_status(fields: dict[str, Any]) -> None:
    data = {"channel": "call", "label": "k1", "from": "phone:ann", "at": "0m", "direction": "outbound", **fields}

    with pytest.raises(ValidationError, match="an outbound call goes to a phone"):
        CallStep.model_validate(data)


def test_a_connect_copy_keeps_the_contact_and_adds_attributes() -> None:
    first = connect_step(
        ConnectStep.model_validate(
            {"channel": "connect-voice", "label": "c1", "from": "phone:ann", "at": "0m", "attributes": {"a": "1"}}
        ),
        context(),
    )
    copy = connect_step(
        ConnectStep.model_validate(
            {"channel": "connect-voice", "from": "phone:ann", "at": "10m", "revises": "c1", "attributes": {"b": "2"}}
        ),
        context({"c1": first}, at=WHEN + timedelta(minutes=10)),
    )

    def parsed(built: Built) -> Any:
        (call,) = built.calls
        assert isinstance(call, Injection)
        record = call.payload
        return connect.parse(
            json.dumps(record).encode(), received_at=WHEN, default_region="US", case_attribute="caseReference"
        )

    assert parsed(copy).contact_id == parsed(first).contact_id
    assert copy.record is not None
    assert copy.record["Attributes"] == {"a": "1", "b": "2"}
    assert copy.key is None


def test_every_sample_builder_the_suite_uses_is_registered() -> None:
    """When a builder is renamed, the journeys that need it would silently skip: fail here instead."""
    from tools.journeys.replay import required_sample

    wanted = {name for journey in load_suite() for step in journey.steps if (name := required_sample(step))}

    assert wanted <= set(samples())
