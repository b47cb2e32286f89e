"""Rendering with the real templates: escaping, mentions, links, dates and Discord's size limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from digests.errors import ConfigError
from digests.models import ChannelBriefing, PersonalDigest, TargetFilter
from digests.rendering import DISCORD_MESSAGE_MAX, Renderer, escape_markdown, link_target, split_message
from digests.selection import Digest, DigestSection, StoryList, coverage
from digests.story_items import StoryItem
from digests.targets import next_coverage

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


def test_compiled_templates_are_kept_between_runs_and_compiled_again_when_edited(tmp_path, taxonomy):
    overrides, cache = tmp_path / "templates", tmp_path / "cache"
    overrides.mkdir()
    (overrides / "topics.md.j2").write_text("First: {{ counts | length }}", encoding="utf-8")
    assert Renderer(overrides, cache_dir=cache).topic_list([]) == ["First: 0"]
    kept = sorted(cache.iterdir())
    assert kept and cache.stat().st_mode & 0o777 == 0o700
    # A new process: the compiled code is read back, so nothing new is written.
    assert Renderer(overrides, cache_dir=cache).topic_list([]) == ["First: 0"]
    assert sorted(cache.iterdir()) == kept
    (overrides / "topics.md.j2").write_text("Second: {{ counts | length }}", encoding="utf-8")
    assert Renderer(overrides, cache_dir=cache).topic_list([]) == ["Second: 0"]


def test_a_cache_that_cannot_be_used_only_costs_compiling(tmp_path, taxonomy):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory", encoding="utf-8")
    assert "Daily briefing" in Renderer(cache_dir=blocked / "templates").briefing(
        make_digest(taxonomy, item("x")), tz=UTC_ZONE)[0]
    gone = tmp_path / "gone"
    renderer = Renderer(cache_dir=gone)
    gone.rmdir()
    gone.write_text("replaced by a file after start", encoding="utf-8")  # reading and writing both fail
    assert "Daily briefing" in renderer.briefing(make_digest(taxonomy, item("x")), tz=UTC_ZONE)[0]


def test_replies_keep_one_fact_per_line(renderer, taxonomy):
    digest = PersonalDigest(user_id=1, time_of_day="08:00", timezone="Europe/Brussels", created_at=NOW)
    next_at = datetime(2026, 11, 29, 8, tzinfo=ZoneInfo("Europe/Brussels"))
    lines = renderer.reply("subscribed", topic=taxonomy.get("trade"), digest=digest, already=False, first=True,
                           next_at=next_at)[0].split("\n")
    assert lines[0] == f"✅ Added {taxonomy.get('trade').label} to your personal digest."
    assert lines[1].startswith("Your digest comes by DM every day at 08:00 (Europe/Brussels)")
    assert lines[2] == "🕗 08:00 Europe/Brussels every day · next: Sun 29 Nov 08:00 (<t:1795935600:R>)"
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


# --- Review 2026-11-30: link injection (M2), live bare links and message amplification (L3) ---------


def test_a_closing_parenthesis_in_a_url_does_not_end_the_masked_link(renderer, taxonomy):
    url = "https://news.example/a)[https://paypal.com/login](https://phish.example/login)https://discord.gg/scam?"
    text = renderer.briefing(make_digest(taxonomy, item("Masked link via the URL", url=url)), tz=UTC_ZONE)[0]
    target = text.split("](", 1)[1].split(")", 1)[0]
    assert target == ("<https://news.example/a%29%5Bhttps://paypal.com/login%5D%28https://phish.example/login%29"
                      "https://discord.gg/scam?>")
    assert "](https://phish" not in text


def test_link_targets_encode_what_markdown_reads_and_keep_an_ipv6_host():
    assert link_target("https://x.org/a (b) [c] <d> \\e `f` |g|") == (
        "<https://x.org/a%20%28b%29%20%5Bc%5D%20%3Cd%3E%20%5Ce%20%60f%60%20%7Cg%7C>")
    assert link_target("https://[2001:db8::1]:8443/w(x)?q=1#top") == "<https://[2001:db8::1]:8443/w%28x%29?q=1#top>"
    assert link_target("https://x.org/already%20encoded?a=1&b=2") == "<https://x.org/already%20encoded?a=1&b=2>"


def test_bare_links_in_titles_and_sources_are_not_live(renderer, taxonomy):
    story = StoryItem(id=1, title="Free nitro at https://discord.gg/xyz and discord.gg/abc", url=None,
                      source="www.evil.example/join", summary="", effective_at=NOW, topics=("economy",),
                      has_body=False)
    text = "\n".join(renderer.briefing(make_digest(taxonomy, story), tz=UTC_ZONE))
    assert "https://" not in text and "discord.gg" not in text and "evil.example" not in text
    assert text.replace("\u200b", "").count("discord.gg/") == 2  # reads the same
    assert escape_markdown("and/or U.S. 3.5 e.g.") == "and/or U.S. 3.5 e.g."


def test_an_overlong_url_is_shown_without_its_link_and_a_digest_stays_short(renderer, taxonomy):
    # A 2,000-character URL of spaces was 6,000 characters once encoded: 15 such items made 77 messages,
    # with links cut across parts.
    long_url = "https://news.example/" + " " * 1_979
    stories = [item(f"Story {n}", url=long_url) for n in range(15)]
    parts = renderer.briefing(make_digest(taxonomy, *stories), tz=UTC_ZONE)
    assert len(parts) == 1
    assert "• Story 3 — Wire" in parts[0] and "news.example" not in parts[0]


def test_a_long_line_is_never_cut_inside_a_masked_link():
    link = "[" + "word " * 100 + "](<https://x.org/" + "p" * 900 + ">)"
    line = "• " + "lead " * 200 + link + " — Wire"
    parts = split_message(line)
    assert all(len(part) <= DISCORD_MESSAGE_MAX for part in parts)
    assert any(part.startswith(link) for part in parts)


def test_subscriptions_and_briefing_show_say_what_the_next_digest_covers(renderer, taxonomy):
    brussels = ZoneInfo("Europe/Brussels")
    digest = PersonalDigest(user_id=1, time_of_day="08:00", timezone="Europe/Brussels", created_at=NOW,
                            last_delivered_at=datetime(2026, 11, 28, 7, tzinfo=UTC))
    next_at = datetime(2026, 11, 29, 8, tzinfo=brussels)
    lines = renderer.reply("subscriptions", digest=digest, topics=[taxonomy.get("trade")], next_at=next_at,
                           last=None, covered=next_coverage(digest, NOW))[0].split("\n")
    assert lines[3] == "Next digest covers: stories since Sat 28 Nov 08:00 (24 h)."
    digest.last_delivered_at = None
    first = renderer.reply("subscriptions", digest=digest, topics=[taxonomy.get("trade")], next_at=next_at,
                           last=None, covered=next_coverage(digest, NOW))[0]
    assert "Next digest covers: the 24 h before it (its first)." in first
    weekly = ChannelBriefing(guild_id=1, channel_id=2, time_of_day="08:00", timezone="Europe/Brussels", days="mon",
                             created_at=NOW, last_delivered_at=datetime(2026, 10, 1, 6, tzinfo=UTC))
    row = SimpleNamespace(briefing=weekly, topics=[], next_at=datetime(2026, 11, 30, 8, tzinfo=brussels),
                          last=None, covered=next_coverage(weekly, NOW), archive_url=None, archive_path=None,
                          searches=[], feeds=[], filters=[])
    shown = renderer.reply("briefing_list", rows=[row])[0]
    assert "08:00 Europe/Brussels on Mon · next:" in shown
    assert ("Next digest covers: only the last 7 days, since Mon 23 Nov 08:00: the last digest was Thu 01 Oct, "
            "and a digest covers at most one period.") in shown


def test_subscriptions_and_briefing_show_list_the_filter_rules_escaped(renderer, taxonomy):
    digest = PersonalDigest(user_id=1, time_of_day="08:00", timezone="UTC", created_at=NOW)
    rules = [TargetFilter(target_id=1, action="exclude", kind="word", field="any", pattern="*crypto* @everyone",
                          created_at=NOW),
             TargetFilter(target_id=1, action="include", kind="regex", field="title", pattern="(?i)chips? " + "x" * 60,
                          created_at=NOW)]
    mine = renderer.reply("subscriptions", digest=digest, topics=[taxonomy.get("trade")], next_at=NOW, last=None,
                          rules=rules)[0]
    filters = next(line for line in mine.split("\n") if line.startswith("Filters: "))
    assert filters.startswith("Filters: ⛔ “\\*crypto\\* @\u200beveryone” · ✅ “(?i)chips? xxx")
    assert filters.endswith("...” (`/digest filter list` shows them in full)")
    assert "Filters:" not in renderer.reply("subscriptions", digest=digest, topics=[taxonomy.get("trade")],
                                            next_at=NOW, last=None)[0]
    briefing = ChannelBriefing(guild_id=1, channel_id=2, time_of_day="08:00", timezone="UTC", created_at=NOW)
    row = SimpleNamespace(briefing=briefing, topics=[], next_at=NOW, last=None, covered=next_coverage(briefing, NOW),
                          archive_url=None, archive_path=None, searches=[], feeds=[], filters=rules[:1])
    assert "Filters: ⛔ “\\*crypto\\* @\u200beveryone” (`/briefing filter list` shows them in full)" in \
        renderer.reply("briefing_list", rows=[row])[0]


def test_a_quiet_week_is_called_so(renderer):
    weekly = coverage(since=NOW - timedelta(days=7), now=NOW, period=timedelta(days=7))
    text = renderer.render("quiet_day.md.j2", now=NOW, tz=ZoneInfo("UTC"), covered=weekly)
    assert text.startswith("## 📰 Weekly briefing") and "A quiet week" in text
    assert "Daily briefing" in renderer.render("quiet_day.md.j2", now=NOW, tz=ZoneInfo("UTC"), covered=None)


def test_a_rich_briefing_puts_its_top_story_in_an_embed_under_the_heading_and_the_rest_in_text(renderer, taxonomy):
    from digests.message_parts import RichPart

    top = StoryItem(id=1, title="Storm *nears* @everyone coast", url="https://news.example/storm", source="Wire",
                    summary="Winds of 150 km/h are expected.", effective_at=NOW - timedelta(hours=2),
                    topics=("economy",), has_body=True, also=("AP", "BBC"), image_url="https://img.example/storm.jpg")
    digest = make_digest(taxonomy, top, item("Markets rally"))
    parts = renderer.briefing(digest, tz=UTC_ZONE, mention_role_id=42, style="rich")
    first, rest = parts[0], parts[1:]
    assert isinstance(first, RichPart) and all(isinstance(part, str) for part in rest)
    assert first.content.startswith("<@&42>\n## 📰") and "Storm" not in first.content
    embed = first.embed
    assert embed.title == "Storm \\*nears\\* @\u200beveryone coast"
    assert embed.url == "https://news.example/storm" and embed.image_url == "https://img.example/storm.jpg"
    assert embed.description == "Winds of 150 km/h are expected."
    assert embed.author == "Wire" and embed.footer == "⭐ Top story · also: AP, BBC"
    assert embed.timestamp == NOW - timedelta(hours=2)
    text = "\n".join(rest)
    assert "Markets rally" in text and "Storm" not in text and "⭐" not in text
    # The text style is today's look, unchanged, and shares nothing with the rich one's cache.
    plain = renderer.briefing(digest, tz=UTC_ZONE, mention_role_id=42)
    assert all(isinstance(part, str) for part in plain) and "⭐ **[Storm" in plain[0]


def test_a_rich_personal_digest_and_a_top_story_without_picture_or_link(renderer, taxonomy):
    top = item("Quiet day at the Fed", url=None, summary="Nothing moved.")
    parts = renderer.personal_digest(make_digest(taxonomy, top), tz=UTC_ZONE, topics=[taxonomy.get("economy")],
                                     style="rich")
    assert parts[0].content.startswith("## 📬 Your briefing")
    assert (parts[0].embed.title, parts[0].embed.url, parts[0].embed.image_url) == ("Quiet day at the Fed", None, None)


def test_an_overlong_top_story_gives_an_embed_within_discords_limits(taxonomy):
    from digests.embeds import DESCRIPTION_MAX, TITLE_MAX, TOTAL_MAX

    renderer = Renderer()
    huge = StoryItem(id=1, title="Storm " * 100, url="https://news.example/" + "a" * 3_000, source="Wire " * 100,
                     summary="word " * 2_000, effective_at=NOW, topics=("economy",), has_body=True,
                     also=tuple(f"Outlet {n}" for n in range(50)))
    embed = renderer.top_story_embed(huge)
    assert len(embed.title) <= TITLE_MAX and embed.title.endswith("…")
    assert len(embed.description) <= DESCRIPTION_MAX and embed.size <= TOTAL_MAX
    assert len(embed.author) <= 256 and embed.url is None


def test_a_template_override_that_never_asks_for_the_embed_keeps_the_top_story_in_text(tmp_path, taxonomy):
    (tmp_path / "briefing.md.j2").write_text("## Old override\n{{ digest_body(digest) }}\n", encoding="utf-8")
    parts = Renderer(tmp_path).briefing(make_digest(taxonomy, item("Fed holds")), tz=UTC_ZONE, style="rich")
    assert all(isinstance(part, str) for part in parts) and "⭐ **[Fed holds" in parts[0]


def test_an_embed_template_override_renders_its_fields(tmp_path, taxonomy):
    source = (Renderer().env.loader.get_source(Renderer().env, "top_story_embed.md.j2")[0]
              .replace("⭐ Top story", "Lead of the day"))
    (tmp_path / "top_story_embed.md.j2").write_text(source, encoding="utf-8")
    parts = Renderer(tmp_path).briefing(make_digest(taxonomy, item("Fed holds")), tz=UTC_ZONE, style="rich")
    assert parts[0].embed.footer == "Lead of the day"


def test_a_story_line_rendered_once_is_never_given_to_another_story(renderer):
    """Lines are kept by the story's identity; a kept line keeps its story alive, so a story made after another
    is gone (which CPython often puts at the same address) gets its own line, never the other's."""
    for number in range(50):
        first = item(f"First story {number}")
        assert f"First story {number}" in renderer.env.globals["shared_line"](first, NOW)
        del first
        second = item(f"Second story {number}")
        assert f"Second story {number}" in renderer.env.globals["shared_line"](second, NOW)
