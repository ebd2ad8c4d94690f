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

from shared.channels.payloads import ParsedBatch, ProviderPayload, epoch_time, json_object, type_name
from shared.ingest.errors import MalformedPayload
from shared.ingest.request import WebhookRequest
from shared.ingest.signatures import hmac_base64, require_match
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
    # Our own account sent it (an agent or our app): outbound, the customer is the recipient.
    outbound = create.sender_id == activity.for_user_id
    occurred_at = epoch_time(message.created_timestamp, "ms", received_at=request.received_at)
    media = create.message_data.attachment.media if create.message_data.attachment else None
    attachments = (_attachment(media),) if media else ()
    return Contact(
        contact_id=minted.contact_id(Provider.X.value, message.id, occurred_at),
        channel=Channel.X,
        provider=Provider.X,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        provider_message_id=message.id,
        occurred_at=occurred_at,
        received_at=request.received_at,
        sender=_party(create.sender_id, activity.users.get(create.sender_id)),
        recipient=_party(create.target.recipient_id, activity.users.get(create.target.recipient_id)),
        content=Content(text=_without_media_link(create.message_data.text, media), attachments=attachments),
    )


def _post(post: _Post, for_user_id: str, request: WebhookRequest) -> Contact | None:
    extended = post.extended_tweet
    entities = extended.entities if extended else post.entities
    # Extended entities list every photo of a post; plain entities only the first.
    media = (extended.extended_entities if extended else None) or post.extended_entities or entities
    author = _party(post.user.id_str, post.user.model_dump())
    if post.user.id_str == for_user_id:
        customer = _addressee(post, entities, for_user_id)
        if customer is None:
            return None  # an announcement to everyone is not a contact with a customer
        sender, recipient, direction = author, customer, Direction.OUTBOUND
    else:
        sender, recipient, direction = author, _party(for_user_id, None), Direction.INBOUND
    occurred_at = _post_time(post, request.received_at)
    text = (extended.full_text if extended else None) or post.full_text or post.text
    return Contact(
        contact_id=minted.contact_id(Provider.X.value, post.id_str, occurred_at),
        channel=Channel.X,
        provider=Provider.X,
        direction=direction,
        provider_message_id=post.id_str,
        occurred_at=occurred_at,
        received_at=request.received_at,
        sender=sender,
        recipient=recipient,
        thread=Thread(
            message_id=post.id_str,
            in_reply_to=post.in_reply_to_status_id_str,
            conversation_id=post.conversation_id,
        ),
        content=Content(
            text=_without_media_link(text, media.media[0] if media.media else None),
            attachments=tuple(_attachment(item) for item in media.media),
            visibility=Visibility.PUBLIC,
        ),
    )


def _addressee(post: _Post, entities: _Entities, for_user_id: str) -> Party | None:
    """Whom our own post answers: the author of the post it replies to, else the first person it mentions."""
    if post.in_reply_to_user_id_str and post.in_reply_to_user_id_str != for_user_id:
        return _party(post.in_reply_to_user_id_str, {"screen_name": post.in_reply_to_screen_name})
    mentioned = next((mention for mention in entities.user_mentions if mention.id_str != for_user_id), None)
    return _party(mentioned.id_str, mentioned.model_dump()) if mentioned else None


def _party(user_id: str, profile: object) -> Party:
    """The user id is the identifier; the name and handle are only what they are called today."""
    try:
        user = _User.model_validate(profile if isinstance(profile, Mapping) else {})
    except ValidationError:
        user = _User()  # a broken profile costs the display name, not the message
    return Party(
        identifiers=(identifiers.x_user(user_id),),
        display_name=user.name[:256] if user.name else None,
        handle=user.screen_name[:256] if user.screen_name else None,
    )


def _post_time(post: _Post, received_at: datetime) -> datetime:
    if post.timestamp_ms is not None:
        millis = post.timestamp_ms
    elif post.created_at:
        millis = int(datetime.strptime(post.created_at, CREATED_AT_FORMAT).timestamp() * 1000)
    else:
        millis = -1  # refused as out of range: a post without a time cannot be placed on a timeline
    return epoch_time(millis, "ms", received_at=received_at)


def _attachment(media: _Media) -> Attachment:
    if media.type in ("video", "animated_gif") and media.video_info and media.video_info.variants:
        best = max(media.video_info.variants, key=lambda variant: variant.bitrate)
        return Attachment(
            type=AttachmentType.VIDEO, url=best.url, content_type=best.content_type, content_id=media.id_str
        )
    return Attachment(type=AttachmentType.IMAGE, url=media.media_url_https, content_id=media.id_str)


def _without_media_link(text: str | None, media: _Media | None) -> str | None:
    """X appends the media's t.co link to the text; the attachment already holds the media."""
    if text and media and media.url and text.endswith(media.url):
        text = text[: -len(media.url)].rstrip()
    return text or None
