"""The shapes Discord documents for the message, thread, crosspost and webhook routes, as JSON Schemas.

Written by hand from Discord's OpenAPI description (github.com/discord/discord-api-spec,
specs/openapi.json at commit 74fda0fad044407ea280043a03ffc9bc64c4e49e, 2026-07-18; MIT licence):
each schema below names the spec's schema it follows and keeps its required fields, types, enums and
length limits for what Briefbot sends and reads (the spec's own schemas are not copied here). The
fake's answers and the bot's requests are validated against these in tests/e2e/test_discord_shapes.py
and at the end of the forum/thread/webhook end-to-end tests; test_discord_shapes.py validates the same
payloads against the spec's own schemas too (a copy of the spec is kept in tests/e2e/data/). What a schema cannot
say (6,000 characters in all of a message's embeds) the fake checks itself (`fake_discord._validate_embeds`).
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator

SNOWFLAKE = {"type": "string", "pattern": "^(0|[1-9][0-9]*)$"}
ARCHIVE_DURATION = {"enum": [60, 1440, 4320, 10080]}  # ThreadAutoArchiveDuration
ALLOWED_MENTIONS = {  # MessageAllowedMentionsRequest
    "type": ["object", "null"],
    "properties": {
        "parse": {"type": ["array", "null"], "items": {"enum": ["users", "roles", "everyone"]}, "uniqueItems": True},
        "users": {"type": ["array", "null"], "items": SNOWFLAKE, "maxItems": 100},
        "roles": {"type": ["array", "null"], "items": SNOWFLAKE, "maxItems": 100},
        "replied_user": {"type": ["boolean", "null"]},
    },
}
USER = {  # UserResponse
    "type": "object",
    "required": ["id", "username", "avatar", "discriminator", "public_flags", "flags", "global_name", "primary_guild"],
    "properties": {"id": SNOWFLAKE, "username": {"type": "string"}, "avatar": {"type": ["string", "null"]},
                   "discriminator": {"type": "string"}, "public_flags": {"type": "integer"},
                   "flags": {"type": "integer"}, "global_name": {"type": ["string", "null"]}},
}
THREAD_METADATA = {  # ThreadMetadataResponse
    "type": "object",
    "required": ["archived", "archive_timestamp", "auto_archive_duration", "locked"],
    "properties": {"archived": {"type": "boolean"}, "archive_timestamp": {"type": ["string", "null"]},
                   "auto_archive_duration": ARCHIVE_DURATION, "locked": {"type": "boolean"},
                   "create_timestamp": {"type": "string"}, "invitable": {"type": "boolean"}},
}
THREAD = {  # ThreadResponse; CreatedThreadResponse has the same fields
    "type": "object",
    "required": ["id", "type", "flags", "guild_id", "name", "owner_id", "thread_metadata", "message_count",
                 "member_count", "total_message_sent"],
    "properties": {
        "id": SNOWFLAKE, "type": {"enum": [10, 11, 12]}, "flags": {"type": "integer"}, "guild_id": SNOWFLAKE,
        "name": {"type": "string"}, "parent_id": {"oneOf": [{"type": "null"}, SNOWFLAKE]}, "owner_id": SNOWFLAKE,
        "last_message_id": {"oneOf": [{"type": "null"}, SNOWFLAKE]}, "thread_metadata": THREAD_METADATA,
        "message_count": {"type": "integer"}, "member_count": {"type": "integer"},
        "total_message_sent": {"type": "integer"}, "applied_tags": {"type": "array", "items": SNOWFLAKE},
        "rate_limit_per_user": {"type": "integer"},
    },
}
ATTACHMENT = {  # AttachmentResponse (also an interaction's data.resolved.attachments, per Discord's reference)
    "type": "object",
    "required": ["id", "filename", "size", "url", "proxy_url"],
    "properties": {"id": SNOWFLAKE, "filename": {"type": "string"}, "size": {"type": "integer"},
                   "url": {"type": "string", "format": "uri"}, "proxy_url": {"type": "string", "format": "uri"},
                   "content_type": {"type": "string"}, "ephemeral": {"type": "boolean"}},
}
ATTACHMENT_REQUEST = {  # MessageAttachmentRequest (in payload_json; `id` is the n of its files[n])
    "type": "object", "required": ["id"],
    "properties": {"id": {"oneOf": [SNOWFLAKE, {"type": "integer", "minimum": 0}]},
                   "filename": {"type": ["string", "null"], "minLength": 1, "maxLength": 1024},
                   "description": {"type": ["string", "null"], "maxLength": 1024}},
}
URL = {"type": ["string", "null"], "maxLength": 2048, "format": "uri"}
EMBED = {  # RichEmbed (what a request sends), with RichEmbedAuthor, RichEmbedFooter and RichEmbedImage
    "type": "object",
    "properties": {
        "type": {"type": ["string", "null"]}, "url": URL, "title": {"type": ["string", "null"], "maxLength": 256},
        "color": {"type": ["integer", "null"], "minimum": 0, "maximum": 16777215},
        "timestamp": {"type": ["string", "null"], "format": "date-time"},
        "description": {"type": ["string", "null"], "maxLength": 4096},
        "author": {"type": ["object", "null"], "properties": {"name": {"type": ["string", "null"], "maxLength": 256},
                                                            "url": URL, "icon_url": URL}},
        "footer": {"type": ["object", "null"], "properties": {"text": {"type": ["string", "null"], "maxLength": 2048},
                                                            "icon_url": URL}},
        "image": {"type": ["object", "null"], "properties": {"url": URL}},
        "thumbnail": {"type": ["object", "null"], "properties": {"url": URL}},
        "fields": {"type": ["array", "null"], "maxItems": 25},
    },
}
EMBEDS = {"type": ["array", "null"], "items": EMBED, "maxItems": 10}
EMBED_RESPONSE = {  # MessageEmbedResponse, with MessageEmbedAuthorResponse, …FooterResponse, …ImageResponse
    "type": "object", "required": ["type"],
    "properties": {
        "type": {"type": "string"}, "url": {"type": "string", "format": "uri"}, "title": {"type": "string"},
        "description": {"type": "string"}, "timestamp": {"type": "string", "format": "date-time"},
        "author": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "footer": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
        "image": {"type": "object", "properties": {"url": {"type": "string"},
                                                   "proxy_url": {"type": "string", "format": "uri"},
                                                   "width": {"type": "integer", "minimum": 0},
                                                   "height": {"type": "integer", "minimum": 0}}},
    },
}
MESSAGE = {  # MessageResponse
    "type": "object",
    "required": ["type", "content", "mentions", "mention_roles", "attachments", "embeds", "timestamp",
                 "edited_timestamp", "flags", "components", "id", "channel_id", "author", "pinned",
                 "mention_everyone", "tts"],
    "properties": {
        "id": SNOWFLAKE, "channel_id": SNOWFLAKE, "type": {"type": "integer"}, "content": {"type": "string"},
        "author": USER, "flags": {"type": "integer"}, "webhook_id": SNOWFLAKE, "thread": THREAD,
        "attachments": {"type": "array", "items": ATTACHMENT},
        "nonce": {"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 25}]},
        "timestamp": {"type": "string"}, "edited_timestamp": {"type": ["string", "null"]},
        "embeds": {"type": "array", "items": EMBED_RESPONSE},
    },
}
CREATED_FORUM_POST = {"allOf": [THREAD, {"required": ["message"], "properties": {"message": MESSAGE}}]}
THREADS = {  # ThreadsResponse
    "type": "object",
    "required": ["threads", "members", "has_more"],
    "properties": {"threads": {"type": "array", "items": THREAD}, "members": {"type": "array"},
                   "has_more": {"type": "boolean"}},
}
ERROR = {  # ErrorResponse (Error: code, message)
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "errors": {"type": "object"}},
}
RATE_LIMITED = {  # RatelimitedResponse
    "allOf": [ERROR, {"required": ["retry_after", "global"],
                      "properties": {"retry_after": {"type": "number"}, "global": {"type": "boolean"}}}],
}
MESSAGE_REQUEST = {  # BaseCreateMessageCreateRequest (a forum post's first message)
    "type": "object",
    "properties": {"content": {"type": ["string", "null"], "maxLength": 4000}, "allowed_mentions": ALLOWED_MENTIONS,
                   "flags": {"type": ["integer", "null"]}, "embeds": EMBEDS},
}
CREATE_MESSAGE = {  # MessageCreateRequest: BaseCreateMessageCreateRequest's fields and these
    "allOf": [MESSAGE_REQUEST, {"type": "object", "properties": {
        "nonce": {"oneOf": [{"type": "null"}, {"type": "integer"}, {"type": "string", "maxLength": 25}]},
        "enforce_nonce": {"type": ["boolean", "null"]}, "tts": {"type": ["boolean", "null"]}}}],
}
CREATE_FORUM_POST = {  # CreateForumThreadRequest
    "type": "object", "required": ["name", "message"],
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
                   "auto_archive_duration": {"oneOf": [{"type": "null"}, ARCHIVE_DURATION]},
                   "applied_tags": {"type": ["array", "null"], "items": SNOWFLAKE, "maxItems": 5},
                   "message": MESSAGE_REQUEST},
}
CREATE_THREAD_FROM_MESSAGE = {  # CreateTextThreadWithMessageRequest
    "type": "object", "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
                   "auto_archive_duration": {"oneOf": [{"type": "null"}, ARCHIVE_DURATION]},
                   "rate_limit_per_user": {"type": ["integer", "null"], "minimum": 0, "maximum": 21600}},
}
EXECUTE_WEBHOOK = {  # IncomingWebhookRequestPartial
    "type": "object",
    "properties": {"content": {"type": ["string", "null"], "maxLength": 2000}, "allowed_mentions": ALLOWED_MENTIONS,
                   "username": {"type": ["string", "null"], "minLength": 1, "maxLength": 80},
                   "avatar_url": {"type": ["string", "null"], "maxLength": 2048, "format": "uri"},
                   "thread_name": {"type": ["string", "null"], "minLength": 0, "maxLength": 100},
                   "applied_tags": {"type": ["array", "null"], "items": SNOWFLAKE, "maxItems": 5},
                   "attachments": {"type": ["array", "null"], "items": ATTACHMENT_REQUEST, "maxItems": 10},
                   "embeds": EMBEDS},
}
UPDATE_WEBHOOK_MESSAGE = {  # IncomingWebhookUpdateRequestPartial (an interaction's @original or a followup)
    "type": "object",
    "properties": {"content": {"type": ["string", "null"], "maxLength": 2000}, "allowed_mentions": ALLOWED_MENTIONS,
                   "attachments": {"type": ["array", "null"], "items": ATTACHMENT_REQUEST, "maxItems": 10},
                   "flags": {"type": ["integer", "null"]}, "embeds": EMBEDS},
}
BOOLEAN_QUERY = {"enum": ["true", "false", "True", "False", "1", "0"]}
WEBHOOK_QUERY = {  # execute_webhook's query parameters (wait, with_components: boolean; thread_id: SnowflakeType)
    "type": "object",
    "properties": {"wait": BOOLEAN_QUERY, "with_components": BOOLEAN_QUERY, "thread_id": SNOWFLAKE},
    "additionalProperties": False,
}

# (method, path pattern relative to /api/v10, request schema, success status, success schema, spec operation)
ROUTES: list[tuple[str, re.Pattern[str], dict | None, int, dict, str]] = [
    ("POST", re.compile(r"^/channels/\d+/messages$"), CREATE_MESSAGE, 200, MESSAGE, "create_message"),
    ("POST", re.compile(r"^/channels/\d+/threads$"), CREATE_FORUM_POST, 201, CREATED_FORUM_POST, "create_thread"),
    ("POST", re.compile(r"^/channels/\d+/messages/\d+/threads$"), CREATE_THREAD_FROM_MESSAGE, 201, THREAD,
     "create_thread_from_message"),
    ("POST", re.compile(r"^/channels/\d+/messages/\d+/crosspost$"), None, 200, MESSAGE, "crosspost_message"),
    ("POST", re.compile(r"^/webhooks/\d+/[^/]+$"), EXECUTE_WEBHOOK, 200, MESSAGE, "execute_webhook"),
    ("PATCH", re.compile(r"^/webhooks/\d+/[^/]+/messages/(@original|\d+)$"), UPDATE_WEBHOOK_MESSAGE, 200, MESSAGE,
     "update_webhook_message"),
    ("GET", re.compile(r"^/guilds/\d+/threads/active$"), None, 200, THREADS, "get_active_guild_threads"),
    ("GET", re.compile(r"^/channels/\d+/threads/archived/public$"), None, 200, THREADS,
     "list_public_archived_threads"),
]


def problems(schema: dict, payload: Any) -> list[str]:
    """Where `payload` breaks `schema` (empty when it fits)."""
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(payload)]


def route_of(method: str, path: str) -> tuple[dict | None, int, dict, str] | None:
    """The documented shapes of a request to `path`, if it is one of ROUTES."""
    for route_method, pattern, request, status, response, operation in ROUTES:
        if method == route_method and pattern.match(path):
            return request, status, response, operation
    return None


def refused_as_invalid_form(record: Any) -> bool:
    """Whether the fake answered 400 / 50035 Invalid Form Body: the request broke a documented limit on purpose."""
    answer = record.response_json
    return record.status == 400 and isinstance(answer, dict) and answer.get("code") == 50035


def check_exchanges(requests: list[Any]) -> int:
    """Validate every recorded request to ROUTES and the fake's answer; returns how many were checked.

    Raises AssertionError listing each mismatch. `requests` are the fake's RecordedRequest objects.
    """
    found, checked = [], 0
    for record in requests:
        shapes = route_of(record.method, record.path)
        if shapes is None or not record.status:
            continue
        request, status, response, operation = shapes
        checked += 1
        if request is not None and not refused_as_invalid_form(record):
            found += [f"{operation} request {p}" for p in problems(request, record.json)]
        if record.path.startswith("/webhooks/"):
            found += [f"{operation} query {p}" for p in problems(WEBHOOK_QUERY, record.query)]
        answer = record.response_json
        if record.status == status:
            found += [f"{operation} {status} {p}" for p in problems(response, answer)]
        elif record.status == 429:
            found += [f"{operation} 429 {p}" for p in problems(RATE_LIMITED, answer)]
        elif record.status >= 400:
            found += [f"{operation} {record.status} {p}" for p in problems(ERROR, answer)]
        else:
            found.append(f"{operation} answered {record.status}, Discord answers {status}")
    assert not found, "\n".join(found)
    return checked
