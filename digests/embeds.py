"""A rich digest's top story as an embed: what it shows, cut to fit Discord's limits.

`digests` never imports discord: an `Embed` is plain data, rendered from `top_story_embed.md.j2`
(see `Renderer.top_story_embed`), stored with a delivery's parts and turned into Discord's embed by
`bot.embeds`. Discord refuses a whole message (400, code 50035) whose embed is over a limit, so
`fitted` cuts every text at a word (with an ellipsis) and drops a URL Discord would not take:
a title of 256 characters, a description of 4,096, a footer of 2,048, an author name of 256, 6,000
in all the embeds of a message (at most 10 of them), URLs of 2,048.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from digests.text import cut_at_word, web_url
from digests.timeutil import as_utc

TITLE_MAX = 256
DESCRIPTION_MAX = 4_096
FOOTER_MAX = 2_048
AUTHOR_MAX = 256
TOTAL_MAX = 6_000
EMBEDS_PER_MESSAGE = 10
URL_MAX = 2_048


@dataclass(frozen=True)
class Embed:
    """An embed as Briefbot sends it: a linked title, a description, the outlet as author, a footer, the
    story's time and its picture. Empty texts and None URLs are left out of the message."""

    title: str
    description: str = ""
    url: str | None = None
    author: str = ""
    footer: str = ""
    timestamp: datetime | None = None
    image_url: str | None = None

    @property
    def size(self) -> int:
        """The characters Discord counts towards the 6,000 of a message's embeds."""
        return len(self.title) + len(self.description) + len(self.author) + len(self.footer)

    def fitted(self, room: int = TOTAL_MAX) -> Embed:
        """This embed within Discord's limits and `room` characters in all: each text cut at a word,
        the description given up first and the footer next when the total is over."""
        fitted = replace(self, title=cut_at_word(self.title, TITLE_MAX),
                         description=cut_at_word(self.description, DESCRIPTION_MAX),
                         author=cut_at_word(self.author, AUTHOR_MAX), footer=cut_at_word(self.footer, FOOTER_MAX),
                         url=web_url(self.url, URL_MAX), image_url=web_url(self.image_url, URL_MAX))
        for name in ("description", "footer", "author", "title"):
            over = fitted.size - room
            if over <= 0:
                break
            text = getattr(fitted, name)
            fitted = replace(fitted, **{name: cut_at_word(text, len(text) - over) if len(text) > over else ""})
        return fitted

    def to_json(self) -> dict[str, Any]:
        """As stored with a delivery's parts (see `digests.message_parts`)."""
        return {"title": self.title, "description": self.description, "url": self.url, "author": self.author,
                "footer": self.footer, "timestamp": self.timestamp.isoformat() if self.timestamp else None,
                "image_url": self.image_url}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Embed:
        """An embed as `to_json` stored it."""
        stamp = data.get("timestamp")
        return cls(title=data.get("title") or "", description=data.get("description") or "", url=data.get("url"),
                   author=data.get("author") or "", footer=data.get("footer") or "",
                   timestamp=as_utc(datetime.fromisoformat(stamp)) if stamp else None, image_url=data.get("image_url"))


def fit_message(embeds: list[Embed]) -> list[Embed]:
    """The embeds of one message within Discord's limits: at most 10, 6,000 characters in all.

    Each is cut to its own limits (so the first always fits); a later one that does not fit in the room
    the ones before it left is left out with the ones after it (a digest's embeds are in rank order).
    """
    fitted: list[Embed] = []
    room = TOTAL_MAX
    for embed in embeds[:EMBEDS_PER_MESSAGE]:
        embed = embed.fitted()
        if embed.size > room:
            break
        fitted.append(embed)
        room -= embed.size
    return fitted
