"""An in-process fake Discord (REST API v10 + gateway) for offline end-to-end tests.

The real discord.py client -- normally the bot, started as a subprocess -- is pointed at the fake
through ``bot.endpoints.configure_endpoints`` (settings ``DISCORD_API_BASE`` and
``DISCORD_GATEWAY_URL``, see :meth:`FakeDiscord.env`). The fake serves aiohttp on 127.0.0.1 from a
background thread with its own event loop, so every harness method is a plain, thread-safe,
synchronous call with a timeout, usable from sync and async tests alike::

    with FakeDiscord() as fake, ClientProcess(["briefbot", "run"], env=fake.env()) as bot:
        fake.watch(bot)                       # waits fail fast (with the bot's output) if it dies
        guild = fake.add_guild(name="News", channels=["general", "briefings"])
        fake.wait_until_ready()
        fake.wait_for_commands()
        res = fake.invoke("briefing setup", {"channel": "briefings"}, guild_id=guild.id)
        assert res.ephemeral and "saved" in res.content

Behaviour the client depends on, modelled on purpose:

* JSON responses carry exactly ``Content-Type: application/json``: discord.py only decodes a body
  as JSON when the header equals that string (aiohttp's ``json_response`` would add a charset).
* 429s carry a ``Via`` header and a JSON body with ``retry_after`` and ``global``; without ``Via``
  discord.py takes a 429 for a Cloudflare ban and raises instead of sleeping and retrying.
* Gateway transport compression: discord.py asks for ``compress=zlib-stream`` (``zstd-stream`` when
  ``zstandard`` is installed). zlib-stream is honoured (binary frames, each ending in a
  Z_SYNC_FLUSH); otherwise plain text frames are sent, which discord.py always accepts.
* Interaction callbacks answer like ``?with_response=1`` (discord.py always asks for it); the
  initial response must come within ``interaction_deadline`` seconds (else 404 10062) and only
  once (else 400 40060). After a defer, the first followup replaces the "thinking" message.
* Messages: 2000-character content, empty message (50006), nonce of at most 25 characters,
  ``enforce_nonce`` de-duplication per channel for 5 minutes, the bot's channel permissions
  (50001 Missing Access / 50013 Missing Permissions), unknown channel (10003), closed DMs (50007).
* Command sync (bulk overwrite) validates names/descriptions/option order like Discord and keeps a
  command's id stable across syncs. ``contexts`` (0 guild, 1 bot DM, 2 private channel) and
  ``integration_types`` (0 guild install, 1 user install) are checked as Discord's OpenAPI
  description types them (``ApplicationCommandUpdateRequest``: a non-empty array of unique enum
  values, or null) and enforced on invocation; the deprecated ``dm_permission`` is recorded (see
  ``deprecated_fields``) and still honoured when no ``contexts`` are given.
* Interactions carry ``context`` and ``authorizing_integration_owners`` as Discord sends them: in a
  guild that installed the app ``{"0": guild_id}``, in the bot's DM ``{"0": "0"}``, and for a user
  install ``{"1": user_id}`` (see ``invoke(context=..., user_install=...)``). A deferred response
  is completed by ``PATCH /webhooks/{app_id}/{token}/messages/@original``; the deprecated path,
  a first followup that replaces the "thinking" message, still works and is recorded
  (``InteractionResult.completed_by``).
* Channels, threads, webhooks (shapes checked against Discord's OpenAPI description, see
  ``tests/e2e/discord_shapes.py``): announcement (5), forum (15) and media (16) channels with
  ``available_tags`` and the REQUIRE_TAG flag; forum posts (``POST /channels/{id}/threads`` with a
  ``message``; 40067 without a required tag; the starter message has the post's id); threads from a
  message (one per message, else 160004; the thread has the message's id); active and archived thread
  listings; crossposts (announcement channels only, 40033 the second time, 10 an hour per channel,
  then a per-route 429); thread permissions (Send Messages in Threads, Create Public Threads, Manage
  Messages to crosspost others' messages); webhooks with ``username``, ``avatar_url``, ``thread_id``
  and, in forums, ``thread_name`` / ``applied_tags`` (220001 without either).
* Files: an ``ATTACHMENT`` option (11) takes ``{"filename", "url", "size"[, "content_type"]}`` and is
  sent as Discord does, its id as the value and the attachment object in ``data.resolved.attachments``
  (the client downloads it from ``url``, a server the test owns). Multipart bodies (``payload_json``
  plus ``files[n]``) attach files to interaction responses, followups and their edits: each
  ``files[n]`` needs an ``attachments`` entry with id ``n`` in ``payload_json`` when that lists any;
  an edit's ``attachments`` says which existing ones stay. The message's attachment objects carry a
  URL the fake serves (``/attachments/{channel}/{id}/{filename}``, like Discord's CDN).
* Outages: :meth:`FakeDiscord.drop_gateway` closes every websocket and holds each IDENTIFY and RESUME
  (heartbeats are still answered) until :meth:`FakeDiscord.restore_gateway`, when the client resumes.
* Sharding: ``GET /gateway/bot`` recommends ``shards``; an IDENTIFY with ``shard: [id, count]``
  gets a READY listing only the guilds with ``(guild_id >> 22) % count == id``, and each guild's
  events go to the latest session of its shard (DMs to shard 0), as on Discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import re
import secrets
import subprocess
import tempfile
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway"
RESUME_GATEWAY_PATH = "/gateway-resume"
# What GET /gateway/bot advertises: a distinct path, so tests can tell a client that ignored its
# configured gateway (DISCORD_GATEWAY_URL) and followed Discord's answer.
ADVERTISED_GATEWAY_PATH = "/gateway-advertised"
DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags)
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
MANAGE_MESSAGES = 1 << 13
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
)
DEFAULT_BOT_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS
)
DM_APP_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS
)

EPHEMERAL = 1 << 6
# Discord's OpenAPI enums: InteractionContextType (guild, bot DM, private channel), ApplicationIntegrationType.
INTERACTION_CONTEXTS = frozenset({0, 1, 2})
INTEGRATION_TYPES = frozenset({0, 1})
LOADING = 1 << 7
CROSSPOSTED = 1 << 0
HAS_THREAD = 1 << 5
REQUIRE_TAG = 1 << 4  # a forum channel's flag
TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL, FORUM_CHANNEL, MEDIA_CHANNEL = 0, 5, 15, 16
ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD = 10, 11, 12
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
CROSSPOSTS_PER_HOUR = 10
NONCE_WINDOW_SECONDS = 300.0
MAX_CONTENT_LENGTH = 2000
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024  # what an interaction's ``attachment_size_limit`` says
MAX_NONCE_LENGTH = 25

ERROR_MESSAGES: dict[int, str] = {
    10002: "Unknown Application",
    10003: "Unknown Channel",
    10004: "Unknown Guild",
    10007: "Unknown Member",
    10008: "Unknown Message",
    10013: "Unknown User",
    10015: "Unknown Webhook",
    10062: "Unknown interaction",
    10063: "Unknown application command",
    40060: "Interaction has already been acknowledged.",
    50001: "Missing Access",
    50006: "Cannot send an empty message",
    50007: "Cannot send messages to this user",
    50013: "Missing Permissions",
    50027: "Invalid Webhook Token",
    50024: "Cannot execute action on this channel type",
    50035: "Invalid Form Body",
    40033: "This message has already been crossposted.",
    40067: "A tag is required to create a forum post in this channel",
    160004: "A thread has already been created for this message",
    220001: "Webhooks posted to forum channels must have a thread_name or thread_id",
    220002: "Webhooks posted to forum channels cannot have both a thread_name and thread_id",
    220003: "Webhooks can only create threads in forum channels",
}
_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Application command option types.
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN = 1, 2, 3, 4, 5
USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 6, 7, 8, 9, 10, 11
_COMMAND_NAME_RE = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


class _Snowflakes:
    """Real-shaped, strictly increasing snowflakes: ``ms since 2015 << 22 | worker << 17 | n``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._increment = 0

    def __call__(self) -> int:
        with self._lock:
            ms = max(int(time.time() * 1000), self._last_ms)
            if ms == self._last_ms:
                self._increment += 1
                if self._increment > 0xFFF:
                    ms += 1
                    self._increment = 0
            else:
                self._increment = 0
            self._last_ms = ms
            return ((ms - DISCORD_EPOCH_MS) << 22) | (1 << 17) | self._increment


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json`` (no charset)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)


def _error_body(status: int, code: int, message: str | None = None) -> dict[str, Any]:
    default = f"{status}: {_STATUS_TEXT.get(status, 'Error')}"
    return {"message": message or ERROR_MESSAGES.get(code, default), "code": code}


def _rate_limit_response(retry_after: float, *, is_global: bool, body: Any = None) -> web.Response:
    """A 429 the way Discord (behind Cloudflare/Google, hence ``Via``) sends it."""
    headers = {
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Scope": "global" if is_global else "user",
        "Via": "1.1 google",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    else:
        headers |= {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "f4ked1sc0rdbucket",
        }
    if body is None:
        # `code` 0: Discord's OpenAPI description requires it in RatelimitedResponse.
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global, "code": 0}
    return _json_response(body, 429, headers)


class _ApiError(Exception):
    """Raised by route handlers; becomes a Discord-style JSON error response."""

    def __init__(self, status: int, code: int, message: str | None = None, errors: Any = None) -> None:
        super().__init__(message or ERROR_MESSAGES.get(code, str(code)))
        self.status = status
        self.body = _error_body(status, code, message)
        if errors is not None:
            self.body["errors"] = errors


def _form_error(path: Sequence[str | int], code: str, message: str) -> _ApiError:
    """A 400 / 50035 Invalid Form Body with Discord's nested ``errors`` shape."""
    node: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        node = {str(key): node}
    return _ApiError(400, 50035, errors=node)


# Discord's embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits) and
# its OpenAPI description's RichEmbed: texts by field path, URLs of at most 2,048 characters.
EMBED_TEXT_LIMITS = {("title",): 256, ("description",): 4096, ("footer", "text"): 2048, ("author", "name"): 256}
EMBED_FIELD_LIMITS = {"name": 256, "value": 1024}
EMBED_URLS = (("url",), ("image", "url"), ("thumbnail", "url"), ("author", "url"), ("author", "icon_url"),
              ("footer", "icon_url"))
EMBED_URL_MAX = 2048
EMBED_TOTAL_MAX = 6000
EMBEDS_PER_MESSAGE = 10
_EMBED_URL_RE = re.compile(r"^(?:https?://[^\s/?#@]+[^\s]*|attachment://[^\s]+)$")


def _validate_embeds(embeds: Any) -> None:
    """A message's ``embeds`` as Discord checks them: a 400 / 50035 naming the first field over a limit."""
    if embeds is None:
        return
    if not isinstance(embeds, list):
        raise _form_error(("embeds",), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.")
    if len(embeds) > EMBEDS_PER_MESSAGE:
        raise _form_error(("embeds",), "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_PER_MESSAGE} or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            raise _form_error(("embeds", index), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType.")
        for path, limit in EMBED_TEXT_LIMITS.items():
            text = _embed_value(embed, path)
            if text is not None and (not isinstance(text, str) or len(text) > limit):
                raise _form_error(("embeds", index, *path), "BASE_TYPE_MAX_LENGTH",
                                  f"Must be {limit} or fewer in length.")
            total += len(text or "")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise _form_error(("embeds", index, "fields"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for number, item in enumerate(fields):
            for key, limit in EMBED_FIELD_LIMITS.items():
                if len(str(item.get(key, ""))) > limit:
                    raise _form_error(("embeds", index, "fields", number, key), "BASE_TYPE_MAX_LENGTH",
                                      f"Must be {limit} or fewer in length.")
                total += len(str(item.get(key, "")))
        for path in EMBED_URLS:
            url = _embed_value(embed, path)
            if url is None:
                continue
            if not isinstance(url, str) or len(url) > EMBED_URL_MAX:
                raise _form_error(("embeds", index, *path), "BASE_TYPE_MAX_LENGTH",
                                  f"Must be {EMBED_URL_MAX} or fewer in length.")
            if not _EMBED_URL_RE.match(url):
                scheme = url.split(":", 1)[0] if ":" in url else ""
                if scheme and scheme.isalpha() and scheme.lower() not in ("http", "https", "attachment"):
                    raise _form_error(("embeds", index, *path), "URL_TYPE_INVALID_SCHEME",
                                      f'Scheme "{scheme}" is not supported. Scheme must be one of (\'http\', '
                                      "'https').")
                raise _form_error(("embeds", index, *path), "URL_TYPE_INVALID_URL", "Not a well formed URL.")
        stamp = embed.get("timestamp")
        if stamp is not None:
            try:
                datetime.fromisoformat(str(stamp))
            except ValueError:
                raise _form_error(("embeds", index, "timestamp"), "DATE_TYPE_PARSE",
                                  f"Could not parse {stamp}. Should be ISO8601.") from None
    if total > EMBED_TOTAL_MAX:
        raise _form_error(("embeds",), "MESSAGE_EMBED_TOTAL_SIZE",
                          f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}")


def _embed_value(embed: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at `path` of an embed (None when any step is missing)."""
    value: Any = embed
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _embed_response(embed: Mapping[str, Any]) -> dict[str, Any]:
    """An embed as Discord answers it (MessageEmbedResponse): typed, its image proxied."""
    shown = {"type": "rich", **json.loads(json.dumps(embed))}
    for key in ("image", "thumbnail"):
        if isinstance(shown.get(key), dict) and shown[key].get("url"):
            shown[key] |= {"proxy_url": "https://media.discordapp.net/external/fake/" + key, "width": 800,
                           "height": 450, "content_type": "image/jpeg"}
    return shown


# --------------------------------------------------------------------------------------------
# Public records
# --------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One REST request the fake received (``path`` is relative to the API base)."""

    time: float  # time.monotonic() on arrival
    wall_time: float  # time.time() on arrival
    method: str
    path: str  # e.g. "/channels/123/messages" (no /api/v10 prefix, no query)
    query: dict[str, str]
    json: Any  # parsed JSON body, ``payload_json`` of a multipart body, or None
    files: tuple[str, ...] = ()  # file names of a multipart body
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # multipart field -> (file name, bytes)
    status: int = 0  # status the fake answered with (0 while in flight)
    injected: bool = False  # answered by an injected fault or the enforced global rate limit
    response_json: Any = None  # the fake's JSON answer (None for an empty one)


@dataclass
class Injection:
    """A fault registered with :meth:`FakeDiscord.inject`; ``hits`` counts answered requests."""

    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    times: int | None
    retry_after: float
    is_global: bool
    headers: dict[str, str]
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        """True once the injection answered ``times`` requests."""
        return self.times is not None and self.hits >= self.times


@dataclass(frozen=True)
class FakeGuild:
    """What :meth:`FakeDiscord.add_guild` created; ids are ints."""

    id: int
    name: str
    owner_id: int
    channel_ids: dict[str, int]
    role_ids: dict[str, int]
    member_ids: tuple[int, ...]

    def channel(self, name: str) -> int:
        """The id of the channel called ``name``."""
        return self.channel_ids[name]

    def role(self, name: str) -> int:
        """The id of the role called ``name``."""
        return self.role_ids[name]


@dataclass
class GatewayConnection:
    """One websocket connection to the fake gateway (``ops`` are the opcodes the client sent)."""

    path: str
    query: dict[str, str]
    compression: str | None = None  # transport compression the fake applied ("zlib-stream" or None)
    ops: list[int] = field(default_factory=list)
    identify: dict[str, Any] | None = None  # IDENTIFY ``d`` without the token
    resumed: bool = False
    closed: bool = False
    shard: tuple[int, int] | None = None  # (shard id, shard count) of the session identified here
    guild_ids: list[int] = field(default_factory=list)  # the guilds its READY announced
    events: list[tuple[str, int | None]] = field(default_factory=list)  # (event, guild id) dispatched here


@dataclass(frozen=True)
class InteractionResult:
    """Snapshot of everything the client did with one interaction.

    ``content``/``embeds``/``flags``/``allowed_mentions`` describe the *original* response message
    with all edits applied (after a defer, the first followup becomes the original, as on Discord).
    """

    interaction_id: int
    token: str
    payload: dict[str, Any]  # the INTERACTION_CREATE ``d`` that was dispatched
    type: int | None  # initial callback type: 4 reply, 5 defer, 6/7 update, 8 autocomplete, 9 modal
    content: str | None
    embeds: list[dict[str, Any]]
    flags: int
    allowed_mentions: dict[str, Any] | None
    original: dict[str, Any] | None  # the original response as a Discord message object
    choices: list[dict[str, Any]] | None  # autocomplete result
    callbacks: list[dict[str, Any]]  # raw callback bodies
    followups: list[dict[str, Any]]  # raw followup (POST /webhooks/{app}/{token}) bodies
    edits: list[dict[str, Any]]  # raw PATCH bodies for @original or followup messages
    errors: list[dict[str, Any]]  # {"method", "path", "status", "body"} of failed requests
    completed_by: str | None = None  # how a deferred response was filled: "edit" (PATCH @original) or "followup"
    followup_messages: list[dict[str, Any]] = field(default_factory=list)  # separate followups, as message objects

    @property
    def attachments(self) -> list[dict[str, Any]]:
        """The attachment objects (``url`` served by the fake) of the original response and every followup."""
        original = list((self.original or {}).get("attachments") or [])
        return original + [a for f in self.followup_messages for a in f.get("attachments") or []]

    @property
    def ephemeral(self) -> bool:
        """Whether the original response is ephemeral (flags & 64)."""
        return bool(self.flags & EPHEMERAL)

    @property
    def deferred(self) -> bool:
        """Whether the initial response was a defer (type 5)."""
        return self.type == 5

    @property
    def texts(self) -> list[str]:
        """Content of the original response followed by every separate followup message."""
        out = [self.content] if self.content else []
        followups = self.followups[1:] if self.completed_by == "followup" else self.followups
        return out + [f["content"] for f in followups if f.get("content")]


# --------------------------------------------------------------------------------------------
# Internal state
# --------------------------------------------------------------------------------------------


@dataclass
class _Guild:
    id: int
    name: str
    owner_id: int
    joined_at: str
    roles: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    members: dict[int, dict[str, Any]]


@dataclass
class _StoredMessage:
    record: dict[str, Any]  # what channel_messages() returns
    message: dict[str, Any]  # the Discord message object


@dataclass
class _Interaction:
    id: int
    token: str
    payload: dict[str, Any]
    created: float
    last_activity: float
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    original: dict[str, Any] | None = None
    original_allowed_mentions: dict[str, Any] | None = None
    loading: bool = False
    choices: list[dict[str, Any]] | None = None
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    completed_by: str | None = None

    @property
    def response_type(self) -> int | None:
        return self.callbacks[0].get("type") if self.callbacks else None


@dataclass
class _Connection:
    ws: web.WebSocketResponse
    info: GatewayConnection
    compressor: Any  # zlib compressobj for zlib-stream, else None
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _Session:
    id: str
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    conn: _Connection | None = None
    ready: bool = False
    shard: tuple[int, int] = (0, 1)  # (shard id, shard count)
    used: int = 0  # when it last identified or resumed (higher is later)

    def holds(self, guild_id: int | None) -> bool:
        """Whether this session's shard gets the events of ``guild_id`` (DMs go to shard 0)."""
        shard_id, count = self.shard
        return (0 if guild_id is None else (guild_id >> 22) % count) == shard_id


@dataclass
class _Req:
    method: str
    path: str
    groups: tuple[str, ...]
    query: Mapping[str, str]
    json: Any
    files: tuple[str, ...]
    uploads: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)


_Handler = Callable[[_Req], Any]


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


class FakeDiscord:
    """Fake Discord REST API v10 + gateway on 127.0.0.1, driven from tests (see module docstring).

    All public methods are synchronous and thread-safe. Ids are ints in the harness API and
    strings in JSON, as on Discord.
    """

    def __init__(
        self,
        *,
        bot_name: str = "Briefbot",
        heartbeat_interval_ms: int = 41_250,
        interaction_deadline: float = 3.0,
        transport_compression: bool = True,
        shards: int = 1,
    ) -> None:
        self._snowflake = _Snowflakes()
        self.application_id: int = self._snowflake()
        self.bot_user_id: int = self.application_id  # bot user id == application id for new apps
        self.bot_name = bot_name
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self.transport_compression = transport_compression
        self.recommended_shards = shards  # what GET /gateway/bot answers as "shards"
        self._session_uses = itertools.count(1)

        self._cond = threading.Condition(threading.RLock())
        self._users: dict[int, dict[str, Any]] = {}
        self._guilds: dict[int, _Guild] = {}
        self._channels: dict[int, dict[str, Any]] = {}
        self._channel_guild: dict[int, int | None] = {}
        self._dm_by_user: dict[int, int] = {}
        self._dms_closed: set[int] = set()
        self._messages: dict[int, list[_StoredMessage]] = {}
        self._nonces: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}
        self._commands: dict[int | None, list[dict[str, Any]]] = {}
        self._command_syncs: dict[int | None, int] = {}
        self._interactions: dict[int, _Interaction] = {}
        self._interactions_by_token: dict[str, _Interaction] = {}
        self._injections: list[Injection] = []
        self._channel_webhooks: dict[int, tuple[str, int]] = {}  # webhook id -> (token, channel id)
        self._attachments: dict[str, tuple[str, bytes]] = {}  # CDN path -> (content type, bytes)
        self._crossposts: dict[int, deque[float]] = {}  # channel id -> times of its crossposts in the last hour
        self.crossposts_per_hour = CROSSPOSTS_PER_HOUR
        self._delays: list[tuple[str | None, re.Pattern[str] | None, float]] = []
        self._global_limit: int | None = None
        self._global_window: deque[float] = deque()
        self._sessions: dict[str, _Session] = {}
        self._session: _Session | None = None
        self._watched: list[ClientProcess] = []
        self._gateway_down = False
        self._held: list[tuple[_Connection, int, dict[str, Any]]] = []  # IDENTIFY/RESUME while down

        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[str] = []
        self.deprecated_fields: list[str] = []  # deprecated fields a command sync sent, e.g. "stories.dm_permission"
        self.gateway_connections: list[GatewayConnection] = []
        self.presence_updates: list[dict[str, Any]] = []

        self._users[self.bot_user_id] = self._make_user(self.bot_user_id, bot_name, bot=True)
        self._routes = self._build_routes()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeDiscord:
        """Start serving on a free 127.0.0.1 port (in a background thread); returns self."""
        if self._thread is not None:
            raise RuntimeError("FakeDiscord already started")
        loop = asyncio.new_event_loop()
        started = threading.Event()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._serve, args=(loop, started), name="fake-discord", daemon=True
        )
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("fake Discord did not start")
        if not self._port:
            raise RuntimeError("fake Discord failed to bind a port")
        return self

    def stop(self) -> None:
        """Close all websockets, stop the server and join the thread. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._setup_server())
        except Exception:
            log.exception("fake Discord failed to start")
        finally:
            started.set()
        if self._port:
            loop.run_forever()
        loop.close()

    async def _setup_server(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get(GATEWAY_PATH, self._gateway_handler)
        app.router.add_get(RESUME_GATEWAY_PATH, self._gateway_handler)
        app.router.add_get(ADVERTISED_GATEWAY_PATH, self._gateway_handler)
        app.router.add_route("*", "/{tail:.*}", self._rest_handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        # aiohttp exposes the bound (ephemeral) port only through the server's sockets.
        sockets = getattr(site._server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        for session in list(self._sessions.values()):
            if session.conn is not None:
                await session.conn.ws.close(code=1001)
        for conn, _, _ in self._held:
            await conn.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    # ---------------------------------------------------------------- addresses

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        """REST base for ``configure_endpoints(api_base=...)``, e.g. ``http://127.0.0.1:PORT/api/v10``."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """Gateway URL for ``configure_endpoints(gateway_url=...)``."""
        return f"ws://127.0.0.1:{self._port}{GATEWAY_PATH}"

    @property
    def resume_gateway_url(self) -> str:
        """What READY announces as ``resume_gateway_url`` (a distinct path, so tests can tell)."""
        return f"ws://127.0.0.1:{self._port}{RESUME_GATEWAY_PATH}"

    def env(self, token: str | None = None) -> dict[str, str]:
        """Environment for a client subprocess: the two URL settings (+ ``DISCORD_TOKEN`` if given)."""
        out = {"DISCORD_API_BASE": self.api_base, "DISCORD_GATEWAY_URL": self.gateway_url}
        if token is not None:
            out["DISCORD_TOKEN"] = token
        return out

    # ---------------------------------------------------------------- world setup

    def add_user(self, user_id: int | None = None, username: str | None = None, *, bot: bool = False) -> int:
        """Register a user (for DMs, user options, invokers); returns its id."""
        uid = user_id or self._snowflake()
        with self._cond:
            self._users[uid] = self._make_user(uid, username or f"user{uid % 100_000}", bot=bot)
        return uid

    def add_guild(
        self,
        guild_id: int | None = None,
        *,
        name: str = "Test Guild",
        channels: Sequence[str | int | Mapping[str, Any]] = ("general",),
        roles: Sequence[str | int | Mapping[str, Any]] = (),
        members: Sequence[int | Mapping[str, Any]] = (),
        owner_id: int | None = None,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
    ) -> FakeGuild:
        """Create a guild the bot is in; dispatches GUILD_CREATE if a client is already connected.

        ``channels``: names (text channels), ids, or dicts ``{"name", "id"?, "type"? (0 text, 2
        voice, 4 category, 5 announcement, 15 forum, 16 media), "topic"?, "parent_id"?,
        "permission_overwrites"?: [{"id", "type" (0 role, 1 member), "allow": int, "deny": int}],
        "tags"? (forum/media: names or ``{"name", "moderated"?}``), "require_tag"? (forum/media)}``.
        ``roles``: names, ids, or dicts ``{"name", "id"?, "permissions": int, "mentionable"?: bool}``; the guild also
        gets ``@everyone`` (id == guild id, ``everyone_permissions``) and a managed bot role with
        ``bot_permissions``. ``members``: user ids or dicts ``{"id", "username"?, "roles": [names
        or ids], "nick"?}``; the owner (default: first member, else a new user) and the bot are
        always members.
        """
        gid = guild_id or self._snowflake()
        joined_at = _iso_now()
        role_objs = [self._make_role(gid, "@everyone", everyone_permissions, position=0)]
        bot_role = self._make_role(self._snowflake(), self.bot_name, bot_permissions, position=1)
        bot_role |= {"managed": True, "tags": {"bot_id": str(self.bot_user_id)}}
        role_objs.append(bot_role)
        for pos, spec in enumerate(roles, start=2):
            if isinstance(spec, Mapping):
                rid = int(spec.get("id") or self._snowflake())
                role = self._make_role(rid, spec["name"], int(spec.get("permissions", 0)), position=pos)
                role_objs.append(role | {"mentionable": bool(spec.get("mentionable", False))})
            elif isinstance(spec, int):
                role_objs.append(self._make_role(spec, f"role-{spec}", 0, position=pos))
            else:
                role_objs.append(self._make_role(self._snowflake(), spec, 0, position=pos))
        role_by_name = {r["name"]: int(r["id"]) for r in role_objs}

        channel_objs = [self._make_channel(spec, pos) for pos, spec in enumerate(channels)]

        member_specs: list[Mapping[str, Any]] = [
            {"id": spec} if isinstance(spec, int) else spec for spec in members
        ]
        with self._cond:
            if owner_id is None:
                owner_id = int(member_specs[0]["id"]) if member_specs else self.add_user(username="owner")
            if all(int(m["id"]) != owner_id for m in member_specs):
                member_specs.insert(0, {"id": owner_id})
            member_objs: dict[int, dict[str, Any]] = {}
            for spec in member_specs:
                uid = int(spec["id"])
                if uid not in self._users or spec.get("username"):
                    self._users[uid] = self._make_user(uid, spec.get("username") or f"user{uid % 100_000}")
                role_ids = [r if isinstance(r, int) else role_by_name[r] for r in spec.get("roles", ())]
                member_objs[uid] = self._make_member(uid, role_ids, joined_at, nick=spec.get("nick"))
            member_objs[self.bot_user_id] = self._make_member(
                self.bot_user_id, [int(bot_role["id"])], joined_at
            )
            guild = _Guild(gid, name, owner_id, joined_at, role_objs, channel_objs, member_objs)
            self._guilds[gid] = guild
            for ch in channel_objs:
                self._channels[int(ch["id"])] = ch
                self._channel_guild[int(ch["id"])] = gid
            session = self._session_for(gid)
            connected = session is not None and session.ready
        if connected:
            # A guild joined after READY: no "unavailable" key, so discord.py fires on_guild_join.
            payload = self._guild_create_payload(guild)
            del payload["unavailable"]
            self._run(self._dispatch("GUILD_CREATE", payload, session))
        return FakeGuild(
            id=gid,
            name=name,
            owner_id=owner_id,
            channel_ids={c["name"]: int(c["id"]) for c in channel_objs},
            role_ids=role_by_name,
            member_ids=tuple(member_objs),
        )

    def remove_channel(self, channel_id: int) -> None:
        """Delete a guild channel (later sends get 404 10003) and dispatch CHANNEL_DELETE."""
        with self._cond:
            channel = self._channels.pop(channel_id)
            gid = self._channel_guild.pop(channel_id)
            if gid is None:
                raise ValueError("remove_channel() is for guild channels")
            guild = self._guilds[gid]
            guild.channels = [c for c in guild.channels if int(c["id"]) != channel_id]
            connected = self._session is not None and self._session.ready
        if connected:
            self._run(self._dispatch("CHANNEL_DELETE", {**channel, "guild_id": str(gid)}))

    def add_webhook(self, channel_id: int) -> str:
        """Create an incoming webhook for a channel; returns its URL (messages land in the channel)."""
        webhook_id, token = self._snowflake(), secrets.token_urlsafe(51)  # 68 characters, as on Discord
        with self._cond:
            self._channel_webhooks[webhook_id] = (token, channel_id)
        return f"https://discord.com/api/webhooks/{webhook_id}/{token}"

    def set_dms_closed(self, user_id: int, closed: bool = True) -> None:
        """Make DMs to ``user_id`` fail with 403 / 50007 (user blocked the bot or closed DMs)."""
        with self._cond:
            if closed:
                self._dms_closed.add(user_id)
            else:
                self._dms_closed.discard(user_id)

    # ---------------------------------------------------------------- faults and pacing

    def inject(
        self,
        method: str,
        path_regex: str,
        status: int,
        json_body: Any = None,
        *,
        code: int = 0,
        times: int | None = 1,
        retry_after: float = 1.0,
        is_global: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Injection:
        """Answer the next ``times`` matching requests (None: all) with ``status`` instead of the route.

        ``method`` is an HTTP method or ``"*"``; ``path_regex`` is searched (``re.search``) in the
        path relative to the API base, e.g. ``r"^/channels/\\d+/messages$"``. The default body is
        Discord's: for 429 ``{"message", "retry_after", "global"}`` with rate-limit headers (incl.
        ``Via``, without which discord.py does not retry); otherwise ``{"message", "code"}`` with
        Discord's message for ``code`` (e.g. 403 + 50001/50013/50007, 404 + 10003).
        """
        injection = Injection(
            method=method.upper(),
            pattern=re.compile(path_regex),
            status=status,
            body=json_body,
            times=times,
            retry_after=retry_after,
            is_global=is_global,
            headers=dict(headers or {}),
        )
        if injection.body is None and status != 429:
            injection.body = _error_body(status, code)
        with self._cond:
            self._injections.append(injection)
        return injection

    def clear_injections(self) -> None:
        """Remove all injected faults."""
        with self._cond:
            self._injections.clear()

    def set_request_delay(
        self, seconds: float, *, method: str | None = None, path_regex: str | None = None
    ) -> None:
        """Delay answering matching requests by ``seconds`` (0 removes all delays)."""
        with self._cond:
            if seconds <= 0:
                self._delays.clear()
            else:
                pattern = re.compile(path_regex) if path_regex else None
                self._delays.append((method.upper() if method else None, pattern, seconds))

    def set_global_rate_limit(self, per_second: int | None) -> None:
        """Enforce a global limit of ``per_second`` requests per sliding second (None: off).

        Requests beyond it get a real global 429. Interaction callbacks and interaction webhooks
        (followups, edits) are exempt, as on Discord.
        """
        with self._cond:
            self._global_limit = per_second
            self._global_window.clear()

    # ---------------------------------------------------------------- inspection

    def requests_matching(self, method: str, path_regex: str) -> list[RecordedRequest]:
        """Recorded requests with this method (or ``"*"``) whose path matches ``path_regex``."""
        pattern = re.compile(path_regex)
        with self._cond:
            return [r for r in self.requests if method in ("*", r.method) and pattern.search(r.path)]

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Messages created in a channel, oldest first: the request body plus ``id``/``channel_id``.

        Keys include ``content``, ``allowed_mentions``, ``nonce``, ``enforce_nonce``, ``flags``,
        ``embeds`` (whatever the client sent); ``attachments`` lists uploaded file names. Edits
        update the record (``edited``: True); deletes set ``deleted``: True.
        """
        with self._cond:
            return [json.loads(json.dumps(m.record)) for m in self._messages.get(channel_id, [])]

    def threads(self, parent_id: int) -> list[dict[str, Any]]:
        """The threads and forum posts of a channel, oldest first, as Discord describes them (archived ones too)."""
        with self._cond:
            return [json.loads(json.dumps(c)) for c in self._channels.values()
                    if c["type"] in (ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)
                    and c["parent_id"] == str(parent_id)]

    def add_thread(self, parent_id: int, name: str) -> int:
        """Open a public thread in a channel (as a member would); returns its id."""
        with self._cond:
            guild = self._guilds[self._channel_guild[parent_id]]
            parent = self._channels[parent_id]
            tid = self._snowflake()
            self._make_thread(tid, parent, guild, {"name": name}, ttype=PUBLIC_THREAD, owner_id=guild.owner_id)
            return tid

    def tag_id(self, channel_id: int, name: str) -> int:
        """The id of the forum tag called ``name``."""
        with self._cond:
            return next(int(t["id"]) for t in self._channels[channel_id]["available_tags"] if t["name"] == name)

    def archive_thread(self, thread_id: int) -> None:
        """Archive a thread, as Discord does after its auto-archive duration without messages."""
        with self._cond:
            metadata = self._channels[thread_id]["thread_metadata"]
            metadata["archived"], metadata["archive_timestamp"] = True, _iso_now()

    def dm_channel_id(self, user_id: int) -> int | None:
        """The DM channel the bot opened with ``user_id`` (None if it never did)."""
        with self._cond:
            return self._dm_by_user.get(user_id)

    def dm_messages(self, user_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to ``user_id`` by DM (see :meth:`channel_messages`)."""
        channel_id = self.dm_channel_id(user_id)
        return [] if channel_id is None else self.channel_messages(channel_id)

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Currently synced commands (as Discord returns them) for a guild, or global if None."""
        with self._cond:
            return json.loads(json.dumps(self._commands.get(guild_id, [])))

    # ---------------------------------------------------------------- waiting

    def watch(self, process: ClientProcess) -> None:
        """Make every wait fail fast, with the process output, if ``process`` exits."""
        self._watched.append(process)

    def unwatch(self, process: ClientProcess) -> None:
        """Stop watching ``process`` (before stopping or killing it on purpose)."""
        with self._cond:
            self._watched = [watched for watched in self._watched if watched is not process]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "a condition") -> Any:
        """Wait until ``predicate()`` is truthy and return its value.

        The predicate runs with the fake's lock held, so it may read fake state (``requests``,
        ``gateway_connections``, :meth:`channel_messages`...) consistently. Raises TimeoutError
        (with recent requests) after ``timeout`` seconds, or RuntimeError as soon as a process
        registered with :meth:`watch` exits.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                for proc in self._watched:
                    if proc.returncode is not None:
                        raise RuntimeError(
                            f"client process exited ({proc.returncode}) while waiting for {what}:\n"
                            f"{proc.output()[-4000:]}"
                        )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"timed out after {timeout}s waiting for {what}; {self._diagnostics()}"
                    )
                self._cond.wait(min(remaining, 0.2))

    def _diagnostics(self) -> str:
        recent = [f"{r.method} {r.path} -> {r.status}" for r in self.requests[-8:]]
        return f"recent requests: {recent}; unknown routes: {self.unknown_routes[-5:]}"

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Wait until a client identified (or resumed) and got READY plus every GUILD_CREATE."""
        self.wait_for(lambda: self._session is not None and self._session.ready, timeout, "gateway READY")

    def wait_until_shards_ready(self, shard_ids: Sequence[int], count: int, timeout: float = 30.0) -> None:
        """Wait until each of ``shard_ids`` (of ``count`` shards) has a READY session."""

        def ready() -> bool:
            live = {s.shard for s in self._sessions.values() if s.ready}
            return all((shard_id, count) in live for shard_id in shard_ids)

        self.wait_for(ready, timeout, f"shards {list(shard_ids)} of {count} READY")

    def wait_for_commands(self, timeout: float = 30.0, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Wait until the client synced commands for the scope (global if ``guild_id`` is None)."""
        self.wait_for(lambda: self._command_syncs.get(guild_id, 0) > 0, timeout, f"command sync ({guild_id})")
        return self.commands(guild_id)

    def wait_for_request(
        self, method: str, path_regex: str, *, count: int = 1, timeout: float = 10.0
    ) -> list[RecordedRequest]:
        """Wait until at least ``count`` matching requests were answered; returns all matches."""

        def done() -> list[RecordedRequest] | None:
            matches = [r for r in self.requests_matching(method, path_regex) if r.status]
            return matches if len(matches) >= count else None

        return self.wait_for(done, timeout, f"{count}x {method} {path_regex}")

    def wait_for_messages(
        self, channel_id: int, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until ``channel_id`` has at least ``count`` messages; returns them."""
        self.wait_for(lambda: len(self._messages.get(channel_id, [])) >= count, timeout, f"{count} messages")
        return self.channel_messages(channel_id)

    # ---------------------------------------------------------------- gateway control

    def dispatch(self, event: str, data: dict[str, Any], timeout: float = 5.0) -> int:
        """Send a raw DISPATCH (op 0) event to the connected client; returns its sequence number."""
        return self._run(self._dispatch(event, data), timeout)

    def disconnect(self, code: int = 4000, timeout: float = 5.0) -> None:
        """Close the client's websocket with ``code``; discord.py reconnects and RESUMEs (4000).

        The session stops being ready at once, so a following :meth:`wait_until_ready` waits for
        the reconnect.
        """
        conn = self._unready_connection()
        if conn is not None:
            self._run(conn.ws.close(code=code), timeout)

    def drop_gateway(self, code: int = 4000, timeout: float = 5.0) -> None:
        """An outage: close every client websocket with ``code`` and answer no IDENTIFY or RESUME until restored.

        discord.py reconnects at once and sends RESUME (after 4000) on a new websocket; the fake
        accepts it and answers heartbeats, but holds the RESUME, so no shard is connected again
        until :meth:`restore_gateway`. Sessions and their events are kept for the resume.
        """
        with self._cond:
            self._gateway_down = True
            conns = [session.conn for session in self._sessions.values() if session.conn is not None]
            for session in self._sessions.values():
                session.ready = False
        for conn in conns:
            self._run(conn.ws.close(code=code), timeout)

    def restore_gateway(self, timeout: float = 5.0) -> None:
        """End the outage of :meth:`drop_gateway`: answer the held IDENTIFYs and RESUMEs, and those to come."""
        with self._cond:
            self._gateway_down = False
            held, self._held = self._held, []
        for conn, op, data in held:
            if not conn.ws.closed:
                self._run(self._identify(conn, data) if op == 2 else self._resume(conn, data), timeout)

    def invalidate_session(self, resumable: bool = False, timeout: float = 5.0) -> None:
        """Send INVALID_SESSION (op 9); discord.py then waits 5 s and IDENTIFYs on DEFAULT_GATEWAY."""
        conn = self._unready_connection()
        if conn is not None:
            self._run(self._send(conn, {"op": 9, "d": resumable, "s": None, "t": None}), timeout)

    def _unready_connection(self) -> _Connection | None:
        with self._cond:
            session = self._require_session()
            session.ready = False
            return session.conn

    # ---------------------------------------------------------------- interactions

    def invoke(
        self,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,
        settle: float = 0.2,
        context: int | None = None,
        user_install: bool = False,
    ) -> InteractionResult:
        """Run a slash command as a user and return what the client answered.

        ``command`` is the path, e.g. ``"briefing setup"``; ``options`` maps option names to values
        (channel/role options take ids or names, user options take ids). The payload is built from
        the *synced* definition, so unknown options, missing required options, wrong types, or
        values Discord's UI would not allow (choices, ranges, lengths, channel types) raise.
        ``guild_id=None`` invokes in the bot's DM with the user (global commands only). Defaults:
        user = guild owner (or a fresh user in DMs), channel = first text channel, member
        permissions computed from roles and overwrites unless ``permissions`` is given.

        ``context`` is where the command is used (0 guild, 1 the bot's DM, 2 a DM or group DM between
        users, where only a user install reaches): by default 0 with a guild, else 1. With
        ``user_install`` the user's install of the app authorizes it (``authorizing_integration_owners``
        ``{"1": user}``); in a guild it then stands alone, as in a server that did not install the
        app. Context 2 always is a user install. A command whose synced ``contexts`` or
        ``integration_types`` exclude the invocation raises, as Discord's client would not offer it.

        Waits until the initial response arrived (or was rejected, e.g. 10062 after the deadline:
        then ``type`` is None and ``errors`` says why) and, after a defer, until the deferred
        message was completed (edit or followup), then until nothing happened for ``settle`` s.
        """
        interaction = self._create_interaction(
            2, command, options or {}, None, user_id, guild_id, channel_id, permissions, locale,
            context=context, user_install=user_install,
        )
        self._run(self._dispatch("INTERACTION_CREATE", interaction.payload), timeout)

        def done() -> bool:
            if not interaction.callbacks and not interaction.errors:
                return False
            if interaction.response_type == 5 and interaction.loading:
                return False
            return time.monotonic() - interaction.last_activity >= settle

        try:
            self.wait_for(done, timeout, f"the response to /{command}")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; interaction so far: {self._describe(interaction)}") from None
        return self._snapshot(interaction)

    def autocomplete(
        self,
        command: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        """Send an AUTOCOMPLETE interaction while the user types ``options[focused]``; returns choices.

        The focused value is sent as the raw typed string, as Discord does.
        """
        interaction = self._create_interaction(
            4, command, options, focused, user_id, guild_id, channel_id, permissions, locale
        )
        self._run(self._dispatch("INTERACTION_CREATE", interaction.payload), timeout)
        self.wait_for(
            lambda: interaction.callbacks or interaction.errors, timeout, f"autocomplete for /{command}"
        )
        if interaction.response_type != 8 or interaction.choices is None:
            raise AssertionError(f"expected an autocomplete result (type 8): {self._describe(interaction)}")
        return [dict(c) for c in interaction.choices]

    def interaction(self, interaction_id: int) -> InteractionResult:
        """Current snapshot of an interaction (e.g. to see late followups)."""
        with self._cond:
            return self._snapshot(self._interactions[interaction_id])

    def _describe(self, interaction: _Interaction) -> str:
        return (
            f"callbacks={interaction.callbacks} followups={interaction.followups} "
            f"edits={interaction.edits} errors={interaction.errors}"
        )

    def _snapshot(self, interaction: _Interaction) -> InteractionResult:
        with self._cond:
            original = interaction.original
            data = json.loads(json.dumps(interaction.__dict__, default=str))
            return InteractionResult(
                interaction_id=interaction.id,
                token=interaction.token,
                payload=data["payload"],
                type=interaction.response_type,
                content=original["content"] if original else None,
                embeds=data["original"]["embeds"] if original else [],
                flags=original["flags"] if original else 0,
                allowed_mentions=data["original_allowed_mentions"],
                original=data["original"],
                choices=data["choices"],
                callbacks=data["callbacks"],
                followups=data["followups"],
                edits=data["edits"],
                errors=data["errors"],
                completed_by=interaction.completed_by,
                followup_messages=json.loads(json.dumps(list(interaction.messages.values()))),
            )

    def _create_interaction(
        self,
        itype: int,
        command: str,
        options: Mapping[str, Any],
        focused: str | None,
        user_id: int | None,
        guild_id: int | None,
        channel_id: int | None,
        permissions: int | None,
        locale: str,
        *,
        context: int | None = None,
        user_install: bool = False,
    ) -> _Interaction:
        with self._cond:
            guild = self._guilds.get(guild_id) if guild_id is not None else None
            if guild_id is not None and guild is None:
                raise KeyError(f"unknown guild {guild_id}")
            context = (0 if guild is not None else 1) if context is None else context
            if (context == 0) != (guild is not None):
                raise ValueError(f"context {context} needs {'a' if context == 0 else 'no'} guild")
            user_install = user_install or context == 2
            if guild is not None:
                uid = user_id or guild.owner_id
                if uid not in self._users:
                    self.add_user(uid)
                if uid not in guild.members:
                    guild.members[uid] = self._make_member(uid, [], _iso_now())
                if channel_id is None:
                    channel_id = next(int(c["id"]) for c in guild.channels if c["type"] in (0, 5))
                channel = self._channels.get(channel_id)
                if channel is None or self._channel_guild.get(channel_id) != guild.id:
                    raise KeyError(f"channel {channel_id} is not in guild {guild.id}")
                perms = self._permissions(guild, channel, uid) if permissions is None else permissions
            else:
                uid = user_id or self.add_user(username="dm-user")
                if uid not in self._users:
                    self.add_user(uid)
                channel = self._open_dm(uid) if context == 1 else self._private_channel(uid)
                channel_id = int(channel["id"])
                perms = DM_APP_PERMISSIONS if permissions is None else permissions
            owners = {"1": str(uid)} if user_install else {"0": str(guild.id) if guild is not None else "0"}

            top, *path = command.split()
            definition, scope = self._find_command(top, guild, context=context, owners=owners)
            data: dict[str, Any] = {"id": definition["id"], "name": top, "type": 1}
            if scope is not None:
                data["guild_id"] = str(scope)
            resolved: dict[str, dict[str, Any]] = {}
            defs = definition.get("options", [])
            container: list[dict[str, Any]] = []
            data["options"] = container
            walked = top
            for part in path:
                sub = next((o for o in defs if o["name"] == part and o["type"] in (1, 2)), None)
                if sub is None:
                    names = [o["name"] for o in defs if o["type"] in (1, 2)]
                    raise KeyError(f"/{walked} has no subcommand {part!r}; synced: {names}")
                node: dict[str, Any] = {"name": part, "type": sub["type"], "options": []}
                container.append(node)
                container = node["options"]
                defs = sub.get("options", [])
                walked += f" {part}"
            if any(o["type"] in (1, 2) for o in defs):
                names = [o["name"] for o in defs]
                raise ValueError(f"/{walked} is a group; pick one of {names}")
            container.extend(
                self._build_options(walked, defs, options, focused, guild, uid, perms, resolved, channel)
            )
            if resolved:
                data["resolved"] = resolved

            iid = self._snowflake()
            token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96)
            payload: dict[str, Any] = {
                "id": str(iid),
                "application_id": str(self.application_id),
                "type": itype,
                "data": data,
                "channel_id": str(channel_id),
                "token": token,
                "version": 1,
                "locale": locale,
                "entitlements": [],
                "entitlement_sku_ids": [],
                "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            }
            if guild is not None:
                member = dict(guild.members[uid])
                member["permissions"] = str(perms)
                payload |= {
                    "guild_id": str(guild.id),
                    "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
                    "guild_locale": "en-US",
                    "channel": self._interaction_channel(guild, channel, perms),
                    "member": member,
                    "app_permissions": str(self._permissions(guild, channel, self.bot_user_id)),
                    "context": 0,
                    "authorizing_integration_owners": owners,
                }
            else:
                payload |= {
                    "channel": dict(channel),
                    "user": dict(self._users[uid]),
                    "app_permissions": str(DM_APP_PERMISSIONS),
                    "context": context,
                    "authorizing_integration_owners": owners,
                }
            now = time.monotonic()
            interaction = _Interaction(id=iid, token=token, payload=payload, created=now, last_activity=now)
            self._interactions[iid] = interaction
            self._interactions_by_token[token] = interaction
            return interaction

    def _find_command(
        self, name: str, guild: _Guild | None, *, context: int, owners: Mapping[str, str]
    ) -> tuple[dict[str, Any], int | None]:
        # A guild's own commands exist only where that guild installed the app.
        scopes: list[int | None] = [guild.id, None] if guild is not None and "0" in owners else [None]
        for scope in scopes:
            for cmd in self._commands.get(scope, []):
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    if scope is None:
                        self._check_context(cmd, context, owners)
                    return cmd, scope
        synced = {scope: [c["name"] for c in cmds] for scope, cmds in self._commands.items()}
        raise KeyError(
            f"/{name} is not synced for {'guild ' + str(guild.id) if guild else 'DMs'}; synced: {synced}"
        )

    @staticmethod
    def _check_context(cmd: dict[str, Any], context: int, owners: Mapping[str, str]) -> None:
        """Refuse an invocation Discord's client would not offer: a context or install the command excludes."""
        contexts = cmd.get("contexts")
        if contexts is not None and context not in contexts:
            raise ValueError(f"/{cmd['name']} is not available in context {context} (contexts={contexts})")
        if contexts is None and context != 0 and cmd.get("dm_permission") is False:
            raise ValueError(f"/{cmd['name']} has dm_permission=false")
        installs = cmd.get("integration_types") or [0]
        if not any(int(kind) in installs for kind in owners):
            raise ValueError(f"/{cmd['name']} is not installed for {sorted(owners)} (integration_types={installs})")

    def _build_options(
        self,
        path: str,
        defs: list[dict[str, Any]],
        values: Mapping[str, Any],
        focused: str | None,
        guild: _Guild | None,
        user_id: int,
        perms: int,
        resolved: dict[str, dict[str, Any]],
        channel: dict[str, Any],
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in defs}
        unknown = [n for n in values if n not in by_name]
        if unknown:
            raise KeyError(f"/{path} has no option(s) {unknown}; synced options: {list(by_name)}")
        if focused is None:
            missing = [o["name"] for o in defs if o.get("required") and o["name"] not in values]
            if missing:
                raise ValueError(f"/{path} requires option(s) {missing}")
        elif focused not in values or not by_name[focused].get("autocomplete"):
            raise ValueError(f"option {focused!r} of /{path} is not an autocomplete option given in options")
        out = []
        for name, value in values.items():
            opt = by_name[name]
            if name == focused:
                out.append({"name": name, "type": opt["type"], "value": str(value), "focused": True})
            else:
                converted = self._option_value(path, opt, value, guild, user_id, perms, resolved, channel)
                out.append({"name": name, "type": opt["type"], "value": converted})
        return out

    def _option_value(
        self,
        path: str,
        opt: dict[str, Any],
        value: Any,
        guild: _Guild | None,
        user_id: int,
        perms: int,
        resolved: dict[str, dict[str, Any]],
        channel: dict[str, Any],
    ) -> Any:
        otype, where = opt["type"], f"option {opt['name']!r} of /{path}"
        if otype in (STRING, INTEGER, NUMBER, BOOLEAN):
            expected = {STRING: str, INTEGER: int, NUMBER: (int, float), BOOLEAN: bool}[otype]
            if not isinstance(value, expected) or (otype != BOOLEAN and isinstance(value, bool)):
                raise TypeError(f"{where} expects {expected}, got {value!r}")
            choices = opt.get("choices")
            if choices and value not in [c["value"] for c in choices]:
                raise ValueError(f"{where}: {value!r} is not one of the choices {choices}")
            if otype == STRING and not opt.get("min_length", 0) <= len(value) <= opt.get("max_length", 6000):
                raise ValueError(f"{where}: length of {value!r} outside min_length/max_length")
            if otype in (INTEGER, NUMBER) and not (
                opt.get("min_value", -math.inf) <= value <= opt.get("max_value", math.inf)
            ):
                raise ValueError(f"{where}: {value!r} outside min_value/max_value")
            return value
        if otype == CHANNEL:
            target = self._lookup_channel(value, guild) if guild is not None else channel
            if target is None:
                raise KeyError(f"{where}: no channel {value!r} in this guild")
            allowed = opt.get("channel_types")
            if allowed and target["type"] not in allowed:
                raise ValueError(f"{where}: channel type {target['type']} not in channel_types {allowed}")
            if guild is not None:
                info = self._interaction_channel(guild, target, self._permissions(guild, target, user_id))
            else:
                info = dict(target)
            resolved.setdefault("channels", {})[target["id"]] = info
            return target["id"]
        if otype in (ROLE, MENTIONABLE) and guild is not None:
            role = next((r for r in guild.roles if value in (int(r["id"]), r["name"])), None)
            if role is not None:
                resolved.setdefault("roles", {})[role["id"]] = dict(role)
                return role["id"]
            if otype == ROLE:
                raise KeyError(f"{where}: no role {value!r} in this guild")
        if otype in (USER, MENTIONABLE):
            uid = int(value)
            if uid not in self._users:
                self.add_user(uid)
            resolved.setdefault("users", {})[str(uid)] = dict(self._users[uid])
            if guild is not None and uid in guild.members:
                member = {k: v for k, v in guild.members[uid].items() if k != "user"}
                member["permissions"] = str(self._permissions(guild, channel, uid))
                resolved.setdefault("members", {})[str(uid)] = member
            return str(uid)
        if otype == ATTACHMENT:
            if not isinstance(value, Mapping) or not {"filename", "url", "size"} <= set(value):
                raise TypeError(f"{where} expects {{'filename', 'url', 'size'[, 'content_type']}}, got {value!r}")
            if int(value["size"]) > ATTACHMENT_SIZE_LIMIT:
                raise ValueError(f"{where}: Discord's client uploads at most {ATTACHMENT_SIZE_LIMIT} bytes")
            aid = str(self._snowflake())
            attachment = {"id": aid, "filename": value["filename"], "size": int(value["size"]), "url": value["url"],
                          "proxy_url": value["url"], "ephemeral": True}
            if value.get("content_type"):
                attachment["content_type"] = value["content_type"]
            resolved.setdefault("attachments", {})[aid] = attachment
            return aid
        raise ValueError(f"{where}: option type {otype} is not supported by the fake")

    def _lookup_channel(self, value: Any, guild: _Guild) -> dict[str, Any] | None:
        for ch in guild.channels:
            if value in (int(ch["id"]), ch["id"], ch["name"], f"#{ch['name']}"):
                return ch
        return None

    @staticmethod
    def _interaction_channel(guild: _Guild, channel: dict[str, Any], perms: int) -> dict[str, Any]:
        """Channel as in an interaction's ``channel`` / ``resolved.channels`` (guild_id, permissions)."""
        info = {k: v for k, v in channel.items() if k != "permission_overwrites"}
        return info | {"guild_id": str(guild.id), "permissions": str(perms)}

    # ---------------------------------------------------------------- object builders

    def _make_user(self, uid: int, username: str, *, bot: bool = False) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": str(uid),
            "username": username,
            "discriminator": "8080" if bot else "0",
            "global_name": None if bot else username.title(),
            "avatar": None,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
            "flags": 0,
            "collectibles": None,
            "primary_guild": None,
        }
        if bot:
            user["bot"] = True
        return user

    @staticmethod
    def _make_role(rid: int, name: str, permissions: int, *, position: int) -> dict[str, Any]:
        return {
            "id": str(rid),
            "name": name,
            "description": None,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": str(permissions),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def _make_channel(self, spec: str | int | Mapping[str, Any], position: int) -> dict[str, Any]:
        if isinstance(spec, str):
            spec = {"name": spec}
        elif isinstance(spec, int):
            spec = {"id": spec, "name": f"channel-{spec % 100_000}"}
        ctype = int(spec.get("type", 0))
        channel: dict[str, Any] = {
            "id": str(spec.get("id") or self._snowflake()),
            "type": ctype,
            "name": spec["name"],
            "position": position,
            "parent_id": str(spec["parent_id"]) if spec.get("parent_id") else None,
            "permission_overwrites": [
                {
                    "id": str(o["id"]),
                    "type": o["type"],
                    "allow": str(o.get("allow", 0)),
                    "deny": str(o.get("deny", 0)),
                }
                for o in spec.get("permission_overwrites", ())
            ],
            "flags": 0,
        }
        if ctype in (0, 5):
            channel |= {
                "topic": spec.get("topic"),
                "nsfw": False,
                "rate_limit_per_user": 0,
                "last_message_id": None,
            }
        elif ctype in (2, 13):
            channel |= {"bitrate": 64000, "user_limit": 0, "rtc_region": None, "nsfw": False}
        elif ctype in (FORUM_CHANNEL, MEDIA_CHANNEL):
            tags = [{"name": t} if isinstance(t, str) else dict(t) for t in spec.get("tags", ())]
            channel |= {
                "topic": spec.get("topic"),
                "nsfw": False,
                "rate_limit_per_user": 0,
                "last_message_id": None,
                "flags": REQUIRE_TAG if spec.get("require_tag") else 0,
                "default_auto_archive_duration": 1440,
                "default_thread_rate_limit_per_user": 0,
                "available_tags": [
                    {"id": str(t.get("id") or self._snowflake()), "name": t["name"],
                     "moderated": bool(t.get("moderated", False)), "emoji_id": None, "emoji_name": None}
                    for t in tags
                ],
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
            }
        return channel

    def _make_member(
        self, uid: int, role_ids: Iterable[int], joined_at: str, *, nick: str | None = None
    ) -> dict[str, Any]:
        return {
            "user": dict(self._users[uid]),
            "nick": nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in role_ids],
            "joined_at": joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
        }

    def _guild_object(self, guild: _Guild) -> dict[str, Any]:
        text = [c for c in guild.channels if c["type"] == 0]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [dict(r) for r in guild.roles],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": text[0]["id"] if text else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_presences": None,
            "max_members": 500_000,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "nsfw": False,
            "premium_progress_bar_enabled": False,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "incidents_data": None,
        }

    def _guild_create_payload(self, guild: _Guild) -> dict[str, Any]:
        with self._cond:
            return self._guild_object(guild) | {
                "joined_at": guild.joined_at,
                "large": False,
                "unavailable": False,
                "lazy": True,
                "member_count": len(guild.members),
                "members": [dict(m) for m in guild.members.values()],
                "channels": [dict(c) for c in guild.channels],
                "threads": [],
                "presences": [],
                "voice_states": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "embedded_activities": [],
                "application_command_counts": {},
            }

    def _message_object(
        self,
        mid: int,
        channel_id: int,
        body: Mapping[str, Any],
        *,
        flags: int,
        interaction: _Interaction | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": str(mid),
            "type": 20 if interaction is not None else 0,
            "content": body.get("content") or "",
            "channel_id": str(channel_id),
            "author": dict(self._users[self.bot_user_id]),
            "attachments": [],
            "embeds": [_embed_response(embed) for embed in body.get("embeds") or []],
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": bool(body.get("tts")),
            "timestamp": _iso_now(),
            "edited_timestamp": None,
            "flags": flags,
            "components": list(body.get("components") or []),
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if interaction is not None:
            payload = interaction.payload
            user = payload.get("user") or payload["member"]["user"]
            message |= {
                "webhook_id": str(self.application_id),
                "application_id": str(self.application_id),
                "interaction_metadata": {
                    "id": payload["id"],
                    "type": payload["type"],
                    "user": user,
                    "authorizing_integration_owners": payload["authorizing_integration_owners"],
                },
            }
        return message

    # ---------------------------------------------------------------- permissions

    def _permissions(self, guild: _Guild, channel: dict[str, Any], user_id: int) -> int:
        """Discord's permission algorithm: base (roles) then channel overwrites."""
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        member_roles = {int(r) for r in member["roles"]} if member else set()
        perms = 0
        for role in guild.roles:
            if int(role["id"]) == guild.id or int(role["id"]) in member_roles:
                perms |= int(role["permissions"])
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        overwrites = {int(o["id"]): o for o in channel.get("permission_overwrites", [])}
        everyone = overwrites.get(guild.id)
        if everyone:
            perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
        allow = deny = 0
        for rid in member_roles:
            if rid in overwrites:
                allow |= int(overwrites[rid]["allow"])
                deny |= int(overwrites[rid]["deny"])
        perms = (perms & ~deny) | allow
        own = overwrites.get(user_id)
        if own:
            perms = (perms & ~int(own["deny"])) | int(own["allow"])
        return perms

    # ---------------------------------------------------------------- REST plumbing

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], _Handler]]:
        commands = r"/applications/(\d+)(?:/guilds/(\d+))?/commands"
        webhook_message = r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)"
        routes: list[tuple[str, str, _Handler]] = [
            (
                "GET",
                r"/users/@me",
                lambda r: self._users[self.bot_user_id] | {"verified": True, "mfa_enabled": False},
            ),
            ("GET", r"/users/(\d+)", self._get_user),
            ("POST", r"/users/@me/channels", self._create_dm),
            ("GET", r"/gateway", lambda r: {"url": self.gateway_url}),
            ("GET", r"/gateway/bot", self._get_gateway_bot),
            ("GET", r"/oauth2/applications/@me", self._get_application),
            ("GET", r"/applications/@me", self._get_application),
            ("GET", commands, self._list_commands),
            ("PUT", commands, self._put_commands),
            ("POST", commands, self._post_command),
            ("GET", commands + r"/(\d+)", self._get_command),
            ("DELETE", commands + r"/(\d+)", self._delete_command),
            ("GET", r"/channels/(\d+)", self._get_channel),
            ("POST", r"/channels/(\d+)/messages", self._post_message),
            ("GET", r"/channels/(\d+)/messages/(\d+)", self._get_message),
            ("PATCH", r"/channels/(\d+)/messages/(\d+)", self._edit_message),
            ("DELETE", r"/channels/(\d+)/messages/(\d+)", self._delete_message),
            ("POST", r"/channels/(\d+)/typing", lambda r: None),
            ("POST", r"/channels/(\d+)/threads", self._create_thread),
            ("POST", r"/channels/(\d+)/messages/(\d+)/threads", self._create_thread_from_message),
            ("POST", r"/channels/(\d+)/messages/(\d+)/crosspost", self._crosspost),
            ("GET", r"/channels/(\d+)/threads/archived/public", self._archived_threads),
            ("GET", r"/guilds/(\d+)/threads/active", self._active_threads),
            ("GET", r"/guilds/(\d+)", lambda r: self._guild_object(self._guild(r.groups[0]))),
            ("GET", r"/guilds/(\d+)/channels", self._get_guild_channels),
            ("GET", r"/guilds/(\d+)/roles", lambda r: [dict(x) for x in self._guild(r.groups[0]).roles]),
            ("GET", r"/guilds/(\d+)/members", lambda r: list(self._guild(r.groups[0]).members.values())),
            ("GET", r"/guilds/(\d+)/members/(\d+)", self._get_member),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._interaction_callback),
            ("POST", r"/webhooks/(\d+)/([^/]+)", self._post_followup),
            ("GET", webhook_message, self._get_webhook_message),
            ("PATCH", webhook_message, self._edit_webhook_message),
            ("DELETE", webhook_message, self._delete_webhook_message),
        ]
        return [(method, re.compile(pattern), handler) for method, pattern, handler in routes]

    async def _rest_handler(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        rel = path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path
        if request.method == "GET" and rel.startswith("/attachments/"):
            return self._serve_attachment(rel)
        body, files, uploads = await self._read_body(request)
        now = time.monotonic()
        record = RecordedRequest(now, time.time(), request.method, rel, dict(request.query), body, files, uploads)
        with self._cond:
            self.requests.append(record)
            delay = max(
                (
                    s
                    for m, p, s in self._delays
                    if m in (None, request.method) and (p is None or p.search(rel))
                ),
                default=0.0,
            )
        if delay:
            await asyncio.sleep(delay)
        response = self._fault_response(record)
        if response is None:
            response = self._route(record, request.headers.get("Authorization", ""), path)
        else:
            record.injected = True
        with self._cond:
            record.status = response.status
            if isinstance(response.body, bytes) and response.content_type == "application/json":
                record.response_json = json.loads(response.body)
            if response.status >= 400:
                self._note_interaction_error(record, response)
            self._cond.notify_all()
        return response

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, tuple[str, ...], dict[str, tuple[str, bytes]]]:
        if request.content_type == "multipart/form-data":
            form = await request.post()
            uploads = {name: (v.filename, v.file.read()) for name, v in form.items() if isinstance(v, web.FileField)}
            payload = form.get("payload_json")
            files = tuple(filename for filename, _ in uploads.values())
            return (json.loads(payload) if isinstance(payload, str) else None), files, uploads
        text = await request.text()
        if request.content_type == "application/json" and text:
            return json.loads(text), (), {}
        return (text or None), (), {}

    def _serve_attachment(self, path: str) -> web.Response:
        """An uploaded file, as Discord's CDN serves it at an attachment's ``url``."""
        with self._cond:
            stored = self._attachments.get(path)
        if stored is None:
            return web.Response(status=404, text="Not Found")
        content_type, data = stored
        return web.Response(body=data, content_type=content_type)

    def _attach(self, uploads: Mapping[str, tuple[str, bytes]], body: Mapping[str, Any], channel_id: int, *,
                flags: int, kept: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
        """The attachment objects of a message made or edited with ``body``: ``kept`` ones, then ``uploads``.

        As Discord documents multipart bodies: files go in ``files[n]``; when the message's
        ``attachments`` lists any, each upload needs the entry whose ``id`` is its ``n`` (which may
        rename it), and of the existing attachments only those it lists stay.
        """
        listed = {str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)}
        made = []
        for name, (filename, data) in uploads.items():
            number = re.fullmatch(r"files\[(\d+)\]", name)
            if number is None:
                raise _form_error((name,), "ATTACHMENT_FIELD_INVALID", "Upload fields are named files[n].")
            if listed and number.group(1) not in listed:
                raise _form_error(("attachments",), "ATTACHMENT_NOT_FOUND", f"No attachment entry for {name}.")
            filename = (listed.get(number.group(1)) or {}).get("filename") or filename
            aid = self._snowflake()
            path = f"/attachments/{channel_id}/{aid}/{filename}"
            content_type = "text/plain; charset=utf-8" if filename.endswith(".txt") else "application/octet-stream"
            self._attachments[path] = (content_type.split(";")[0], data)
            made.append({"id": str(aid), "filename": filename, "size": len(data), "url": self.base_url + path,
                         "proxy_url": self.base_url + path, "content_type": content_type,
                         "ephemeral": bool(flags & EPHEMERAL)})
        return [a for a in kept if "attachments" not in body or str(a["id"]) in listed] + made

    def _fault_response(self, record: RecordedRequest) -> web.Response | None:
        with self._cond:
            for inj in self._injections:
                if (
                    inj.exhausted
                    or inj.method not in ("*", record.method)
                    or not inj.pattern.search(record.path)
                ):
                    continue
                inj.hits += 1
                if inj.status == 429:
                    response = _rate_limit_response(inj.retry_after, is_global=inj.is_global, body=inj.body)
                else:
                    response = _json_response(inj.body, inj.status)
                response.headers.update(inj.headers)
                return response
            if self._global_limit is None or record.path.startswith(("/interactions/", "/webhooks/")):
                return None
            window = self._global_window
            while window and record.time - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self._global_limit:
                retry_after = round(max(0.001, 1.0 - (record.time - window[0])), 3)
                return _rate_limit_response(retry_after, is_global=True)
            window.append(record.time)
            return None

    def _route(self, record: RecordedRequest, authorization: str, full_path: str) -> web.Response:
        if not full_path.startswith(API_PREFIX + "/"):
            return self._not_found(record)
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(record.path)
            if match is None or method != record.method:
                continue
            needs_auth = not record.path.startswith(("/interactions/", "/webhooks/"))
            if needs_auth and not (authorization.startswith("Bot ") and len(authorization) > 4):
                return _json_response(_error_body(401, 0), 401)
            req = _Req(record.method, record.path, match.groups(), record.query, record.json, record.files,
                       record.uploads)
            try:
                with self._cond:
                    result = handler(req)
            except _ApiError as err:
                return _json_response(err.body, err.status)
            if isinstance(result, web.Response):
                return result
            return web.Response(status=204) if result is None else _json_response(result)
        return self._not_found(record)

    def _not_found(self, record: RecordedRequest) -> web.Response:
        log.warning("fake Discord: no route for %s %s", record.method, record.path)
        with self._cond:
            self.unknown_routes.append(f"{record.method} {record.path}")
        return _json_response({"message": "404: Not Found", "code": 0}, 404)

    def _note_interaction_error(self, record: RecordedRequest, response: web.Response) -> None:
        match = re.match(r"^/(?:interactions|webhooks)/\d+/([^/]+)", record.path)
        interaction = self._interactions_by_token.get(match.group(1)) if match else None
        if interaction is not None:
            body = json.loads(response.body) if isinstance(response.body, bytes) and response.body else None
            interaction.errors.append(
                {"method": record.method, "path": record.path, "status": response.status, "body": body}
            )
            interaction.last_activity = time.monotonic()

    # ---------------------------------------------------------------- REST handlers: users, app

    def _get_user(self, req: _Req) -> dict[str, Any]:
        uid = int(req.groups[0])
        if uid not in self._users:
            raise _ApiError(404, 10013)
        return dict(self._users[uid])

    def _get_gateway_bot(self, req: _Req) -> dict[str, Any]:
        return {
            "url": f"ws://127.0.0.1:{self._port}{ADVERTISED_GATEWAY_PATH}",
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14_400_000,
                "max_concurrency": 1,
            },
        }

    def _get_application(self, req: _Req) -> dict[str, Any]:
        owner = self._users.get(min((g.owner_id for g in self._guilds.values()), default=0))
        return {
            "id": str(self.application_id),
            "name": self.bot_name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot": self._users[self.bot_user_id],
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": owner or self._make_user(1, "app-owner"),
            "team": None,
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "approximate_guild_count": len(self._guilds),
            "integration_types_config": {"0": {}},
        }

    def _create_dm(self, req: _Req) -> dict[str, Any]:
        body = req.json or {}
        try:
            uid = int(body["recipient_id"])
        except (KeyError, TypeError, ValueError):
            raise _form_error(("recipient_id",), "BASE_TYPE_REQUIRED", "This field is required") from None
        if uid not in self._users:
            self.add_user(uid)
        return dict(self._open_dm(uid))

    def _open_dm(self, uid: int) -> dict[str, Any]:
        cid = self._dm_by_user.get(uid)
        if cid is None:
            cid = self._snowflake()
            self._dm_by_user[uid] = cid
            self._channels[cid] = {
                "id": str(cid),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [dict(self._users[uid])],
            }
            self._channel_guild[cid] = None
        return self._channels[cid]

    # ---------------------------------------------------------------- REST handlers: commands

    def _private_channel(self, uid: int) -> dict[str, Any]:
        """A group DM of the user with another user: the bot is no recipient and cannot post there."""
        other = self.add_user(username="friend")
        return {"id": str(self._snowflake()), "type": 3, "name": None, "owner_id": str(uid), "last_message_id": None,
                "recipients": [dict(self._users[uid]), dict(self._users[other])], "icon": None}

    def _scope(self, req: _Req) -> int | None:
        if int(req.groups[0]) != self.application_id:
            raise _ApiError(403, 50001)
        if req.groups[1] is None:
            return None
        self._guild(req.groups[1])
        return int(req.groups[1])

    def _list_commands(self, req: _Req) -> list[dict[str, Any]]:
        return list(self._commands.get(self._scope(req), []))

    def _get_command(self, req: _Req) -> dict[str, Any]:
        for cmd in self._commands.get(self._scope(req), []):
            if cmd["id"] == req.groups[2]:
                return cmd
        raise _ApiError(404, 10063)

    def _delete_command(self, req: _Req) -> None:
        scope = self._scope(req)
        self._get_command(req)
        self._commands[scope] = [c for c in self._commands[scope] if c["id"] != req.groups[2]]

    def _put_commands(self, req: _Req) -> list[dict[str, Any]]:
        scope = self._scope(req)
        if not isinstance(req.json, list):
            raise _form_error((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        for index, cmd in enumerate(req.json):
            self._validate_command(cmd, (index,))
        names = [(c["name"], c.get("type", 1)) for c in req.json]
        if len(set(names)) != len(names):
            raise _form_error(
                (), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"
            )
        existing = {(c["name"], c["type"]): c["id"] for c in self._commands.get(scope, [])}
        self._commands[scope] = [self._command_object(c, existing, scope) for c in req.json]
        self._command_syncs[scope] = self._command_syncs.get(scope, 0) + 1
        return list(self._commands[scope])

    def _post_command(self, req: _Req) -> dict[str, Any]:
        scope = self._scope(req)
        self._validate_command(req.json, ())
        current = self._commands.get(scope, [])
        existing = {(c["name"], c["type"]): c["id"] for c in current}
        cmd = self._command_object(req.json, existing, scope)
        self._commands[scope] = [c for c in current if c["id"] != cmd["id"]] + [cmd]
        self._command_syncs[scope] = self._command_syncs.get(scope, 0) + 1
        return cmd

    def _command_object(
        self, cmd: dict[str, Any], existing: dict[tuple[str, int], str], scope: int | None
    ) -> dict[str, Any]:
        ctype = cmd.get("type", 1)
        obj: dict[str, Any] = {
            "id": existing.get((cmd["name"], ctype)) or str(self._snowflake()),
            "application_id": str(self.application_id),
            "version": str(self._snowflake()),
            "default_member_permissions": cmd.get("default_member_permissions"),
            "type": ctype,
            "name": cmd["name"],
            "name_localizations": cmd.get("name_localizations"),
            "description": cmd.get("description", ""),
            "description_localizations": cmd.get("description_localizations"),
            # Global only: Discord documents both as "only for globally-scoped commands".
            "contexts": cmd.get("contexts") if scope is None else None,
            "integration_types": (cmd.get("integration_types") or [0]) if scope is None else [0],
            "nsfw": bool(cmd.get("nsfw", False)),
        }
        if scope is None:
            obj["dm_permission"] = cmd.get("dm_permission", True)
        else:
            obj["guild_id"] = str(scope)
        if cmd.get("options"):
            obj["options"] = json.loads(json.dumps(cmd["options"]))
        return obj

    def _validate_command(self, cmd: Any, path: tuple[str | int, ...]) -> None:
        if not isinstance(cmd, dict) or "name" not in cmd:
            raise _form_error((*path, "name"), "BASE_TYPE_REQUIRED", "This field is required")
        ctype = cmd.get("type", 1)
        self._validate_name(cmd["name"], (*path, "name"), lowercase=ctype == 1)
        description = cmd.get("description", "")
        if ctype == 1 and not 1 <= len(description) <= 100:
            raise _form_error(
                (*path, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        if ctype != 1 and description:
            raise _form_error(
                (*path, "description"), "APPLICATION_COMMAND_INVALID_DESCRIPTION", "Must be empty."
            )
        for key, allowed in (("contexts", INTERACTION_CONTEXTS), ("integration_types", INTEGRATION_TYPES)):
            self._validate_enum_array(cmd.get(key), allowed, (*path, key))
        if "dm_permission" in cmd:
            if cmd["dm_permission"] is not None and not isinstance(cmd["dm_permission"], bool):
                raise _form_error((*path, "dm_permission"), "BASE_TYPE_BAD_TYPE", "Must be a boolean.")
            self.deprecated_fields.append(f"{cmd['name']}.dm_permission")
        self._validate_options(cmd.get("options") or [], (*path, "options"), depth=0)

    @staticmethod
    def _validate_enum_array(value: Any, allowed: frozenset[int], path: tuple[str | int, ...]) -> None:
        """``contexts`` / ``integration_types``: null, or a non-empty array of unique values of the enum."""
        if value is None:
            return
        if not isinstance(value, list):
            raise _form_error(path, "BASE_TYPE_BAD_TYPE", "Must be an array.")
        if not value:
            raise _form_error(path, "BASE_TYPE_BAD_LENGTH", "Must be 1 or more in length.")
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, int) or item not in allowed:
                raise _form_error((*path, index), "ENUM_TYPE_COERCE", f"Value \"{item}\" is not a valid enum value.")
        if len(set(value)) != len(value):
            raise _form_error(path, "BASE_TYPE_DUPLICATE", "Items must be unique.")

    def _validate_name(self, name: Any, path: tuple[str | int, ...], *, lowercase: bool) -> None:
        if (
            not isinstance(name, str)
            or not _COMMAND_NAME_RE.match(name)
            or (lowercase and name != name.lower())
        ):
            raise _form_error(path, "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")

    def _validate_options(
        self, options: list[dict[str, Any]], path: tuple[str | int, ...], *, depth: int
    ) -> None:
        if len(options) > 25:
            raise _form_error(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        seen: set[str] = set()
        optional_seen = False
        for index, opt in enumerate(options):
            where = (*path, index)
            self._validate_name(opt.get("name"), (*where, "name"), lowercase=True)
            if opt["name"] in seen:
                raise _form_error(
                    (*where, "name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Duplicate"
                )
            seen.add(opt["name"])
            if not 1 <= len(opt.get("description", "")) <= 100:
                raise _form_error(
                    (*where, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100."
                )
            otype = opt.get("type")
            if otype in (SUB_COMMAND, SUB_COMMAND_GROUP):
                if depth >= (1 if otype == SUB_COMMAND_GROUP else 2):
                    raise _form_error(
                        (*where, "type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Bad nesting"
                    )
                children = opt.get("options") or []
                if otype == SUB_COMMAND_GROUP and any(c.get("type") != SUB_COMMAND for c in children):
                    raise _form_error(
                        (*where, "options"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Bad nesting"
                    )
                self._validate_options(children, (*where, "options"), depth=depth + 1)
                continue
            if opt.get("required"):
                if optional_seen:
                    raise _form_error(
                        (*where, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                optional_seen = True
            if len(opt.get("choices") or []) > 25:
                raise _form_error(
                    (*where, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            if opt.get("choices") and opt.get("autocomplete"):
                raise _form_error((*where, "autocomplete"), "AUTOCOMPLETE_AND_CHOICES", "Cannot have both")

    # ---------------------------------------------------------------- REST handlers: channels

    def _guild(self, gid: str | int) -> _Guild:
        guild = self._guilds.get(int(gid))
        if guild is None:
            raise _ApiError(404, 10004)
        return guild

    def _get_guild_channels(self, req: _Req) -> list[dict[str, Any]]:
        guild = self._guild(req.groups[0])
        return [c | {"guild_id": str(guild.id)} for c in guild.channels]

    def _get_member(self, req: _Req) -> dict[str, Any]:
        member = self._guild(req.groups[0]).members.get(int(req.groups[1]))
        if member is None:
            raise _ApiError(404, 10007)
        return dict(member)

    def _channel(self, cid: str | int) -> tuple[dict[str, Any], _Guild | None]:
        channel = self._channels.get(int(cid))
        if channel is None:
            raise _ApiError(404, 10003)
        gid = self._channel_guild[int(cid)]
        return channel, (self._guilds[gid] if gid is not None else None)

    def _get_channel(self, req: _Req) -> dict[str, Any]:
        channel, guild = self._channel(req.groups[0])
        return channel | {"guild_id": str(guild.id)} if guild is not None else dict(channel)

    def _check_can_send(self, channel: dict[str, Any], guild: _Guild | None) -> None:
        if guild is None:
            recipient = int(channel["recipients"][0]["id"])
            if recipient in self._dms_closed:
                raise _ApiError(403, 50007)
            return
        if channel["type"] in (FORUM_CHANNEL, MEDIA_CHANNEL):
            raise _ApiError(400, 50024)  # a forum holds posts, not messages
        thread = channel["type"] in (ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)
        # A thread has no overwrites of its own: its parent's apply, with Send Messages in Threads.
        where = self._channels[int(channel["parent_id"])] if thread else channel
        perms = self._permissions(guild, where, self.bot_user_id)
        if not perms & VIEW_CHANNEL:
            raise _ApiError(403, 50001)
        if not perms & (SEND_MESSAGES_IN_THREADS if thread else SEND_MESSAGES):
            raise _ApiError(403, 50013)
        if thread:
            self._reopen(channel)

    @staticmethod
    def _reopen(thread: dict[str, Any]) -> None:
        """A message into an archived thread unarchives it, unless it is locked (then 160005)."""
        metadata = thread["thread_metadata"]
        if metadata["locked"]:
            raise _ApiError(400, 160005, "Thread is locked")
        if metadata["archived"]:
            metadata["archived"], metadata["archive_timestamp"] = False, _iso_now()

    @staticmethod
    def _validate_message(body: Mapping[str, Any], files: Sequence[str], *, partial: bool = False) -> None:
        content = body.get("content")
        if content is not None and len(str(content)) > MAX_CONTENT_LENGTH:
            raise _form_error(
                ("content",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT_LENGTH} or fewer in length."
            )
        _validate_embeds(body.get("embeds"))
        nonce = body.get("nonce")
        if nonce is not None and len(str(nonce)) > MAX_NONCE_LENGTH:
            raise _form_error(
                ("nonce",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_NONCE_LENGTH} or fewer in length."
            )
        has_payload = (
            content or body.get("embeds") or body.get("components") or body.get("sticker_ids") or body.get("poll")
        )
        if not partial and not has_payload and not files:
            raise _ApiError(400, 50006)

    def _post_message(self, req: _Req) -> dict[str, Any]:
        channel, guild = self._channel(req.groups[0])
        self._check_can_send(channel, guild)
        body = req.json if isinstance(req.json, dict) else {}
        self._validate_message(body, req.files)
        cid = int(channel["id"])
        nonce = body.get("nonce")
        now = time.monotonic()
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get((cid, str(nonce)))
            if seen is not None and now - seen[0] < NONCE_WINDOW_SECONDS:
                return dict(seen[1])
        message = self._store_message(channel, body, req.files)
        if nonce is not None:
            self._nonces[(cid, str(nonce))] = (now, message)
        return dict(message)

    def _store_message(self, channel: dict[str, Any], body: Mapping[str, Any], files: Sequence[str] = (), *,
                       mid: int | None = None, webhook_id: int | None = None) -> dict[str, Any]:
        """Create a message in a channel or thread (``mid``: a forum post's starter has the post's id)."""
        cid, mid = int(channel["id"]), mid or self._snowflake()
        message = self._message_object(mid, cid, body, flags=int(body.get("flags") or 0))
        record = {"id": mid, "channel_id": cid, **json.loads(json.dumps(body)), "attachments": list(files)}
        if webhook_id is not None:
            hook = self._make_user(webhook_id, body.get("username") or "Captain Hook", bot=True) | {
                "discriminator": "0000", "global_name": None}
            message |= {"webhook_id": str(webhook_id), "author": hook}
            record["webhook_id"] = webhook_id
        self._messages.setdefault(cid, []).append(_StoredMessage(record, message))
        channel["last_message_id"] = str(mid)
        if "thread_metadata" in channel:
            channel["message_count"] += 1
            channel["total_message_sent"] += 1
        return message

    # ---------------------------------------------------------------- REST handlers: threads, crossposts

    def _make_thread(self, tid: int, parent: dict[str, Any], guild: _Guild, body: Mapping[str, Any], *,
                     ttype: int, owner_id: int) -> dict[str, Any]:
        """A new thread (or forum post) of ``parent``, registered as a channel of the guild."""
        name = body.get("name") if "name" in body else body.get("thread_name")
        key = "name" if "name" in body else "thread_name"
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise _form_error((key,), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        archive = body.get("auto_archive_duration")
        if archive is not None and archive not in ARCHIVE_DURATIONS:
            raise _form_error(("auto_archive_duration",), "BASE_TYPE_CHOICES",
                              f"Value must be one of {ARCHIVE_DURATIONS}.")
        now = _iso_now()
        thread = {
            "id": str(tid), "type": ttype, "guild_id": str(guild.id), "parent_id": parent["id"],
            "owner_id": str(owner_id), "name": name, "last_message_id": None, "rate_limit_per_user": 0,
            "flags": 0, "message_count": 0, "member_count": 1, "total_message_sent": 0,
            "applied_tags": [str(t) for t in body.get("applied_tags") or []],
            "thread_metadata": {"archived": False, "archive_timestamp": now, "locked": False,
                                "auto_archive_duration": archive or parent.get("default_auto_archive_duration", 1440),
                                "create_timestamp": now},
        }
        self._channels[tid] = thread
        self._channel_guild[tid] = guild.id
        return thread

    def _check_tags(self, forum: dict[str, Any], tags: Any, bot_perms: int | None) -> None:
        """``applied_tags`` of a new post: at most 5 of the forum's tags; a required tag; moderated ones."""
        tags = tags or []
        if not isinstance(tags, list) or len(tags) > 5:
            raise _form_error(("applied_tags",), "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
        available = {t["id"]: t for t in forum["available_tags"]}
        for index, tag in enumerate(tags):
            if str(tag) not in available:
                raise _form_error(("applied_tags", index), "FORUM_TAG_INVALID", "Invalid tag.")
        if forum["flags"] & REQUIRE_TAG and not tags:
            raise _ApiError(400, 40067)
        moderated = any(available[str(t)]["moderated"] for t in tags)
        if moderated and bot_perms is not None and not bot_perms & MANAGE_THREADS:
            raise _ApiError(403, 50013)

    def _create_thread(self, req: _Req) -> web.Response:
        channel, guild = self._channel(req.groups[0])
        if guild is None:
            raise _ApiError(400, 50024)
        body = req.json if isinstance(req.json, dict) else {}
        perms = self._permissions(guild, channel, self.bot_user_id)
        if not perms & VIEW_CHANNEL:
            raise _ApiError(403, 50001)
        if channel["type"] in (FORUM_CHANNEL, MEDIA_CHANNEL):
            if not perms & SEND_MESSAGES:  # "Create Posts"
                raise _ApiError(403, 50013)
            message = body.get("message")
            if not isinstance(message, dict):
                raise _form_error(("message",), "BASE_TYPE_REQUIRED", "This field is required")
            self._validate_message(message, req.files)
            self._check_tags(channel, body.get("applied_tags"), perms)
            tid = self._snowflake()
            thread = self._make_thread(tid, channel, guild, body, ttype=PUBLIC_THREAD, owner_id=self.bot_user_id)
            starter = self._store_message(thread, message, req.files, mid=tid)
            channel["last_message_id"] = str(tid)
            return _json_response(dict(thread) | {"message": dict(starter)}, 201)
        if channel["type"] not in (TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL):
            raise _ApiError(400, 50024)
        ttype = body.get("type", PRIVATE_THREAD)
        if ttype not in (ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD):
            raise _form_error(("type",), "BASE_TYPE_CHOICES", "Value must be one of (10, 11, 12).")
        if not perms & (CREATE_PUBLIC_THREADS if ttype != PRIVATE_THREAD else 1 << 36):
            raise _ApiError(403, 50013)
        thread = self._make_thread(self._snowflake(), channel, guild, body, ttype=ttype, owner_id=self.bot_user_id)
        return _json_response(dict(thread), 201)

    def _create_thread_from_message(self, req: _Req) -> web.Response:
        channel, guild = self._channel(req.groups[0])
        stored = self._stored(*req.groups)
        if guild is None or channel["type"] not in (TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL):
            raise _ApiError(400, 50024)
        perms = self._permissions(guild, channel, self.bot_user_id)
        if not perms & VIEW_CHANNEL:
            raise _ApiError(403, 50001)
        if not perms & CREATE_PUBLIC_THREADS:
            raise _ApiError(403, 50013)
        mid = int(req.groups[1])
        if mid in self._channels:
            raise _ApiError(400, 160004)
        body = req.json if isinstance(req.json, dict) else {}
        ttype = ANNOUNCEMENT_THREAD if channel["type"] == ANNOUNCEMENT_CHANNEL else PUBLIC_THREAD
        thread = self._make_thread(mid, channel, guild, body, ttype=ttype, owner_id=self.bot_user_id)
        stored.message["flags"] |= HAS_THREAD
        stored.message["thread"] = dict(thread)
        stored.record["thread_id"] = mid
        return _json_response(dict(thread), 201)

    def _crosspost(self, req: _Req) -> web.Response | dict[str, Any]:
        channel, guild = self._channel(req.groups[0])
        stored = self._stored(*req.groups)
        if guild is None or channel["type"] != ANNOUNCEMENT_CHANNEL:
            raise _ApiError(400, 50024)
        perms = self._permissions(guild, channel, self.bot_user_id)
        if not perms & VIEW_CHANNEL:
            raise _ApiError(403, 50001)
        own = stored.message["author"]["id"] == str(self.bot_user_id)
        if not perms & (SEND_MESSAGES if own else MANAGE_MESSAGES):
            raise _ApiError(403, 50013)
        if stored.message["flags"] & CROSSPOSTED:
            raise _ApiError(400, 40033)
        now = time.monotonic()
        window = self._crossposts.setdefault(int(channel["id"]), deque())
        while window and now - window[0] >= 3600.0:
            window.popleft()
        if len(window) >= self.crossposts_per_hour:
            response = _rate_limit_response(round(3600.0 - (now - window[0]), 3), is_global=False)
            response.headers["X-RateLimit-Limit"] = str(self.crossposts_per_hour)
            return response
        window.append(now)
        stored.message["flags"] |= CROSSPOSTED
        stored.record["crossposted"] = True
        return dict(stored.message)

    def _thread_list(self, threads: Iterable[dict[str, Any]]) -> dict[str, Any]:
        return {"threads": [dict(t) for t in threads], "members": [], "has_more": False}

    def _active_threads(self, req: _Req) -> dict[str, Any]:
        guild = self._guild(req.groups[0])
        return self._thread_list(
            c for cid, c in self._channels.items()
            if self._channel_guild.get(cid) == guild.id and "thread_metadata" in c
            and not c["thread_metadata"]["archived"]
        )

    def _archived_threads(self, req: _Req) -> dict[str, Any]:
        channel, guild = self._channel(req.groups[0])
        if guild is None or not self._permissions(guild, channel, self.bot_user_id) & READ_MESSAGE_HISTORY:
            raise _ApiError(403, 50001)
        archived = [c for c in self._channels.values() if c.get("parent_id") == channel["id"]
                    and c.get("type") in (ANNOUNCEMENT_THREAD, PUBLIC_THREAD) and c["thread_metadata"]["archived"]]
        archived.sort(key=lambda c: c["thread_metadata"]["archive_timestamp"], reverse=True)
        limit = int(req.query.get("limit") or 50)
        return self._thread_list(archived[:limit])

    def _stored(self, cid: str, mid: str) -> _StoredMessage:
        self._channel(cid)
        for stored in self._messages.get(int(cid), []):
            if stored.record["id"] == int(mid) and not stored.record.get("deleted"):
                return stored
        raise _ApiError(404, 10008)

    def _get_message(self, req: _Req) -> dict[str, Any]:
        return dict(self._stored(*req.groups).message)

    def _edit_message(self, req: _Req) -> dict[str, Any]:
        stored = self._stored(*req.groups)
        body = req.json if isinstance(req.json, dict) else {}
        self._validate_message(body, req.files, partial=True)
        self._apply_edit(stored.message, body)
        stored.record |= json.loads(json.dumps(body)) | {"edited": True}
        return dict(stored.message)

    def _delete_message(self, req: _Req) -> None:
        self._stored(*req.groups).record["deleted"] = True

    @staticmethod
    def _apply_edit(message: dict[str, Any], body: Mapping[str, Any]) -> None:
        if "content" in body:
            message["content"] = body["content"] or ""
        if "embeds" in body:
            message["embeds"] = [_embed_response(embed) for embed in body["embeds"] or []]
        if "components" in body:
            message["components"] = list(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            # Ephemerality is fixed by the first response; edits cannot change it.
            fixed = EPHEMERAL | LOADING
            message["flags"] = (message["flags"] & fixed) | (int(body["flags"]) & ~fixed)
        message["edited_timestamp"] = _iso_now()

    # ---------------------------------------------------------------- REST handlers: interactions

    def _interaction_for(self, iid: str | None, token: str, *, unknown: int) -> _Interaction:
        interaction = self._interactions_by_token.get(token)
        if interaction is None or (iid is not None and interaction.id != int(iid)):
            raise _ApiError(404, unknown)
        return interaction

    def _interaction_callback(self, req: _Req) -> web.Response | dict[str, Any]:
        interaction = self._interaction_for(req.groups[0], req.groups[1], unknown=10062)
        if interaction.callbacks:
            raise _ApiError(400, 40060)
        if time.monotonic() - interaction.created > self.interaction_deadline:
            raise _ApiError(404, 10062)
        body = req.json if isinstance(req.json, dict) else {}
        ctype = body.get("type")
        data = body.get("data") or {}
        if ctype not in (1, 4, 5, 6, 7, 8, 9, 10, 12):
            raise _form_error(
                ("type",), "BASE_TYPE_CHOICES", f"Value must be one of valid callback types: {ctype}"
            )
        if ctype == 4:
            self._validate_message(data, req.files)
        interaction.callbacks.append(json.loads(json.dumps(body)))
        interaction.last_activity = time.monotonic()
        channel_id = int(interaction.payload["channel_id"])
        if ctype in (4, 5):
            flags = int(data.get("flags") or 0) & ~LOADING
            if ctype == 5:
                flags = (flags & EPHEMERAL) | LOADING
                data = {}
            interaction.original = self._message_object(
                self._snowflake(), channel_id, data, flags=flags, interaction=interaction
            )
            interaction.original["attachments"] = self._attach(req.uploads, data, channel_id, flags=flags)
            interaction.original_allowed_mentions = data.get("allowed_mentions")
            interaction.loading = ctype == 5
        elif ctype == 8:
            interaction.choices = list(data.get("choices") or [])
        if req.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        original = interaction.original
        result: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.payload["type"],
                "response_message_loading": interaction.loading,
                "response_message_ephemeral": bool(original and original["flags"] & EPHEMERAL),
            }
        }
        if ctype in (4, 5) and original is not None:
            result["interaction"]["response_message_id"] = original["id"]
            result["resource"] = {"type": ctype, "message": dict(original)}
        elif ctype in (7, 9):
            result["resource"] = {"type": ctype}
        return result

    def _execute_channel_webhook(self, req: _Req) -> web.Response | dict[str, Any]:
        webhook_id = int(req.groups[0])
        token, channel_id = self._channel_webhooks[webhook_id]
        if req.groups[1] != token:
            raise _ApiError(401, 50027)
        channel, guild = self._channel(channel_id)
        body = req.json if isinstance(req.json, dict) else {}
        self._validate_message(body, req.files)
        self._validate_webhook_identity(body)
        thread_id, thread_name = req.query.get("thread_id"), body.get("thread_name")
        forum = channel["type"] in (FORUM_CHANNEL, MEDIA_CHANNEL)
        if forum and thread_id and thread_name:
            raise _ApiError(400, 220002)
        if forum and not (thread_id or thread_name):
            raise _ApiError(400, 220001)
        if thread_name and not forum:
            raise _ApiError(400, 220003)
        target, mid = channel, None
        if thread_id:
            target = self._channels.get(int(thread_id)) if thread_id.isdigit() else None
            if target is None or target.get("parent_id") != channel["id"]:
                raise _ApiError(400, 10003)
            self._reopen(target)
        elif thread_name and guild is not None:
            self._check_tags(channel, body.get("applied_tags"), None)
            mid = self._snowflake()
            target = self._make_thread(mid, channel, guild, body, ttype=PUBLIC_THREAD, owner_id=webhook_id)
        message = self._store_message(target, body, req.files, mid=mid, webhook_id=webhook_id)
        wait = req.query.get("wait", "false").lower() in ("1", "true")
        return dict(message) if wait else web.Response(status=204)

    @staticmethod
    def _validate_webhook_identity(body: Mapping[str, Any]) -> None:
        """``username`` (1-80, not naming Discord) and ``avatar_url`` (a URL of at most 2048) as Discord checks them."""
        username = body.get("username")
        if username is not None:
            if not isinstance(username, str) or not 1 <= len(username) <= 80:
                raise _form_error(("username",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
            if any(word in username.lower() for word in ("discord", "clyde")):
                raise _form_error(("username",), "USERNAME_INVALID_CONTAINS", "Username cannot contain that.")
        avatar = body.get("avatar_url")
        if avatar is not None and (not isinstance(avatar, str) or len(avatar) > 2048
                                   or not re.match(r"^https?://[^\s/?#]+", avatar)):
            raise _form_error(("avatar_url",), "URL_TYPE_INVALID_URL", "Not a well formed URL.")

    def _post_followup(self, req: _Req) -> web.Response | dict[str, Any]:
        if int(req.groups[0]) in self._channel_webhooks:
            return self._execute_channel_webhook(req)
        if int(req.groups[0]) != self.application_id:
            raise _ApiError(404, 10015)
        interaction = self._interaction_for(None, req.groups[1], unknown=10015)
        if not interaction.callbacks:
            raise _ApiError(404, 10015)
        body = req.json if isinstance(req.json, dict) else {}
        self._validate_message(body, req.files)
        interaction.followups.append(json.loads(json.dumps(body)))
        interaction.last_activity = time.monotonic()
        channel_id = int(interaction.payload["channel_id"])
        if interaction.loading and interaction.original is not None:
            # After a defer, Discord turns the first followup into the (no longer loading) original.
            message = interaction.original
            self._apply_edit(message, body)
            message["attachments"] = self._attach(req.uploads, body, channel_id, flags=message["flags"])
            message["flags"] &= ~LOADING
            message["edited_timestamp"] = None
            interaction.loading = False
            interaction.completed_by = "followup"
            interaction.original_allowed_mentions = body.get("allowed_mentions")
        else:
            flags = int(body.get("flags") or 0)
            message = self._message_object(
                self._snowflake(), channel_id, body, flags=flags, interaction=interaction
            )
            message["attachments"] = self._attach(req.uploads, body, channel_id, flags=flags)
            interaction.messages[int(message["id"])] = message
        wait = req.query.get("wait", "false").lower() in ("1", "true")
        return dict(message) if wait else web.Response(status=204)

    def _webhook_message(self, req: _Req) -> tuple[_Interaction, dict[str, Any]]:
        if int(req.groups[0]) != self.application_id:
            raise _ApiError(404, 10015)
        interaction = self._interaction_for(None, req.groups[1], unknown=10015)
        if req.groups[2] == "@original":
            message = interaction.original
        else:
            message = interaction.messages.get(int(req.groups[2]))
            if message is None and interaction.original and interaction.original["id"] == req.groups[2]:
                message = interaction.original
        if message is None:
            raise _ApiError(404, 10008)
        return interaction, message

    def _get_webhook_message(self, req: _Req) -> dict[str, Any]:
        return dict(self._webhook_message(req)[1])

    def _edit_webhook_message(self, req: _Req) -> dict[str, Any]:
        interaction, message = self._webhook_message(req)
        body = req.json if isinstance(req.json, dict) else {}
        self._validate_message(body, req.files, partial=True)
        self._apply_edit(message, body)
        if "attachments" in body or req.uploads:
            message["attachments"] = self._attach(req.uploads, body, int(message["channel_id"]),
                                                  flags=message["flags"], kept=message.get("attachments") or [])
        if message is interaction.original:
            message["flags"] &= ~LOADING
            if interaction.loading:
                interaction.completed_by = "edit"
            interaction.loading = False
            if "allowed_mentions" in body:
                interaction.original_allowed_mentions = body["allowed_mentions"]
        interaction.edits.append(json.loads(json.dumps(body)))
        interaction.last_activity = time.monotonic()
        return dict(message)

    def _delete_webhook_message(self, req: _Req) -> None:
        interaction, message = self._webhook_message(req)
        if message is interaction.original:
            interaction.original = None
            interaction.loading = False
        else:
            interaction.messages.pop(int(message["id"]))
        interaction.last_activity = time.monotonic()

    # ---------------------------------------------------------------- gateway

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float = 5.0) -> Any:
        if self._loop is None:
            coro.close()
            raise RuntimeError("FakeDiscord is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _require_session(self) -> _Session:
        with self._cond:
            if self._session is None:
                raise RuntimeError("no client has identified with the fake gateway")
            return self._session

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        use_zlib = request.query.get("compress") == "zlib-stream" and self.transport_compression
        info = GatewayConnection(request.path, dict(request.query), "zlib-stream" if use_zlib else None)
        compressor = zlib.compressobj() if use_zlib else None
        conn = _Connection(ws=ws, info=info, compressor=compressor)
        with self._cond:
            self.gateway_connections.append(info)
        await self._send(
            conn, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None}
        )
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                raw = msg.data if isinstance(msg.data, str) else msg.data.decode()
                await self._on_gateway_message(conn, json.loads(raw))
        finally:
            with self._cond:
                info.closed = True
                for session in self._sessions.values():
                    if session.conn is conn:
                        session.conn = None
                        session.ready = False
                self._cond.notify_all()
        return ws

    async def _send(self, conn: _Connection, payload: dict[str, Any]) -> None:
        data = json.dumps(payload)
        async with conn.send_lock:
            if conn.ws.closed:
                return
            if conn.compressor is not None:
                frame = conn.compressor.compress(data.encode()) + conn.compressor.flush(zlib.Z_SYNC_FLUSH)
                await conn.ws.send_bytes(frame)
            else:
                await conn.ws.send_str(data)

    def _session_for(self, guild_id: int | None) -> _Session | None:
        """The session that gets a guild's events: the latest of the shard holding it (DMs: shard 0).

        A shard that is disconnected keeps its session, which buffers the events for its RESUME;
        None when no session ever held the guild's shard.
        """
        with self._cond:
            holding = [s for s in self._sessions.values() if s.holds(guild_id)]
            return max(holding, key=lambda s: s.used, default=None)

    async def _dispatch(self, event: str, data: dict[str, Any], session: _Session | None = None) -> int:
        """Send op 0 ``event`` to the session (default: the one of its guild's shard); kept for RESUME replay."""
        guild_id = int(data["guild_id"]) if data.get("guild_id") else None
        with self._cond:
            session = session or self._session_for(guild_id)
            if session is None:
                raise RuntimeError(f"no client has identified with the fake gateway for guild {guild_id}'s shard")
            session.seq += 1
            payload = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.events.append(payload)
            conn = session.conn
            if conn is not None:
                conn.info.events.append((event, guild_id))
        if conn is not None:
            await self._send(conn, payload)
        return payload["s"]

    async def _on_gateway_message(self, conn: _Connection, msg: dict[str, Any]) -> None:
        op, data = msg.get("op"), msg.get("d")
        with self._cond:
            conn.info.ops.append(op)
            self._cond.notify_all()
        if op in (2, 6):
            with self._cond:
                if self._gateway_down:
                    self._held.append((conn, op, data or {}))
                    return
        if op == 1:
            await self._send(conn, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif op == 8:
            await self._request_members(data or {})
        elif op == 3:
            with self._cond:
                self.presence_updates.append(data)

    async def _identify(self, conn: _Connection, data: dict[str, Any]) -> None:
        if not data.get("token"):
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        shard_id, count = data.get("shard") or (0, 1)
        session = _Session(id=secrets.token_hex(16), conn=conn, shard=(int(shard_id), int(count)))
        with self._cond:
            session.used = next(self._session_uses)
            conn.info.identify = {k: v for k, v in data.items() if k != "token"}
            conn.info.shard = session.shard
            self._sessions[session.id] = session
            self._session = session
            guilds = [g for g in self._guilds.values() if session.holds(g.id)]
            conn.info.guild_ids = [g.id for g in guilds]
        ready = {
            "v": 10,
            "user": self._users[self.bot_user_id] | {"verified": True, "mfa_enabled": False, "email": None},
            "user_settings": {},
            "session_type": "normal",
            "session_id": session.id,
            "resume_gateway_url": self.resume_gateway_url,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "auth": {},
            "application": {"id": str(self.application_id), "flags": 0},
            "shard": list(session.shard),
            "_trace": ['["fake-discord-gateway",{"micros":0}]'],
        }
        await self._dispatch("READY", ready, session)
        for guild in guilds:
            await self._dispatch("GUILD_CREATE", self._guild_create_payload(guild), session)
        with self._cond:
            session.ready = True
            self._cond.notify_all()

    async def _resume(self, conn: _Connection, data: dict[str, Any]) -> None:
        with self._cond:
            session = self._sessions.get(str(data.get("session_id")))
        if session is None or not data.get("token"):
            await self._send(conn, {"op": 9, "d": False, "s": None, "t": None})
            return
        with self._cond:
            conn.info.resumed = True
            conn.info.shard = session.shard
            session.conn = conn
            session.used = next(self._session_uses)
            self._session = session
            missed = [e for e in session.events if e["s"] > int(data.get("seq") or 0)]
        for event in missed:
            await self._send(conn, event)
        await self._dispatch("RESUMED", {"_trace": ['["fake-discord-gateway",{"micros":0}]']}, session)
        with self._cond:
            session.ready = True
            self._cond.notify_all()

    async def _request_members(self, data: dict[str, Any]) -> None:
        with self._cond:
            guild = self._guilds.get(int(data.get("guild_id") or 0))
            if guild is None:
                return
            wanted = {int(u) for u in data.get("user_ids") or []}
            query = (data.get("query") or "").lower()
            members = [
                dict(m)
                for uid, m in guild.members.items()
                if (not wanted or uid in wanted) and m["user"]["username"].lower().startswith(query)
            ]
            limit = int(data.get("limit") or 0)
            if limit:
                members = members[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(u) for u in wanted - {int(m["user"]["id"]) for m in members}],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._dispatch("GUILD_MEMBERS_CHUNK", chunk)


# --------------------------------------------------------------------------------------------
# Client subprocess helper
# --------------------------------------------------------------------------------------------


class ClientProcess:
    """A client (the bot, or the smoke-test client) run as a subprocess for the fake to talk to.

    Output (stdout + stderr) goes to a temporary log file, read with :meth:`output`; the process
    is terminated (then killed) by :meth:`stop` / on leaving the ``with`` block. ``env`` is
    added to a copy of ``os.environ``.
    """

    def __init__(self, args: Sequence[str], *, env: Mapping[str, str], cwd: str | Path | None = None) -> None:
        self.args = list(args)
        self.env = {**os.environ, **env}
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        self._final_output: str | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="fake-discord-client-", suffix=".log", delete=False)  # noqa: SIM115

    def start(self) -> ClientProcess:
        """Launch the process; returns self."""
        self._proc = subprocess.Popen(
            self.args, env=self.env, cwd=self.cwd, stdout=self._log, stderr=subprocess.STDOUT
        )
        return self

    @property
    def pid(self) -> int | None:
        """The process id once started."""
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        """Exit status, or None while running (or not started)."""
        return self._proc.poll() if self._proc else None

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` (e.g. ``signal.SIGTERM`` to test a graceful shutdown) to the running process."""
        if self._proc is None:
            raise RuntimeError("process not started")
        self._proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for the process to exit; returns its exit status."""
        if self._proc is None:
            raise RuntimeError("process not started")
        return self._proc.wait(timeout)

    def output(self) -> str:
        """Everything the process printed so far (still available after :meth:`stop`)."""
        if self._final_output is not None:
            return self._final_output
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after ``timeout``) and remove the log file."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout)
        if self._final_output is None:
            self._final_output = self.output()
        self._log.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._log.name)

    def __enter__(self) -> ClientProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
