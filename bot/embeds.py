"""A digest's `Embed` (plain data from `digests.embeds`, already cut to Discord's limits) as discord.py's Embed.

The same object gives the JSON of the raw routes (forum posts, webhooks) through `to_dict()`, so every
path sends the embed the same way.
"""

from __future__ import annotations

from typing import Any

import discord

from digests.embeds import Embed


def to_discord(embed: Embed) -> discord.Embed:
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


def embeds_payload(embed: Embed | None) -> dict[str, Any]:
    """The `embeds` field of a raw message payload: nothing without an embed."""
    return {"embeds": [to_discord(embed).to_dict()]} if embed is not None else {}
