"""X API v2 pages → contacts: the mentions timeline and DM events the poller reads (xMode polling).

What the poller asks X for (`MENTIONS_QUERY`, `DM_EVENTS_QUERY`) and how a page
is read live together here, so a field is never read that was not asked for.
Each post or DM becomes the contact the Account Activity webhook makes of it
(`shared.channels.x_contacts`): same ids, parties and thread. DM event ids are
common to v1.1 and v2 (docs.x.com, Direct Messages lookup), post ids always were.

Shapes: X's OpenAPI document (api.x.com/2/openapi.json, as vendored by
github.com/xdevplatform/xdk): `Get2UsersIdMentionsResponse`, `Get2DmEventsResponse`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from shared.channels.payloads import ParsedBatch, ProviderPayload, json_document, type_name
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

_TWEET_FIELDS = "created_at,author_id,in_reply_to_user_id,referenced_tweets,entities,attachments,note_tweet"
_MEDIA_FIELDS = "media_key,type,url,preview_image_url,variants"
MENTIONS_QUERY: dict[str, str] = {
    # Authors, the posts they reply to or quote (ours among them) and their authors, media, mentioned users.
    "expansions": "author_id,referenced_tweets.id,referenced_tweets.id.author_id,attachments.media_keys,"
    "in_reply_to_user_id,entities.mentions.username",
    "tweet.fields": _TWEET_FIELDS,
    "user.fields": "name,username",
    "media.fields": _MEDIA_FIELDS,
}
DM_EVENTS_QUERY: dict[str, str] = {
    "event_types": "MessageCreate",  # joins and leaves of group conversations are not contacts
    "dm_event.fields": "id,event_type,text,sender_id,dm_conversation_id,created_at,attachments,entities",
    "expansions": "sender_id,attachments.media_keys",
    "user.fields": "name,username",
    "media.fields": _MEDIA_FIELDS,
}
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MENTIONS_PAGE_SIZES = (5, 100)  # what X accepts for max_results
DM_EVENTS_PAGE_SIZES = (1, 100)


class _User(ProviderPayload):
    id: str = Field(min_length=1)
    name: str | None = None
    username: str | None = None


class _Variant(ProviderPayload):
    url: str
    content_type: str | None = None
    bit_rate: int = 0


class _Media(ProviderPayload):
    media_key: str = Field(min_length=1)
    type: str = "photo"
    url: str | None = None
    preview_image_url: str | None = None
    variants: list[_Variant] = []


class _Url(ProviderPayload):
    url: str
    media_key: str | None = None


class _MentionEntity(ProviderPayload):
    id: str | None = None
    username: str | None = None


class _Entities(ProviderPayload):
    mentions: list[_MentionEntity] = []
    urls: list[_Url] = []


class _Reference(ProviderPayload):
    type: str
    id: str = Field(min_length=1)


class _Attachments(ProviderPayload):
    media_keys: list[str] = []


class _NoteTweet(ProviderPayload):
    text: str | None = None
    entities: _Entities | None = None


class _Tweet(ProviderPayload):
    id: str = Field(min_length=1)
    text: str | None = None
    author_id: str = Field(min_length=1)
    created_at: datetime | None = None
    in_reply_to_user_id: str | None = None
    referenced_tweets: list[_Reference] = []
    entities: _Entities = _Entities()
    attachments: _Attachments = _Attachments()
    note_tweet: _NoteTweet | None = None  # a post longer than 280 characters, in full

    def referenced(self, kind: str) -> str | None:
        return next((reference.id for reference in self.referenced_tweets if reference.type == kind), None)


class _Includes(ProviderPayload):
    users: list[object] = []
    tweets: list[object] = []
    media: list[object] = []


class _Meta(ProviderPayload):
    result_count: int = 0
    next_token: str | None = None


class _Page(ProviderPayload):
    data: list[object] = []
    includes: _Includes = _Includes()
    meta: _Meta = _Meta()


class _DmEvent(ProviderPayload):
    id: str = Field(min_length=1)
    event_type: str
    text: str | None = None
    sender_id: str = Field(min_length=1)
    dm_conversation_id: str = Field(min_length=1)
    created_at: datetime | None = None
    attachments: _Attachments = _Attachments()
    urls: list[_Url] = []


@dataclass
class TimelinePage:
    """One page read: its contacts, where the next page starts, and how much it cost."""

    batch: ParsedBatch = field(default_factory=ParsedBatch)
    item_ids: tuple[str, ...] = ()  # every item of `data`, newest first, as X returned them
    next_token: str | None = None
    # Posts, DM events, users and media this page newly brought: what X bills and caps. A DM event read
    # before (the head of the stream, re-read by every run) is billed at most once a UTC day and not counted.
    resources: int = 0
    reached: bool = False  # an item at or below `newer_than` was seen: the walk has caught up

    @property
    def newest_id(self) -> str | None:
        return max(self.item_ids, key=int, default=None)


class _Lookup:
    """The page's `includes`, by id; an expansion object that cannot be read is left out, not fatal."""

    def __init__(self, includes: _Includes) -> None:
        self.users = {user.id: user for user in _readable(_User, includes.users)}
        self.tweets = {tweet.id: tweet for tweet in _readable(_Tweet, includes.tweets)}
        self.media = {media.media_key: media for media in _readable(_Media, includes.media)}

    def profile(self, user_id: str | None) -> XProfile:
        user = self.users.get(user_id or "")
        return XProfile(user.name, user.username) if user else XProfile()

    def media_of(self, keys: list[str], urls: list[_Url]) -> tuple[XMedia, ...]:
        links = {url.media_key: url.url for url in urls if url.media_key}
        return tuple(_media(self.media[key], links.get(key)) for key in keys if key in self.media)


def parse_mentions(body: bytes, account_id: str, *, received_at: datetime) -> TimelinePage:
    """A page of `GET /2/users/{id}/mentions`: mentions, replies and quotes in, our replies they answer out."""
    page = _Page.model_validate(json_document(body))
    lookup = _Lookup(page.includes)
    result = TimelinePage(next_token=page.meta.next_token, resources=_resources(page))
    ours_seen: set[str] = set()
    ids = [_item_id(raw) for raw in page.data]
    for raw in reversed(page.data):  # oldest first, as they happened
        with result.batch.isolated("x.post"):
            tweet = _Tweet.model_validate(raw)
            if tweet.referenced("retweeted"):
                result.batch.ignore("x.post.repost")  # a repost adds no words of its own
                continue
            # Our post this one answers: the webhook would have delivered it when we posted it.
            parent = lookup.tweets.get(tweet.referenced("replied_to") or "")
            if parent and parent.author_id == account_id and parent.id not in ours_seen:
                ours_seen.add(parent.id)
                _add_post(result.batch, parent, lookup, account_id, received_at)
            _add_post(result.batch, tweet, lookup, account_id, received_at)
    result.item_ids = tuple(item_id for item_id in ids if item_id)
    return result


def parse_dm_events(body: bytes, account_id: str, *, received_at: datetime, newer_than: str | None) -> TimelinePage:
    """A page of `GET /2/dm_events` (newest first): the events after `newer_than` become contacts."""
    page = _Page.model_validate(json_document(body))
    lookup = _Lookup(page.includes)
    result = TimelinePage(next_token=page.meta.next_token)
    ids = [_item_id(raw) for raw in page.data]
    new = [item_id for item_id in ids if item_id and (newer_than is None or int(item_id) > int(newer_than))]
    result.resources = len(new) + _included(page) if new else 0
    for raw in reversed(page.data):  # oldest first, as they happened
        event_id = _item_id(raw)
        if newer_than is not None and event_id is not None and int(event_id) <= int(newer_than):
            result.reached = True  # read by an earlier run
            continue
        event_type = type_name(raw, "event_type")
        if event_type != "MessageCreate":
            result.batch.ignore(f"x.direct_message.{event_type}")
            continue
        with result.batch.isolated("x.direct_message"):
            event = _DmEvent.model_validate(raw)
            recipient = _one_to_one_partner(event)
            if recipient is None:
                # The Account Activity API does not deliver group conversations either.
                result.batch.ignore("x.direct_message.group")
                continue
            media = lookup.media_of(event.attachments.media_keys, event.urls)
            message = XDirectMessage(
                event_id=event.id,
                sender_id=event.sender_id,
                recipient_id=recipient,
                text=event.text,
                stated_ms=_millis(event.created_at),
                media=media[0] if media else None,
                profiles={user_id: lookup.profile(user_id) for user_id in (event.sender_id, recipient)},
            )
            result.batch.contacts.append(direct_message_contact(message, account_id, received_at=received_at))
    result.item_ids = tuple(item_id for item_id in ids if item_id)
    return result


def _add_post(batch: ParsedBatch, tweet: _Tweet, lookup: _Lookup, account_id: str, received_at: datetime) -> None:
    note = tweet.note_tweet
    entities = note.entities if note and note.entities else tweet.entities
    post = XPost(
        post_id=tweet.id,
        author_id=tweet.author_id,
        author=lookup.profile(tweet.author_id),
        text=(note.text if note else None) or tweet.text,
        stated_ms=_millis(tweet.created_at),
        in_reply_to_post_id=tweet.referenced("replied_to"),
        in_reply_to_user_id=tweet.in_reply_to_user_id,
        in_reply_to_handle=lookup.profile(tweet.in_reply_to_user_id).handle,
        mentions=tuple(
            XMention(mention.id, XProfile(lookup.profile(mention.id).name, mention.username))
            for mention in entities.mentions
            if mention.id
        ),
        media=lookup.media_of(tweet.attachments.media_keys, entities.urls),
        # Not kept: the v1.1 webhook does not carry it, and a post must thread the same whichever path brought it.
        conversation_id=None,
    )
    contact = post_contact(post, account_id, received_at=received_at)
    if contact is None:
        batch.ignore("x.post.own_broadcast")
    else:
        batch.contacts.append(contact)


def _media(media: _Media, link: str | None) -> XMedia:
    media_id = media.media_key.partition("_")[2] or media.media_key  # "3_1800..." → "1800...", the v1.1 id
    variants = [VideoVariant(variant.url, variant.content_type, variant.bit_rate) for variant in media.variants]
    return media_item(media_id, media.type, media.url or media.preview_image_url, variants, link)


def _one_to_one_partner(event: _DmEvent) -> str | None:
    """The other person of a one-to-one conversation (`<id>-<id>`); None for a group conversation."""
    first, dash, second = event.dm_conversation_id.partition("-")
    if not dash:
        return None
    if event.sender_id not in (first, second):
        raise ValueError("sender is not a participant of the conversation")
    return second if event.sender_id == first else first


def _millis(created_at: datetime | None) -> int | None:
    # Integer arithmetic: a float timestamp times 1000 can land a millisecond short.
    return (created_at - _UNIX_EPOCH) // timedelta(milliseconds=1) if created_at is not None else None


def _item_id(raw: object) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return str(value) if isinstance(value, str | int) and str(value).isdigit() else None


def _resources(page: _Page) -> int:
    return len(page.data) + _included(page)


def _included(page: _Page) -> int:
    includes = page.includes
    return len(includes.users) + len(includes.tweets) + len(includes.media)


def _readable(model: type[Any], items: list[object]) -> list[Any]:
    readable = []
    for item in items:
        try:
            readable.append(model.model_validate(item))
        except ValueError:
            continue
    return readable
