"""Which channel a reply goes out on, to whom, and whether the channel's rules allow it now: pure.

Every refusal is a `ReplyRefused` with a stable code the API answers with 422,
decided before anything is stored or sent (docs/api.md, "Replies").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.model.contact import (
    Channel,
    Contact,
    Identifier,
    IdentifierKind,
    Provider,
    SendPolicy,
    Template,
    Visibility,
)

# Meta's messaging windows (Messenger Platform policy; WhatsApp's customer service window).
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)

# Channels a person reads text on, and the provider a reply on each goes through when the
# customer's message came from `provider`. Email always leaves through SES, whichever
# service received the customer's mail.
_SENDS_THROUGH: dict[Channel, dict[Provider, Provider]] = {
    Channel.SMS: {Provider.TWILIO: Provider.TWILIO, Provider.EUM: Provider.EUM},
    Channel.MMS: {Provider.TWILIO: Provider.TWILIO},
    Channel.WHATSAPP: {Provider.META: Provider.META, Provider.TWILIO: Provider.TWILIO},
    Channel.MESSENGER: {Provider.META: Provider.META},
    Channel.INSTAGRAM: {Provider.META: Provider.META},
    Channel.X: {Provider.X: Provider.X},
    Channel.EMAIL: {Provider.SES: Provider.SES, Provider.SENDGRID: Provider.SES, Provider.MAILGUN: Provider.SES},
}
NOT_TEXTUAL = frozenset({Channel.VOICE, Channel.CHAT, Channel.TASK})

# The longest text each channel takes in one message (provider documentation).
MAX_TEXT: dict[Channel, int] = {
    Channel.SMS: 1600,  # Twilio's Body limit; End User Messaging splits into segments the same way
    Channel.MMS: 1600,
    Channel.WHATSAPP: 4096,
    Channel.MESSENGER: 2000,
    Channel.INSTAGRAM: 1000,
    Channel.X: 10000,  # a DM; a public reply is a post (`MAX_POST`)
    Channel.EMAIL: 32_768,
}
MAX_POST = 280
# Media go out as Twilio's MediaUrl (MMS, WhatsApp through Twilio); no other courier sends them yet.
ATTACHMENT_PROVIDERS = frozenset({Provider.TWILIO})
CUSTOMER_KINDS: dict[Channel, IdentifierKind] = {
    Channel.SMS: IdentifierKind.PHONE,
    Channel.MMS: IdentifierKind.PHONE,
    Channel.WHATSAPP: IdentifierKind.WHATSAPP,
    Channel.MESSENGER: IdentifierKind.MESSENGER,
    Channel.INSTAGRAM: IdentifierKind.INSTAGRAM,
    Channel.X: IdentifierKind.X,
    Channel.EMAIL: IdentifierKind.EMAIL,
}


class ReplyRefused(ValueError):
    """The channel's rules forbid this reply now: 422 with `code`. The message never names a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Route:
    """Where a reply goes: the channel and provider, the customer's identifier, and the rule that allows it."""

    channel: Channel
    provider: Provider
    recipient: Identifier
    answered: Contact  # the customer's message the reply answers (threading, our sending address)
    policy: SendPolicy
    template: Template | None
    visibility: Visibility


def refuse_untextual(channel: Channel) -> None:
    if channel in NOT_TEXTUAL:
        raise ReplyRefused("channel_not_textual", f"{channel.value} has no text replies; call the customer back")
    if channel not in _SENDS_THROUGH:
        raise ReplyRefused("channel_not_supported", f"replies on {channel.value} are not supported")


def provider_for(answered: Contact) -> Provider:
    refuse_untextual(answered.channel)
    provider = _SENDS_THROUGH[answered.channel].get(answered.provider)
    if provider is None:
        raise ReplyRefused("channel_not_supported", f"no replies on {answered.channel.value} via {answered.provider}")
    return provider


def recipient_of(answered: Contact) -> Identifier:
    """The identifier the customer wrote from on that channel (a WhatsApp sender also carries a phone)."""
    kind = CUSTOMER_KINDS[answered.channel]
    found = next((i for i in answered.sender.identifiers if i.kind is kind), None)
    if found is None:
        raise ReplyRefused("no_recipient", f"the customer's {answered.channel.value} message names no address")
    return found


def policy_for(
    channel: Channel, provider: Provider, last_inbound_at: datetime, now: datetime, template: Template | None
) -> SendPolicy:
    """Meta's windows: Messenger and Instagram answer within 24 h, or as a human agent within 7 days;
    WhatsApp sends free text inside its 24-hour customer service window and a template outside it."""
    age = now - last_inbound_at
    if channel is Channel.WHATSAPP:
        if template is not None:
            if provider is not Provider.META:
                raise ReplyRefused("template_not_supported", "templates are sent through the WhatsApp Cloud API")
            return SendPolicy.TEMPLATE
        if age <= STANDARD_WINDOW:
            return SendPolicy.RESPONSE
        raise ReplyRefused(
            "template_required", "the 24-hour customer service window is closed: send an approved template"
        )
    if template is not None:
        raise ReplyRefused("template_not_supported", "templates are a WhatsApp feature")
    if channel in (Channel.MESSENGER, Channel.INSTAGRAM):
        if age <= STANDARD_WINDOW:
            return SendPolicy.RESPONSE
        if age <= HUMAN_AGENT_WINDOW:
            return SendPolicy.HUMAN_AGENT
        raise ReplyRefused("outside_messaging_window", "the customer's last message is more than 7 days old")
    return SendPolicy.STANDARD


def check_content(
    channel: Channel, provider: Provider, visibility: Visibility, *, text: str | None, attachments: int, template: bool
) -> None:
    if not text and not template and not attachments:
        raise ReplyRefused("empty_reply", "a reply needs text, a template or an attachment")
    if attachments and provider not in ATTACHMENT_PROVIDERS:
        raise ReplyRefused("attachments_not_supported", f"attachments are not sent on {channel.value} via {provider}")
    limit = MAX_POST if channel is Channel.X and visibility is Visibility.PUBLIC else MAX_TEXT[channel]
    if text and len(text) > limit:
        raise ReplyRefused("text_too_long", f"{channel.value} takes at most {limit} characters")


def route(
    answered: Contact,
    *,
    now: datetime,
    text: str | None,
    attachments: int,
    template: Template | None,
    recipient: Identifier | None,
    opted_out: bool,
) -> Route:
    """The whole decision for one reply to `answered`, the customer's latest message on the channel."""
    provider = provider_for(answered)
    channel = answered.channel
    if channel is Channel.SMS and attachments:
        channel = Channel.MMS
    visibility = answered.content.visibility if channel is Channel.X else Visibility.PRIVATE
    check_content(channel, provider, visibility, text=text, attachments=attachments, template=template is not None)
    policy = policy_for(answered.channel, provider, answered.occurred_at, now, template)
    if opted_out:
        raise ReplyRefused("recipient_opted_out", "the customer opted out of messages to this number (STOP)")
    return Route(
        channel=channel,
        provider=provider,
        recipient=recipient or recipient_of(answered),
        answered=answered,
        policy=policy,
        template=template,
        visibility=visibility,
    )


def phone_of(recipient: Identifier) -> str | None:
    """The number whose opt-out applies (SMS and MMS; WhatsApp has its own consent)."""
    return recipient.value if recipient.kind is IdentifierKind.PHONE else None
