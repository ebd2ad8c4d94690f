"""X Account Activity API webhooks: CRC, signature, direct messages and posts → contacts.

A person on X is their numeric user id (handles change). A DM is private, a
mention or reply is public: `Content.visibility` keeps the difference. Posts
thread by their ids: a post registers its own id and looks up the post it
replies to, so a reply to our reply still finds the case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import Field, ValidationError

from shared.channels.payloads import ParsedBatch, ProviderPayload, json_object, type_name
from shared.channels.x_contacts import (
    VideoVariant,
    XDirectMessage,
    XMedia,
    XMention,
    XPost,
    XProfile,
    direct_message_contact,
    media_item,
    post_contact,
)
from shared.ingest.errors import MalformedPayload
from shared.ingest.request import WebhookRequest
from shared.ingest.signatures import hmac_base64, require_match
from shared.model.contact import Contact

SIGNATURE_HEADER = "x-twitter-webhooks-signature"
CREATED_AT_FORMAT = "%a %b %d %H:%M:%S %z %Y"  # v1.1 post time: "Wed Oct 10 20:19:24 +0000 2018"
MAX_CRC_TOKEN_LENGTH = 512
_ACTIVITY_FIELDS = frozenset(
    {
        "for_user_id",
        "users",
        "apps",
        "user_has_blocked",
        "is_blocked_by",
        "direct_message_events",
        "tweet_create_events",
    }
)


def signature(consumer_secret: str, message: bytes) -> str:
    """`sha256=` and the base64 HMAC-SHA256 with the app's consumer secret (CRC and POST alike)."""
    return "sha256=" + hmac_base64(consumer_secret, message)


def crc_response(query: Mapping[str, str], consumer_secret: str) -> dict[str, str]:
    """The challenge-response check X makes on registration and about hourly after."""
    token = query.get("crc_token", "")
    if not token or len(token) > MAX_CRC_TOKEN_LENGTH:
        raise MalformedPayload("crc_token is missing")
    return {"response_token": signature(consumer_secret, token.encode())}


def verify(request: WebhookRequest, consumer_secret: str) -> None:
    require_match(request.header(SIGNATURE_HEADER), signature(consumer_secret, request.body), header=SIGNATURE_HEADER)


class _User(ProviderPayload):
    name: str | None = None
    screen_name: str | None = None


class _PostAuthor(_User):
    id_str: str = Field(min_length=1)


class _VideoVariant(ProviderPayload):
    url: str
    content_type: str | None = None
    bitrate: int = 0


class _VideoInfo(ProviderPayload):
    variants: list[_VideoVariant] = []


class _Media(ProviderPayload):
    id_str: str | None = None
    type: str = "photo"
    media_url_https: str | None = None
    url: str | None = None  # the t.co link X appends to the text
    video_info: _VideoInfo | None = None


class _Mention(_User):
    id_str: str = Field(min_length=1)


class _Entities(ProviderPayload):
    user_mentions: list[_Mention] = []
    media: list[_Media] = []


class _ExtendedTweet(ProviderPayload):
    full_text: str | None = None
    entities: _Entities = _Entities()
    extended_entities: _Entities | None = None


class _Post(ProviderPayload):
    id_str: str = Field(min_length=1)
    text: str | None = None
    full_text: str | None = None
    extended_tweet: _ExtendedTweet | None = None
    user: _PostAuthor
    in_reply_to_status_id_str: str | None = None
    in_reply_to_user_id_str: str | None = None
    in_reply_to_screen_name: str | None = None
    entities: _Entities = _Entities()
    extended_entities: _Entities | None = None
    timestamp_ms: int | None = None
    created_at: str | None = None
    conversation_id: str | None = None  # X API v2 post shape; v1.1 posts do not carry it


class _DmAttachment(ProviderPayload):
    media: _Media | None = None


class _MessageData(ProviderPayload):
    text: str | None = None
    attachment: _DmAttachment | None = None


class _Target(ProviderPayload):
    recipient_id: str = Field(min_length=1)


class _MessageCreate(ProviderPayload):
    sender_id: str = Field(min_length=1)
    target: _Target
    message_data: _MessageData = _MessageData()


class _DirectMessage(ProviderPayload):
    id: str = Field(min_length=1)
    created_timestamp: int
    message_create: _MessageCreate


class _Activity(ProviderPayload):
    for_user_id: str = Field(min_length=1)
    users: dict[str, object] = {}
    direct_message_events: list[object] = []
    tweet_create_events: list[object] = []


def parse(request: WebhookRequest) -> ParsedBatch:
    """DMs and posts become contacts; likes, follows, typing, read receipts and the rest are counted."""
    body = json_object(request)
    activity = _Activity.model_validate(body)
    batch = ParsedBatch()
    for name, events in body.items():
        if name not in _ACTIVITY_FIELDS:
            batch.ignore(f"x.{name[:40]}", len(events) if isinstance(events, list) else 1)
    for raw_message in activity.direct_message_events:
        event_type = type_name(raw_message)
        if event_type != "message_create":
            batch.ignore(f"x.direct_message.{event_type}")
            continue
        with batch.isolated("x.direct_message"):
            batch.contacts.append(_direct_message(_DirectMessage.model_validate(raw_message), activity, request))
    for raw_post in activity.tweet_create_events:
        if isinstance(raw_post, dict) and "retweeted_status" in raw_post:
            batch.ignore("x.post.repost")  # a repost adds no words of its own
            continue
        with batch.isolated("x.post"):
            contact = _post(_Post.model_validate(raw_post), activity.for_user_id, request)
            if contact is None:
                batch.ignore("x.post.own_broadcast")
            else:
                batch.contacts.append(contact)
    return batch


def _direct_message(message: _DirectMessage, activity: _Activity, request: WebhookRequest) -> Contact:
    create = message.message_create
    media = create.message_data.attachment.media if create.message_data.attachment else None
    participants = (create.sender_id, create.target.recipient_id)
    facts = XDirectMessage(
        event_id=message.id,
        sender_id=create.sender_id,
        recipient_id=create.target.recipient_id,
        text=create.message_data.text,
        stated_ms=message.created_timestamp,
        media=_media(media) if media else None,
        profiles={user_id: _profile(activity.users.get(user_id)) for user_id in participants},
    )
    return direct_message_contact(facts, activity.for_user_id, received_at=request.received_at)


def _post(post: _Post, for_user_id: str, request: WebhookRequest) -> Contact | None:
    extended = post.extended_tweet
    entities = extended.entities if extended else post.entities
    # Extended entities list every photo of a post; plain entities only the first.
    media = (extended.extended_entities if extended else None) or post.extended_entities or entities
    facts = XPost(
        post_id=post.id_str,
        author_id=post.user.id_str,
        author=_profile(post.user.model_dump()),
        text=(extended.full_text if extended else None) or post.full_text or post.text,
        stated_ms=_stated_ms(post),
        in_reply_to_post_id=post.in_reply_to_status_id_str,
        in_reply_to_user_id=post.in_reply_to_user_id_str,
        in_reply_to_handle=post.in_reply_to_screen_name,
        mentions=tuple(XMention(m.id_str, XProfile(m.name, m.screen_name)) for m in entities.user_mentions),
        media=tuple(_media(item) for item in media.media),
        conversation_id=post.conversation_id,
    )
    return post_contact(facts, for_user_id, received_at=request.received_at)


def _profile(profile: object) -> XProfile:
    try:
        user = _User.model_validate(profile if isinstance(profile, Mapping) else {})
    except ValidationError:
        return XProfile()  # a broken profile costs the display name, not the message
    return XProfile(user.name, user.screen_name)


def _stated_ms(post: _Post) -> int | None:
    if post.timestamp_ms is not None:
        return post.timestamp_ms
    if post.created_at:
        return int(datetime.strptime(post.created_at, CREATED_AT_FORMAT).timestamp() * 1000)
    return None  # refused: a post without a time cannot be placed on a timeline


def _media(media: _Media) -> XMedia:
    variants = [
        VideoVariant(variant.url, variant.content_type, variant.bitrate)
        for variant in (media.video_info.variants if media.video_info else [])
    ]
    return media_item(media.id_str, media.type, media.media_url_https, variants, media.url)
