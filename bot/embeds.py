"""A digest's `Embed` (plain data from `digests.embeds`) as discord.py's Embed, on every route alike.

The embed is cut to Discord's limits when it is rendered; it is fitted again here, as it is sent,
because a delivery resumed after an upgrade sends the embed an older version stored. The same
objects give the JSON of the raw routes (forum posts, webhooks) through `to_dict()`.
"""

from __future__ import annotations

from typing import Any

import discord

from digests.embeds import Embed, fit_message


def discord_embeds(embed: Embed | None) -> list[discord.Embed]:
    """The message's embeds: none, or `embed` within Discord's limits."""
    return [_to_discord(fitted) for fitted in fit_message([embed])] if embed is not None else []


def embeds_payload(embed: Embed | None) -> dict[str, Any]:
    """The `embeds` field of a raw message payload: nothing without an embed."""
    embeds = discord_embeds(embed)
    return {"embeds": [shown.to_dict() for shown in embeds]} if embeds else {}


def _to_discord(embed: Embed) -> discord.Embed:
    """`embed` as discord.py's Embed; empty texts and missing URLs are left out."""
    shown = discord.Embed(title=embed.title or None, url=embed.url, description=embed.description or None,
                          timestamp=embed.timestamp)
    if embed.author:
        shown.set_author(name=embed.author)
    if embed.footer:
        shown.set_footer(text=embed.footer)
    if embed.image_url:
        shown.set_image(url=embed.image_url)
    return shown
