"""Posting digest parts to Discord: the domain's `Publisher`, over discord.py.

Every message goes out with `allowed_mentions` none, except a channel briefing's opted-in role; a rich
digest's first part carries its top story's embed (see `bot.embeds`) on every route alike.
A part carries the delivery's `nonce`; discord.py sends it with `enforce_nonce`, so Discord
drops a repeat of the part that was in flight when the bot died. Discord's errors are sorted here:

    429, 5xx, timeouts, connection errors   transient: retried with backoff, then DeliveryError(permanent=False)
    50007 (DMs closed)                      permanent: DeliveryError(permanent=True)
    50001 / 50013 (missing access/perms)    permanent
    10003 (unknown channel), other 403/404  permanent (a stored DM channel is forgotten and opened again)

The publisher is the one layer that retries a webhook: each try is a single request, paced by the
channel's window. discord.py's webhook adapter would retry 5xx five times with its own backoff
inside each of these tries (up to 20 unpaced requests for one part), so webhooks are executed here.

Forum posts, threads and crossposts go through discord.py's HTTP client as raw routes (no cache is
needed, so any process can deliver any target). Opening a thread a message already has (160004) and
crossposting a message twice (40033) are not errors: a resumed delivery finds what it did before a
crash. Discord allows about 10 crossposts an hour in a channel: a crosspost that would wait longer
than CROSSPOST_WAIT_SECONDS is postponed (a transient DeliveryError: the delivery is retried later)
instead of holding a delivery worker for up to an hour.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiohttp
import discord

from bot.embeds import discord_embeds, embeds_payload
from bot.pacing import Pacer
from digests.delivery import Destination
from digests.embeds import Embed
from digests.errors import DeliveryError

log = logging.getLogger(__name__)
T = TypeVar("T")

NO_MENTIONS = discord.AllowedMentions.none()
RETRIES = 4
UNKNOWN_CHANNEL = 10003
BACKOFF_SECONDS = 1.0
WEBHOOK_TIMEOUT_SECONDS = 30.0
# Threads and posts archive after a day without messages (Discord's ONE_DAY).
AUTO_ARCHIVE_MINUTES = 1440
THREAD_ALREADY_CREATED = 160004
ALREADY_CROSSPOSTED = 40033
CROSSPOST_WAIT_SECONDS = 60.0
# Clocks differ a little: a post is looked for from a few seconds before its request was noted.
CLOCK_SKEW = timedelta(seconds=10)
# The part of a stored webhook URL that names it; the host is replaced by the configured API base.
_WEBHOOK_PATH = re.compile(r"/webhooks/\d+/[^/?#]+")
_PERMANENT_REASONS = {
    50007: "cannot send DMs to this user (their DMs are closed)",
    50001: "the bot cannot see that channel (Missing Access)",
    50013: "the bot lacks permission to post there (Missing Permissions)",
    10003: "the channel no longer exists (Unknown Channel)",
    10013: "the user no longer exists (Unknown User)",
    10015: "the webhook no longer exists (Unknown Webhook)",
    50027: "the webhook's token is not valid (Invalid Webhook Token)",
    50083: "the thread is archived and the bot cannot reopen it",
    160005: "the thread is locked",
    40067: "the forum requires a tag on every post: set one with /briefing setup tag:",
    220001: "the webhook's channel is a forum: give it a thread or a post name",
}


def mentions_for(role_id: int | None) -> discord.AllowedMentions:
    """No mentions at all, or exactly the one role a manager opted in to."""
    if role_id is None:
        return NO_MENTIONS
    return discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(role_id)], replied_user=False)


DmChannelOpened = Callable[[int, int | None], Awaitable[None]]


class DiscordPublisher:
    """Sends messages to channels, DMs and webhooks; a DM costs one request once its channel is known.

    A user's DM channel comes from this process's cache, else from the destination (stored after
    the first DM), else Discord opens it and `on_dm_channel(user_id, channel_id)` stores it. A
    stored channel Discord no longer knows is forgotten (`on_dm_channel(user_id, None)`) and opened
    again. Webhooks are executed through `session`; without a client (`briefbot post --webhook`),
    only webhooks can be used.
    """

    def __init__(
        self,
        client: discord.Client | None,
        pacer: Pacer,
        *,
        session: aiohttp.ClientSession | None = None,
        backoff_seconds: float = BACKOFF_SECONDS,
        on_dm_channel: DmChannelOpened | None = None,
    ) -> None:
        self.client = client
        self.pacer = pacer
        self.session = session
        self.backoff_seconds = backoff_seconds
        self.on_dm_channel = on_dm_channel
        self._dm_channels: dict[int, int] = {}

    async def send(self, destination: Destination, content: str, *, nonce: str, mention_role_id: int | None,
                   thread_id: int | None = None, embed: Embed | None = None) -> int:
        """Post one part (into `thread_id`, if given) with its embed, if any; returns the message id."""

        async def attempt(destination: Destination) -> int:
            if destination.webhook_url:
                message = await self._send_webhook(destination, content, mention_role_id, thread_id=thread_id,
                                                   **embeds_payload(embed))
                return int(message["id"])
            channel = await self._channel(destination, thread_id)
            await self.pacer.message(channel.id)
            sent = await channel.send(content or None, nonce=nonce, allowed_mentions=mentions_for(mention_role_id),
                                      embeds=discord_embeds(embed))
            return sent.id

        return await self._with_retries(destination, attempt)

    async def start_post(self, destination: Destination, *, title: str, content: str, tag_id: int | None,
                         mention_role_id: int | None, embed: Embed | None = None) -> int:
        """Start a forum post whose first message is `content` (and `embed`); returns the post's id."""
        tags = [str(tag_id)] if tag_id else []

        async def attempt(destination: Destination) -> int:
            if destination.webhook_url:
                message = await self._send_webhook(destination, content, mention_role_id, thread_name=title,
                                                   applied_tags=tags, **embeds_payload(embed))
                return int(message["channel_id"])
            await self.pacer.message(destination.id)
            payload: dict[str, Any] = {
                "name": title, "auto_archive_duration": AUTO_ARCHIVE_MINUTES,
                "message": {"content": content, "allowed_mentions": mentions_for(mention_role_id).to_dict(),
                            **embeds_payload(embed)},
            }
            if tags:
                payload["applied_tags"] = tags
            route = discord.http.Route("POST", "/channels/{channel_id}/threads", channel_id=destination.id)
            return int((await self._http().request(route, json=payload))["id"])

        return await self._with_retries(destination, attempt)

    async def find_post(self, destination: Destination, *, title: str, since: datetime) -> int | None:
        """A post titled `title` in the destination's forum, started at or after `since` by the bot or its webhook.

        Active threads are listed for the whole guild, archived ones per channel (the newest 50): a post
        made before a crash is a few minutes old, so it is among them. Without the bot (`briefbot post`)
        nothing can be looked up: a webhook's post in flight at a crash may then be started twice.
        """
        if self.client is None or destination.guild_id is None:
            return None
        own = {self.client.user.id} if self.client.user else set()
        if destination.webhook_url:
            own.add(destination.id if destination.kind == "webhook" else _webhook_id(destination.webhook_url))

        def matches(thread: dict[str, Any]) -> bool:
            return (thread.get("parent_id") == str(destination.id) and thread.get("name") == title
                    and (not own or int(thread.get("owner_id") or 0) in own)
                    and discord.utils.snowflake_time(int(thread["id"])) >= since - CLOCK_SKEW)

        routes = [
            discord.http.Route("GET", "/guilds/{guild_id}/threads/active", guild_id=destination.guild_id),
            discord.http.Route("GET", "/channels/{channel_id}/threads/archived/public", channel_id=destination.id),
        ]
        for route in routes:
            try:
                listing = await self._with_retries(destination, lambda _, route=route: self._http().request(route))
            except DeliveryError as error:
                # A new post is active unless a moderator archived it at once: without Read Message History
                # the archived ones cannot be listed, and that must not stop the briefing.
                if not error.permanent or route.path.endswith("/active"):
                    raise
                log.info("could not list the archived posts of channel %s: %s", destination.id, error.reason)
                return None
            found = [int(thread["id"]) for thread in listing.get("threads", []) if matches(thread)]
            if found:
                return min(found)
        return None

    async def open_thread(self, destination: Destination, *, message_id: int, title: str) -> int:
        """Open a public thread from a message of the channel; a message has one thread, so a second try finds it."""

        async def attempt(destination: Destination) -> int:
            route = discord.http.Route("POST", "/channels/{channel_id}/messages/{message_id}/threads",
                                       channel_id=destination.id, message_id=message_id)
            try:
                thread = await self._http().request(route, json={"name": title,
                                                                 "auto_archive_duration": AUTO_ARCHIVE_MINUTES})
            except discord.HTTPException as error:
                if error.code != THREAD_ALREADY_CREATED:
                    raise
                return message_id  # a thread started from a message has the message's id
            return int(thread["id"])

        return await self._with_retries(destination, attempt)

    async def crosspost(self, destination: Destination, *, message_id: int) -> None:
        """Publish a message of an announcement channel to the servers that follow it."""

        async def attempt(destination: Destination) -> None:
            wait = self.pacer.crosspost_delay(destination.id)
            if wait > CROSSPOST_WAIT_SECONDS:
                raise DeliveryError(f"crossposting in this channel waits {wait:.0f} s for Discord's limit",
                                    permanent=False)
            await self.pacer.crosspost(destination.id)
            route = discord.http.Route("POST", "/channels/{channel_id}/messages/{message_id}/crosspost",
                                       channel_id=destination.id, message_id=message_id)
            try:
                await self._http().request(route)
            except discord.RateLimited as limited:
                self.pacer.hold_crossposts(destination.id, limited.retry_after)
                raise DeliveryError(f"crossposting in this channel waits {limited.retry_after:.0f} s for Discord's "
                                    "limit", permanent=False) from None
            except discord.HTTPException as error:
                if error.code != ALREADY_CROSSPOSTED:
                    raise

        await self._with_retries(destination, attempt)

    async def _with_retries(self, destination: Destination, attempt: Callable[[Destination], Awaitable[T]]) -> T:
        """Run one request, sorting Discord's errors (module docstring) and retrying the transient ones."""
        tries = 0
        while True:
            tries += 1
            try:
                return await attempt(destination)
            except (discord.Forbidden, discord.NotFound) as error:
                if destination.kind == "user" and error.code == UNKNOWN_CHANNEL and destination.dm_channel_id:
                    destination = replace(destination, dm_channel_id=None)
                    await self._forget_dm_channel(destination.id)
                    tries -= 1  # opening the DM again is not a failed try
                    continue
                reason = _PERMANENT_REASONS.get(error.code) or f"Discord refused the message ({error.status})"
                raise DeliveryError(reason, permanent=True) from None
            except (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, TimeoutError) as error:
                status = 429 if isinstance(error, discord.RateLimited) else getattr(error, "status", None)
                if status is not None and status < 500 and status != 429:
                    reason = _PERMANENT_REASONS.get(getattr(error, "code", 0))
                    raise DeliveryError(reason or f"Discord rejected the message ({status})", permanent=True) from None
                if tries == RETRIES:
                    raise DeliveryError(f"Discord unavailable after {RETRIES} tries ({status or 'network'})",
                                        permanent=False) from None
                log.info("send to %s %s failed (%s), retry %d", destination.kind, destination.id,
                         status or type(error).__name__, tries)
                backoff = self.backoff_seconds * 2 ** (tries - 1)
                await asyncio.sleep(max(backoff, getattr(error, "retry_after", 0.0)))

    async def _send_webhook(self, destination: Destination, content: str, mention_role_id: int | None,
                            **where: Any) -> dict[str, Any]:
        """Execute the webhook once; it takes no nonce, so a part in flight at a crash may be posted twice."""
        if self.session is None:
            raise DeliveryError("webhooks need an HTTP session", permanent=True)
        await self.pacer.message(destination.id)
        return await execute_webhook(self.session, destination.webhook_url or "", content,
                                     mentions_for(mention_role_id), username=destination.username,
                                     avatar_url=destination.avatar_url, **where)

    def _http(self) -> discord.http.HTTPClient:
        if self.client is None:
            raise DeliveryError("only webhooks can be used without the bot", permanent=True)
        return self.client.http

    async def _channel(self, destination: Destination, thread_id: int | None = None) -> discord.abc.Messageable:
        if self.client is None:
            raise DeliveryError("only webhooks can be used without the bot", permanent=True)
        if destination.kind == "channel":
            return self.client.get_partial_messageable(thread_id or destination.id)
        # This process's cache first: it replaces a stored channel found stale for an earlier part.
        channel_id = self._dm_channels.get(destination.id) or destination.dm_channel_id
        if channel_id is None:
            dm = await self.client.create_dm(discord.Object(destination.id))
            channel_id = self._dm_channels[destination.id] = dm.id
            if self.on_dm_channel is not None:
                await self.on_dm_channel(destination.id, channel_id)
        return self.client.get_partial_messageable(channel_id, type=discord.ChannelType.private)

    async def _forget_dm_channel(self, user_id: int) -> None:
        self._dm_channels.pop(user_id, None)
        if self.on_dm_channel is not None:
            await self.on_dm_channel(user_id, None)


async def execute_webhook(session: aiohttp.ClientSession, url: str, content: str,
                          allowed_mentions: discord.AllowedMentions, *, username: str | None = None,
                          avatar_url: str | None = None, thread_id: int | None = None, thread_name: str | None = None,
                          applied_tags: list[str] | None = None, embeds: list[dict[str, Any]] | None = None
                          ) -> dict[str, Any]:
    """Post `content` (and `embeds`, Discord's JSON) through a stored webhook URL in exactly one request; returns
    the message.

    `username` / `avatar_url` replace the webhook's own for this message; `thread_id` posts into a
    thread of its channel, `thread_name` (a forum's webhook) starts a post, tagged `applied_tags`;
    the message's `channel_id` is then the post's id.
    Errors are discord.py's own exception types, so `send` sorts them like the bot's: 429 is
    `RateLimited` (with Discord's `retry_after`), 403/404 `Forbidden`/`NotFound`, 5xx
    `DiscordServerError`. Nothing here logs the URL: it holds the webhook's token.
    """
    found = _WEBHOOK_PATH.search(url)
    if found is None:
        raise DeliveryError("the stored webhook URL is not a Discord webhook URL", permanent=True)
    payload: dict[str, Any] = {"content": content, "allowed_mentions": allowed_mentions.to_dict()}
    optional = {"username": username, "avatar_url": avatar_url, "thread_name": thread_name,
                "applied_tags": applied_tags or None, "embeds": embeds or None}
    payload.update({key: value for key, value in optional.items() if value is not None})
    params = {"wait": "true"} | ({"thread_id": str(thread_id)} if thread_id else {})
    async with session.post(discord.http.Route.BASE + found.group(), params=params, json=payload,
                            timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_SECONDS)) as response:
        data = _json_or_text(await response.text())
        if 200 <= response.status < 300 and isinstance(data, dict):
            return data
        if response.status == 429:
            retry_after = data.get("retry_after") if isinstance(data, dict) else None
            raise discord.RateLimited(float(retry_after or response.headers.get("Retry-After") or 1))
        error_type = {403: discord.Forbidden, 404: discord.NotFound}.get(response.status)
        if error_type is None:
            error_type = discord.DiscordServerError if response.status >= 500 else discord.HTTPException
        raise error_type(response, data)


def _webhook_id(url: str) -> int:
    """The id in a webhook URL (checked when it was stored)."""
    found = _WEBHOOK_PATH.search(url)
    return int(found.group().split("/")[2]) if found else 0


def _json_or_text(text: str) -> dict | str:
    """Discord's error bodies are JSON; a proxy's may not be."""
    try:
        return json.loads(text)
    except ValueError:
        return text
