"""A rich digest's embed: cut to each of Discord's limits, cleanly, and stored with a delivery's parts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from digests.embeds import (
    AUTHOR_MAX,
    DESCRIPTION_MAX,
    EMBEDS_PER_MESSAGE,
    FOOTER_MAX,
    TITLE_MAX,
    TOTAL_MAX,
    URL_MAX,
    Embed,
    fit_message,
)
from digests.message_parts import RichPart, content_of, dump_parts, embed_of, load_parts

AT = datetime(2026, 11, 28, 6, 15, tzinfo=UTC)


def words(count: int) -> str:
    """`count` characters of words, so a cut can fall between them."""
    return ("lorem ipsum " * (count // 12 + 1))[:count]


@pytest.mark.parametrize(("field", "limit"), [
    ("title", TITLE_MAX), ("description", DESCRIPTION_MAX), ("footer", FOOTER_MAX), ("author", AUTHOR_MAX),
])
def test_each_text_is_cut_at_a_word_to_its_limit_and_one_that_fits_is_untouched(field, limit):
    exact = Embed(**{"title": "t", field: words(limit)}).fitted()
    assert getattr(exact, field) == words(limit)
    cut = getattr(Embed(**{"title": "t", field: words(limit + 500)}).fitted(), field)
    assert len(cut) <= limit and cut.endswith("…") and not cut.endswith(" …")
    assert words(limit + 500).startswith(cut[:-1])


def test_the_total_of_6000_gives_up_the_description_first_then_the_footer():
    embed = Embed(title=words(TITLE_MAX), description=words(DESCRIPTION_MAX), footer=words(FOOTER_MAX),
                  author=words(AUTHOR_MAX)).fitted()
    assert embed.size <= TOTAL_MAX
    assert (len(embed.title), len(embed.author), len(embed.footer)) == (TITLE_MAX, AUTHOR_MAX, FOOTER_MAX)
    assert embed.description.endswith("…") and len(embed.description) <= TOTAL_MAX - TITLE_MAX - AUTHOR_MAX - FOOTER_MAX
    tight = Embed(title=words(TITLE_MAX), description="d", footer=words(FOOTER_MAX), author=words(AUTHOR_MAX)
                  ).fitted(room=1_000)
    assert tight.size <= 1_000 and tight.description == "" and tight.footer.endswith("…")


def test_urls_discord_would_refuse_are_left_out_and_the_title_stays():
    long_url = "https://news.example/" + "a" * URL_MAX
    embed = Embed(title="Storm", url=long_url, image_url="javascript:alert(1)").fitted()
    assert (embed.title, embed.url, embed.image_url) == ("Storm", None, None)
    fine = Embed(title="Storm", url="https://news.example/storm", image_url="https://img.example/é.jpg").fitted()
    assert (fine.url, fine.image_url) == ("https://news.example/storm", "https://img.example/%C3%A9.jpg")


def test_a_message_holds_at_most_ten_embeds_and_6000_characters_in_all():
    many = [Embed(title=f"Story {n}", description=words(1_500)) for n in range(12)]
    fitted = fit_message(many)
    assert len(fitted) <= EMBEDS_PER_MESSAGE and sum(e.size for e in fitted) <= TOTAL_MAX
    assert [e.title for e in fitted] == [f"Story {n}" for n in range(len(fitted))]
    assert len(fit_message([Embed(title=f"S{n}") for n in range(12)])) == EMBEDS_PER_MESSAGE


def test_parts_round_trip_and_deliveries_stored_before_rich_digests_still_load():
    embed = Embed(title="Storm", description="Winds.", url="https://news.example/storm", author="Wire",
                  footer="⭐ Top story", timestamp=AT, image_url="https://img.example/storm.jpg")
    parts = [RichPart("## 📰 Daily briefing", embed), "**Economy**\n• Markets rally"]
    assert load_parts(dump_parts(parts)) == parts
    assert json.loads(dump_parts(parts))[1] == "**Economy**\n• Markets rally"  # a text part is stored as before
    old = json.dumps(["## 📰 Daily briefing\n⭐ **Storm**", "• Markets rally"])
    assert [content_of(p) for p in load_parts(old)] == ["## 📰 Daily briefing\n⭐ **Storm**", "• Markets rally"]
    assert [embed_of(p) for p in load_parts(old)] == [None, None]
