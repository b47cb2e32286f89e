"""A digest's message parts as a delivery stores them (`Delivery.parts`, fixed when the slot is claimed).

A part is the text of one message, or a `RichPart`: text with an embed (a rich digest's first
message, see `digests.embeds`). Stored as JSON, a text part is a string, as every delivery stored
before rich digests has it, and a rich part an object with its `content` and `embed`; so a
delivery resumed after a crash, or after an upgrade, sends exactly what it started with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from digests.embeds import Embed


@dataclass(frozen=True)
class RichPart:
    """One message with an embed below its text (`content` may be empty)."""

    content: str
    embed: Embed


Part = str | RichPart


def dump_parts(parts: list[Part]) -> str:
    """`parts` as JSON for `Delivery.parts`."""
    return json.dumps([part if isinstance(part, str) else {"content": part.content, "embed": part.embed.to_json()}
                       for part in parts])


def load_parts(stored: str) -> list[Part]:
    """The parts `dump_parts` stored (plain strings, from any version)."""
    return [part if isinstance(part, str) else RichPart(part.get("content") or "", Embed.from_json(part["embed"]))
            for part in json.loads(stored)]


def content_of(part: Part) -> str:
    """The text of a part."""
    return part if isinstance(part, str) else part.content


def embed_of(part: Part) -> Embed | None:
    """The embed of a part, if it has one."""
    return None if isinstance(part, str) else part.embed
