"""X posts and direct messages as contacts, whichever X API delivered them.

The Account Activity webhook (v1.1 payloads, `shared.channels.x`) and the v2
API the poller reads (`shared.channels.x_v2`) describe the same post or DM in
different shapes. Each parser reads its shape into the facts below and the
contact is built here, once: both paths mint the same contact id, provider
message id, parties and thread for the same item, so switching modes or
running both stores nothing twice and a reply chain threads the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shared.channels.payloads import epoch_time
from shared.model import identifiers, minted
from shared.model.contact import (
    Attachment,
    AttachmentType,
    Channel,
    Contact,
    Content,
    Direction,
    Party,
    Provider,
    Thread,
    Visibility,
)

SNOWFLAKE_EPOCH_MS = 1288834974657  # X ids count milliseconds from here (bits 22 and up)
_SNOWFLAKE_AGREEMENT_MS = 1000  # v2 states post times to the second, v1.1 to the millisecond
_VIDEO_TYPES = frozenset({"video", "animated_gif"})


@dataclass(frozen=True)
class XProfile:
    """What a person is called today: display attributes, never the identifier (the user id is)."""

    name: str | None = None
    handle: str | None = None


@dataclass(frozen=True)
class XMedia:
    media_id: str | None
    kind: AttachmentType  # IMAGE, or VIDEO for a video or GIF with a playable variant
    url: str | None  # the image, or the best MP4 variant of a video
    content_type: str | None = None
    link: str | None = None  # the t.co link X appends to the text


@dataclass(frozen=True)
class XMention:
    user_id: str
    profile: XProfile = XProfile()


@dataclass(frozen=True)
class XPost:
    post_id: str
    author_id: str
    author: XProfile
    text: str | None
    stated_ms: int | None  # the time the payload states, in milliseconds; None: it states none
    in_reply_to_post_id: str | None = None
    in_reply_to_user_id: str | None = None
    in_reply_to_handle: str | None = None
    mentions: tuple[XMention, ...] = ()
    media: tuple[XMedia, ...] = ()
    conversation_id: str | None = None


@dataclass(frozen=True)
class XDirectMessage:
    event_id: str
    sender_id: str
    recipient_id: str
    text: str | None
    stated_ms: int | None
    media: XMedia | None = None
    profiles: Mapping[str, XProfile] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoVariant:
    url: str
    content_type: str | None
    bitrate: int


def media_item(
    media_id: str | None, kind: str, still_url: str | None, variants: list[VideoVariant], link: str | None
) -> XMedia:
    """A photo as its image; a video or GIF as its best-bitrate variant (the playlist has no bitrate and loses)."""
    if kind in _VIDEO_TYPES and variants:
        best = max(variants, key=lambda variant: variant.bitrate)
        return XMedia(media_id, AttachmentType.VIDEO, best.url, best.content_type, link)
    return XMedia(media_id, AttachmentType.IMAGE, still_url, None, link)


def item_time(item_id: str, stated_ms: int | None, *, received_at: datetime) -> datetime:
    """When an X item was created, to the millisecond, whichever API delivered it.

    v1.1 states milliseconds (`timestamp_ms`, `created_timestamp`), v2 states post
    times to the second (`2024-06-10T11:16:40.000Z`). A snowflake id carries the
    millisecond the item was created: where it agrees with the stated time, it is
    the time, so both paths mint the same ULID. Ids that are not snowflakes (test
    data) keep the stated time; an item that states no time is refused.
    """
    if stated_ms is None:
        return epoch_time(-1, "ms", received_at=received_at)  # refused: out of range
    created_ms = snowflake_ms(item_id)
    agrees = created_ms is not None and abs(created_ms - stated_ms) < _SNOWFLAKE_AGREEMENT_MS
    return epoch_time(created_ms if agrees and created_ms is not None else stated_ms, "ms", received_at=received_at)


def snowflake_ms(item_id: str) -> int | None:
    return (int(item_id) >> 22) + SNOWFLAKE_EPOCH_MS if item_id.isdigit() and len(item_id) <= 19 else None


def post_contact(post: XPost, account_id: str, *, received_at: datetime) -> Contact | None:
    """A mention, a reply or a quote is inbound; our own post is outbound to whom it answers, else None."""
    author = party(post.author_id, post.author)
    if post.author_id == account_id:
        customer = _addressee(post, account_id)
        if customer is None:
            return None  # an announcement to everyone is not a contact with a customer
        sender, recipient, direction = author, customer, Direction.OUTBOUND
    else:
        sender, recipient, direction = author, party(account_id, XProfile()), Direction.INBOUND
    occurred_at = item_time(post.post_id, post.stated_ms, received_at=received_at)
    return Contact(
        contact_id=minted.contact_id(Provider.X.value, post.post_id, occurred_at),
        channel=Channel.X,
        provider=Provider.X,
        direction=direction,
        provider_message_id=post.post_id,
        occurred_at=occurred_at,
        received_at=received_at,
        sender=sender,
        recipient=recipient,
        thread=Thread(
            message_id=post.post_id,
            in_reply_to=post.in_reply_to_post_id,
            conversation_id=post.conversation_id,
        ),
        content=Content(
            text=without_media_link(post.text, post.media[0] if post.media else None),
            attachments=tuple(attachment(item) for item in post.media),
            visibility=Visibility.PUBLIC,
        ),
    )


def direct_message_contact(message: XDirectMessage, account_id: str, *, received_at: datetime) -> Contact:
    """A DM; one our account sent is outbound and its customer is the recipient."""
    outbound = message.sender_id == account_id
    occurred_at = item_time(message.event_id, message.stated_ms, received_at=received_at)
    return Contact(
        contact_id=minted.contact_id(Provider.X.value, message.event_id, occurred_at),
        channel=Channel.X,
        provider=Provider.X,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        provider_message_id=message.event_id,
        occurred_at=occurred_at,
        received_at=received_at,
        sender=party(message.sender_id, message.profiles.get(message.sender_id, XProfile())),
        recipient=party(message.recipient_id, message.profiles.get(message.recipient_id, XProfile())),
        content=Content(
            text=without_media_link(message.text, message.media),
            attachments=(attachment(message.media),) if message.media else (),
        ),
    )


def _addressee(post: XPost, account_id: str) -> Party | None:
    """Whom our own post answers: the author of the post it replies to, else the first person it mentions."""
    if post.in_reply_to_user_id and post.in_reply_to_user_id != account_id:
        return party(post.in_reply_to_user_id, XProfile(handle=post.in_reply_to_handle))
    mentioned = next((mention for mention in post.mentions if mention.user_id != account_id), None)
    return party(mentioned.user_id, mentioned.profile) if mentioned else None


def party(user_id: str, profile: XProfile) -> Party:
    """The user id is the identifier; the name and handle are only what they are called today."""
    return Party(
        identifiers=(identifiers.x_user(user_id),),
        display_name=profile.name[:256] if profile.name else None,
        handle=profile.handle[:256] if profile.handle else None,
    )


def attachment(media: XMedia) -> Attachment:
    return Attachment(type=media.kind, url=media.url, content_type=media.content_type, content_id=media.media_id)


def without_media_link(text: str | None, media: XMedia | None) -> str | None:
    """X appends the media's t.co link to the text; the attachment already holds the media."""
    if text and media and media.link and text.endswith(media.link):
        text = text[: -len(media.link)].rstrip()
    return text or None
