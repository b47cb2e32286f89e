"""The shapes Discord documents for the thread, crosspost and webhook routes, as JSON Schemas.

Written by hand from Discord's OpenAPI description (github.com/discord/discord-api-spec,
specs/openapi.json at commit 74fda0fad044407ea280043a03ffc9bc64c4e49e, 2026-07-18; MIT licence):
each schema below names the spec's schema it follows and keeps its required fields, types, enums and
length limits for what Briefbot sends and reads (the spec's own schemas are not copied here). The
fake's answers and the bot's requests are validated against these in tests/e2e/test_discord_shapes.py
and at the end of the forum/thread/webhook end-to-end tests; with DISCORD_OPENAPI_SPEC pointing at
the spec file, the same payloads are validated against the spec's own schemas too.
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
                   "flags": {"type": ["integer", "null"]}},
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
                   "attachments": {"type": ["array", "null"], "items": ATTACHMENT_REQUEST, "maxItems": 10}},
}
UPDATE_WEBHOOK_MESSAGE = {  # IncomingWebhookUpdateRequestPartial (an interaction's @original or a followup)
    "type": "object",
    "properties": {"content": {"type": ["string", "null"], "maxLength": 2000}, "allowed_mentions": ALLOWED_MENTIONS,
                   "attachments": {"type": ["array", "null"], "items": ATTACHMENT_REQUEST, "maxItems": 10},
                   "flags": {"type": ["integer", "null"]}},
}
BOOLEAN_QUERY = {"enum": ["true", "false", "True", "False", "1", "0"]}
WEBHOOK_QUERY = {  # execute_webhook's query parameters (wait, with_components: boolean; thread_id: SnowflakeType)
    "type": "object",
    "properties": {"wait": BOOLEAN_QUERY, "with_components": BOOLEAN_QUERY, "thread_id": SNOWFLAKE},
    "additionalProperties": False,
}

# (method, path pattern relative to /api/v10, request schema, success status, success schema, spec operation)
ROUTES: list[tuple[str, re.Pattern[str], dict | None, int, dict, str]] = [
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
        if request is not None:
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
