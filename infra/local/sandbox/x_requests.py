"""What the X sandbox accepts in a query: the parameters and field values X's OpenAPI document lists.

X answers 400 (problem type `invalid-request`) to an unknown parameter, an
unknown field or expansion, and a `max_results` out of range; so does the
sandbox, so a typo in what the poller asks for fails locally, not in production.
"""

from __future__ import annotations

from urllib.parse import parse_qsl


class Invalid(ValueError):
    """A request X would refuse with 400 and an `invalid-request` problem."""


_TWEET_FIELDS = frozenset(
    [
        "article",
        "attachments",
        "author_id",
        "card_uri",
        "community_id",
        "context_annotations",
        "conversation_id",
        "created_at",
        "display_text_range",
        "edit_controls",
        "edit_history_tweet_ids",
        "entities",
        "geo",
        "id",
        "in_reply_to_user_id",
        "lang",
        "media_metadata",
        "non_public_metrics",
        "note_tweet",
        "organic_metrics",
        "possibly_sensitive",
        "promoted_metrics",
        "public_metrics",
        "referenced_tweets",
        "reply_settings",
        "scopes",
        "source",
        "text",
        "withheld",
    ]
)
_TWEET_EXPANSIONS = frozenset(
    [
        "attachments.media_keys",
        "attachments.media_source_tweet",
        "attachments.poll_ids",
        "author_id",
        "edit_history_tweet_ids",
        "entities.mentions.username",
        "geo.place_id",
        "in_reply_to_user_id",
        "entities.note.mentions.username",
        "referenced_tweets.id",
        "referenced_tweets.id.attachments.media_keys",
        "referenced_tweets.id.author_id",
    ]
)
_USER_FIELDS = frozenset(
    [
        "created_at",
        "description",
        "entities",
        "id",
        "location",
        "most_recent_tweet_id",
        "name",
        "pinned_tweet_id",
        "profile_image_url",
        "protected",
        "public_metrics",
        "url",
        "username",
        "verified",
        "verified_type",
        "withheld",
    ]
)
_MEDIA_FIELDS = frozenset(
    ["alt_text", "duration_ms", "height", "media_key", "preview_image_url", "type", "url", "variants", "width"]
)
_DM_FIELDS = frozenset(
    [
        "attachments",
        "created_at",
        "dm_conversation_id",
        "entities",
        "event_type",
        "id",
        "participant_ids",
        "referenced_tweets",
        "sender_id",
        "text",
    ]
)
_DM_EXPANSIONS = frozenset(["attachments.media_keys", "participant_ids", "referenced_tweets.id", "sender_id"])
MENTIONS_PARAMETERS: dict[str, frozenset[str] | None] = {
    "since_id": None,
    "until_id": None,
    "max_results": None,
    "pagination_token": None,
    "start_time": None,
    "end_time": None,
    "tweet.fields": _TWEET_FIELDS,
    "expansions": _TWEET_EXPANSIONS,
    "user.fields": _USER_FIELDS,
    "media.fields": _MEDIA_FIELDS,
    "poll.fields": None,
    "place.fields": None,
}
DM_PARAMETERS: dict[str, frozenset[str] | None] = {
    "max_results": None,
    "pagination_token": None,
    "event_types": frozenset({"MessageCreate", "ParticipantsJoin", "ParticipantsLeave"}),
    "dm_event.fields": _DM_FIELDS,
    "expansions": _DM_EXPANSIONS,
    "user.fields": _USER_FIELDS,
    "media.fields": _MEDIA_FIELDS,
    "tweet.fields": _TWEET_FIELDS,
}


def checked_query(raw_query: str, allowed: dict[str, frozenset[str] | None]) -> dict[str, str]:
    query = dict(parse_qsl(raw_query, keep_blank_values=True))
    for name, value in query.items():
        if name not in allowed:
            raise Invalid(f"The query parameter [{name}] is not one of [{','.join(allowed)}]")
        values = allowed[name]
        if values is None:
            continue
        for item in value.split(","):
            if item not in values:
                raise Invalid(f"The `{name}` query parameter value [{item}] is not one of [{','.join(sorted(values))}]")
    for name in ("since_id", "until_id"):
        if name in query and not query[name].isdigit():
            raise Invalid(f"The `{name}` query parameter value [{query[name]}] does not match ^[0-9]{{1,19}}$")
    return query


def listed(query: dict[str, str], name: str) -> set[str]:
    return set(query.get(name, "").split(",")) - {""}


def page_size(query: dict[str, str], lowest: int, highest: int, *, default: int) -> int:
    value = query.get("max_results", str(default))
    if not value.isdigit() or not lowest <= int(value) <= highest:
        raise Invalid(f"The `max_results` query parameter value [{value}] is not between {lowest} and {highest}")
    return int(value)
