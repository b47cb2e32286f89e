"""What the bot sends as a rich digest's embed: Discord's documented shape, never over a limit.

The payloads go to the fake Discord over HTTP, which refuses over-limit embeds as Discord does (400, 50035).
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from bot.embeds import discord_embeds, embeds_payload
from digests.embeds import Embed
from digests.rendering import Renderer
from digests.story_items import StoryItem
from tests.e2e.discord_shapes import EMBED, problems
from tests.e2e.fake_discord import FakeDiscord

AT = datetime(2026, 11, 30, 6, 15, tzinfo=UTC)


def hostile_story() -> StoryItem:
    return StoryItem(id=1, title="Storm @everyone " * 40, url="https://news.example/" + "p" * 2_100,
                     source="Wire <@&1> " * 60, summary="word " * 3_000, effective_at=AT, topics=("economy",),
                     has_body=True, also=tuple(f"Outlet {n}" for n in range(300)),
                     image_url="https://img.example/storm.jpg")


def test_an_embed_becomes_discords_shape_with_every_field():
    embed = Embed(title="Storm", description="Winds.", url="https://news.example/storm", author="Wire",
                  footer="⭐ Top story", timestamp=AT, image_url="https://img.example/storm.jpg")
    (payload,) = embeds_payload(embed)["embeds"]
    assert payload == {"type": "rich", "title": "Storm", "description": "Winds.", "url": "https://news.example/storm",
                       "author": {"name": "Wire"}, "footer": {"text": "⭐ Top story"},
                       "image": {"url": "https://img.example/storm.jpg"}, "timestamp": "2026-11-30T06:15:00+00:00",
                       "flags": 0}  # discord.py 2.7 sends the embed's flags
    assert problems(EMBED, payload) == []
    assert embeds_payload(None) == {} and discord_embeds(None) == []
    bare = embeds_payload(Embed(title="Storm"))["embeds"][0]
    assert set(bare) == {"type", "title", "flags"}  # nothing empty is sent


def test_briefbot_never_sends_an_over_limit_embed_even_from_a_part_stored_by_an_older_version():
    rendered = Renderer().top_story_embed(hostile_story())
    stored_long_ago = Embed(title="t " * 200, description="d " * 3_000, author="a " * 200, footer="f " * 1_100,
                            url="https://news.example/" + "u" * 2_100, image_url="ftp://img.example/x.jpg")
    with FakeDiscord() as fake:
        guild = fake.add_guild(name="Limits", channels=["text"])
        text = guild.channel("text")
        with httpx.Client(base_url=fake.api_base, headers={"Authorization": "Bot x.y.z"}) as api:
            for embed in (rendered, stored_long_ago):
                payload = embeds_payload(embed)
                assert problems(EMBED, payload["embeds"][0]) == []
                answer = api.post(f"/channels/{text}/messages", json={"content": "## 📰", **payload})
                assert answer.status_code == 200, answer.text
            refused = api.post(f"/channels/{text}/messages", json={"content": "## 📰", "embeds": [{
                "title": stored_long_ago.title, "description": stored_long_ago.description}]})
        assert refused.status_code == 400  # the same embed unfitted: what the fitting spares Briefbot
        shown = [message["embeds"][0] for message in fake.channel_messages(text)]
    assert shown[0]["image"] == {"url": "https://img.example/storm.jpg"} and "url" not in shown[0]
    assert "image" not in shown[1] and "url" not in shown[1]
