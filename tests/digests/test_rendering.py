"""Rendering with the real templates: escaping, mentions, links, dates and Discord's size limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from digests.errors import ConfigError
from digests.models import PersonalDigest
from digests.rendering import DISCORD_MESSAGE_MAX, Renderer, escape_markdown, link_target, split_message
from digests.selection import Digest, DigestSection, StoryList
from digests.story_items import StoryItem

NOW = datetime(2026, 11, 28, 22, 30, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def item(title: str, *, url: str | None = "https://news.example/a", topics=("economy",), summary="", hours=1):
    return StoryItem(id=1, title=title, url=url, source="Wire", summary=summary,
                     effective_at=NOW - timedelta(hours=hours), topics=tuple(topics), has_body=bool(summary))


def make_digest(taxonomy, top: StoryItem, *others: StoryItem, more: int = 0) -> Digest:
    economy = taxonomy.get("economy")
    return Digest(top=top, sections=(DigestSection(topic=economy, items=others),) if others else (), more=more,
                  now=NOW)


def test_a_story_carried_widely_names_three_other_outlets_and_counts_the_rest(renderer, taxonomy):
    wide = StoryItem(id=1, title="Fed cuts rates", url=None, source="Wire", summary="", effective_at=NOW,
                     topics=("economy",), has_body=False, also=("AP", "BBC", "*CNN*", "NPR", "DW"))
    narrow = StoryItem(id=2, title="Markets rally", url=None, source="Wire", summary="", effective_at=NOW,
                       topics=("economy",), has_body=False, also=("AP",))
    text = "\n".join(renderer.briefing(make_digest(taxonomy, wide, narrow), tz=UTC_ZONE))
    assert r"also: AP, BBC, \*CNN\* and 2 more · " in text
    assert "NPR" not in text and "DW" not in text
    assert "also: AP · " in text


def test_escape_markdown_shows_formatting_characters_literally():
    assert escape_markdown("*bold* _it_ `code` ~~s~~ |sp| [x](y)") == (
        r"\*bold\* \_it\_ \`code\` \~\~s\~\~ \|sp\| \[x\](y)"
    )
    assert escape_markdown("# Heading") == r"\# Heading"
    assert escape_markdown("> quote") == r"\> quote"


def test_escape_markdown_breaks_every_mention():
    for text in ("@everyone breaking", "@here now", "<@123456>", "<@&987>"):
        escaped = escape_markdown(text)
        assert "@everyone" not in escaped and "@here" not in escaped
        assert "<@1" not in escaped and "<@&" not in escaped


def test_links_are_wrapped_so_they_do_not_unfurl():
    assert link_target("https://x.org/a b>c") == "<https://x.org/a%20b%3Ec>"


def test_briefing_renders_top_story_sections_and_more(renderer, taxonomy):
    digest = make_digest(taxonomy, item("Fed *cuts* rates", summary="The Fed cut rates by _half_ a point."),
                         item("Markets @everyone rally", url=None), more=4)
    text = "\n".join(renderer.briefing(digest, tz=UTC_ZONE))
    assert "Daily briefing · Saturday 28 November 2026" in text
    assert r"[Fed \*cuts\* rates](<https://news.example/a>)" in text
    assert r"> The Fed cut rates by \_half\_ a point." in text
    assert taxonomy.get("economy").label in text
    assert "@everyone" not in text and "@\u200beveryone" in text
    assert "…and 4 more — use /stories" in text
    assert "1 h ago" in text


def test_briefing_dates_are_shown_in_the_targets_timezone(renderer, taxonomy):
    digest = make_digest(taxonomy, item("Late night story"))
    assert "Saturday 28 November" in renderer.briefing(digest, tz=UTC_ZONE)[0]
    assert "Sunday 29 November" in renderer.briefing(digest, tz=ZoneInfo("Pacific/Auckland"))[0]


def test_an_opted_in_role_is_the_only_mention(renderer, taxonomy):
    parts = renderer.briefing(make_digest(taxonomy, item("@here story")), tz=UTC_ZONE, mention_role_id=42)
    assert parts[0].startswith("<@&42>")
    assert "@here" not in parts[0]


def test_personal_digest_lists_the_users_topics(renderer, taxonomy):
    topics = [taxonomy.get("economy"), taxonomy.get("trade")]
    text = renderer.personal_digest(make_digest(taxonomy, item("Story")), tz=UTC_ZONE, topics=topics)[0]
    assert "Your briefing" in text
    assert taxonomy.get("trade").label in text


def test_story_list_and_its_empty_answer(renderer, taxonomy):
    found = StoryList(topic=taxonomy.get("economy"), query=None, hours=24, items=(item("Rates rise"),))
    assert "Rates rise" in renderer.story_list(found, tz=UTC_ZONE, now=NOW)[0]
    empty = StoryList(topic=None, query="penguins*", hours=12, items=())
    answer = renderer.story_list(empty, tz=UTC_ZONE, now=NOW)[0]
    assert answer.startswith("No stories for “penguins\\*” in the last 12 h")


def test_a_huge_digest_is_split_into_parts_under_the_limit(renderer, taxonomy):
    long_title = "Very long headline " * 15
    others = tuple(item(f"{long_title} {i}") for i in range(14))
    parts = renderer.briefing(make_digest(taxonomy, item("Top", summary="S" * 400), *others), tz=UTC_ZONE)
    assert len(parts) > 1
    assert all(0 < len(part) <= DISCORD_MESSAGE_MAX for part in parts)
    assert sum(part.count("• ") for part in parts) == 14


def test_split_message_keeps_paragraphs_together_when_it_can():
    block_a = "**Heading A**\n" + "\n".join(f"• line {i}" for i in range(5))
    block_b = "**Heading B**\n" + "\n".join(f"• line {i}" for i in range(5))
    parts = split_message(f"{block_a}\n\n{block_b}", limit=len(block_a) + 5)
    assert parts == [block_a, block_b]


def test_split_message_cuts_a_single_overlong_line_safely():
    parts = split_message("word " * 1000, limit=2000)
    assert all(len(part) <= 2000 for part in parts)
    assert "".join(parts).replace(" ", "") == "word" * 1000
    spaceless = split_message("x" * 4500)
    assert [len(p) for p in spaceless] == [2000, 2000, 500]


@pytest.mark.parametrize("size", [1, 1999, 2000, 2001, 5000])
def test_split_message_never_exceeds_the_limit(size):
    lines = "\n".join("y" * 97 for _ in range(size // 98 + 1))[:size]
    parts = split_message(lines)
    assert all(len(part) <= 2000 for part in parts)
    assert "".join(parts).replace("\n", "") == lines.replace("\n", "")


def test_templates_dir_overrides_builtin_templates(tmp_path, taxonomy):
    (tmp_path / "topics.md.j2").write_text("Custom: {{ counts | length }} topics", encoding="utf-8")
    custom = Renderer(tmp_path)
    assert custom.topic_list([(taxonomy.get("trade"), 3)]) == ["Custom: 1 topics"]
    assert "Daily briefing" in custom.briefing(make_digest(taxonomy, item("x")), tz=UTC_ZONE)[0]


def test_a_broken_user_template_is_a_clear_config_error(tmp_path, taxonomy):
    (tmp_path / "topics.md.j2").write_text("{{ no_such_variable }}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"topics\.md\.j2"):
        Renderer(tmp_path).topic_list([])
    with pytest.raises(ConfigError, match="not a directory"):
        Renderer(tmp_path / "missing")


def test_replies_keep_one_fact_per_line(renderer, taxonomy):
    digest = PersonalDigest(user_id=1, time_of_day="08:00", timezone="Europe/Brussels", created_at=NOW)
    next_at = datetime(2026, 11, 29, 8, tzinfo=ZoneInfo("Europe/Brussels"))
    lines = renderer.reply("subscribed", topic=taxonomy.get("trade"), digest=digest, already=False, first=True,
                           next_at=next_at)[0].split("\n")
    assert lines[0] == f"✅ Added {taxonomy.get('trade').label} to your personal digest."
    assert lines[1].startswith("Your digest comes by DM daily at 08:00 (Europe/Brussels)")
    assert lines[2] == "🕗 08:00 Europe/Brussels · next: Sun 29 Nov 08:00 (<t:1795935600:R>)"
    removed = renderer.reply("unsubscribed", removed=[taxonomy.get("trade")], remaining=[])[0].split("\n")
    assert len(removed) == 2


def test_an_unknown_reply_is_a_config_error(renderer):
    with pytest.raises(ConfigError, match="no_such_reply"):
        renderer.reply("no_such_reply")


def test_digests_sharing_a_body_differ_only_in_their_heading(renderer, taxonomy):
    shared = make_digest(taxonomy, item("Fed cuts rates"), item("Markets rally"))
    economy, trade = taxonomy.get("economy"), taxonomy.get("trade")
    tokyo = renderer.personal_digest(shared, tz=ZoneInfo("Asia/Tokyo"), topics=[economy])
    berlin = renderer.personal_digest(shared, tz=ZoneInfo("Europe/Berlin"), topics=[economy, trade])
    assert tokyo[0].splitlines()[2:] == berlin[0].splitlines()[2:]
    assert "Sunday 29 November" in tokyo[0] and "Saturday 28 November" in berlin[0]
    # A body is kept per digest object: another digest renders its own stories.
    for n in range(50):
        other = make_digest(taxonomy, item(f"Story number {n}"))
        assert f"Story number {n}" in renderer.personal_digest(other, tz=UTC_ZONE, topics=[economy])[0]


def test_a_macros_override_without_digest_body_is_a_config_error(tmp_path, taxonomy):
    (tmp_path / "_macros.md.j2").write_text("{% macro story_line(item, now) %}{{ item.title }}{% endmacro %}")
    with pytest.raises(ConfigError, match="digest_body"):
        Renderer(tmp_path).briefing(make_digest(taxonomy, item("Fed cuts rates")), tz=UTC_ZONE)
