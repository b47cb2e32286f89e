"""Posting digest parts to Discord: the domain's `Publisher`, over discord.py.

Every message goes out with `allowed_mentions` none, except a channel briefing's opted-in role.
A part carries the delivery's `nonce`; discord.py sends it with `enforce_nonce`, so Discord
drops a repeat of the part that was in flight when the bot died. Discord's errors are sorted here:

    429, 5xx, timeouts, connection errors   transient: retried with backoff, then DeliveryError(permanent=False)
    50007 (DMs closed)                      permanent: DeliveryError(permanent=True)
    50001 / 50013 (missing access/perms)    permanent
    10003 (unknown channel), other 403/404  permanent (a stored DM channel is forgotten and opened again)

The publisher is the one layer that retries a webhook: each try is a single request, paced by the
channel's window. discord.py's webhook adapter would retry 5xx five times with its own backoff
inside each of these tries (up to 20 unpaced requests for one part), so webhooks are executed here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

import aiohttp
import discord

from bot.pacing import Pacer
from digests.delivery import Destination
from digests.errors import DeliveryError

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
RETRIES = 4
UNKNOWN_CHANNEL = 10003
BACKOFF_SECONDS = 1.0
WEBHOOK_TIMEOUT_SECONDS = 30.0
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

    async def send(self, destination: Destination, content: str, *, nonce: str, mention_role_id: int | None) -> int:
        """Post one part; returns the message id."""
        attempt = 0
        while True:
            attempt += 1
            try:
                if destination.webhook_url:
                    return await self._send_webhook(destination, content, mention_role_id)
                channel = await self._channel(destination)
                await self.pacer.message(channel.id)
                message = await channel.send(content, nonce=nonce, allowed_mentions=mentions_for(mention_role_id))
                return message.id
            except (discord.Forbidden, discord.NotFound) as error:
                if destination.kind == "user" and error.code == UNKNOWN_CHANNEL and destination.dm_channel_id:
                    destination = replace(destination, dm_channel_id=None)
                    await self._forget_dm_channel(destination.id)
                    attempt -= 1  # opening the DM again is not a failed try
                    continue
                reason = _PERMANENT_REASONS.get(error.code) or f"Discord refused the message ({error.status})"
                raise DeliveryError(reason, permanent=True) from None
            except (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, TimeoutError) as error:
                status = 429 if isinstance(error, discord.RateLimited) else getattr(error, "status", None)
                if status is not None and status < 500 and status != 429:
                    reason = _PERMANENT_REASONS.get(getattr(error, "code", 0))
                    raise DeliveryError(reason or f"Discord rejected the message ({status})", permanent=True) from None
                if attempt == RETRIES:
                    raise DeliveryError(f"Discord unavailable after {RETRIES} tries ({status or 'network'})",
                                        permanent=False) from None
                log.info("send to %s %s failed (%s), retry %d", destination.kind, destination.id,
                         status or type(error).__name__, attempt)
                backoff = self.backoff_seconds * 2 ** (attempt - 1)
                await asyncio.sleep(max(backoff, getattr(error, "retry_after", 0.0)))

    async def _send_webhook(self, destination: Destination, content: str, mention_role_id: int | None) -> int:
        """Execute the webhook once; it takes no nonce, so a part in flight at a crash may be posted twice."""
        if self.session is None:
            raise DeliveryError("webhooks need an HTTP session", permanent=True)
        await self.pacer.message(destination.id)
        return await execute_webhook(self.session, destination.webhook_url or "", content,
                                     mentions_for(mention_role_id))

    async def _channel(self, destination: Destination) -> discord.abc.Messageable:
        if self.client is None:
            raise DeliveryError("only webhooks can be used without the bot", permanent=True)
        if destination.kind == "channel":
            return self.client.get_partial_messageable(destination.id)
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
                          allowed_mentions: discord.AllowedMentions) -> int:
    """Post `content` through a stored webhook URL in exactly one request; returns the message id.

    Errors are discord.py's own exception types, so `send` sorts them like the bot's: 429 is
    `RateLimited` (with Discord's `retry_after`), 403/404 `Forbidden`/`NotFound`, 5xx
    `DiscordServerError`. Nothing here logs the URL: it holds the webhook's token.
    """
    found = _WEBHOOK_PATH.search(url)
    if found is None:
        raise DeliveryError("the stored webhook URL is not a Discord webhook URL", permanent=True)
    payload = {"content": content, "allowed_mentions": allowed_mentions.to_dict()}
    async with session.post(discord.http.Route.BASE + found.group(), params={"wait": "true"}, json=payload,
                            timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_SECONDS)) as response:
        data = _json_or_text(await response.text())
        if 200 <= response.status < 300 and isinstance(data, dict):
            return int(data["id"])
        if response.status == 429:
            retry_after = data.get("retry_after") if isinstance(data, dict) else None
            raise discord.RateLimited(float(retry_after or response.headers.get("Retry-After") or 1))
        error_type = {403: discord.Forbidden, 404: discord.NotFound}.get(response.status)
        if error_type is None:
            error_type = discord.DiscordServerError if response.status >= 500 else discord.HTTPException
        raise error_type(response, data)


def _json_or_text(text: str) -> dict | str:
    """Discord's error bodies are JSON; a proxy's may not be."""
    try:
        return json.loads(text)
    except ValueError:
        return text
