"""Saved searches: kept per target with their caps, and a section each in the target's digest (both stores)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from digests.archive import ArchivedBriefing, snapshot
from digests.archive_pages import ArchivePages
from digests.delivery import render_target
from digests.errors import Refusal
from digests.filters import FilterSet, parse_rule
from digests.ingest.draft import StoryDraft
from digests.models import PersonalDigest
from digests.saved_searches import MAX_SAVED_SEARCHES, add_saved_search, remove_saved_search, saved_searches_of
from digests.scheduler import is_active, scheduled_targets
from digests.selection import SEARCH_SECTION_MAX, Digest, SearchSection, StoryPools, select_digest
from digests.store import add_stories, session_scope
from digests.story_items import StoryItem
from digests.targets import (
    SlotReaders,
    TargetChoices,
    choices_of,
    personal_digest_of,
    subscribe,
    subscribe_query,
    unsubscribe,
)

USER = 41
SINCE_HOURS = 20


def refused(reply: str):
    """Expect a Refusal with this reply of the templates."""
    return pytest.raises(Refusal, match=f"^{reply}$")


def test_a_saved_search_is_tidied_capped_and_refused_clearly(engine, now):
    with session_scope(engine) as session:
        words, digest = subscribe_query(session=session, user_id=USER, query="  chip \t export   controls ",
                                        default_timezone="UTC", now=now)
        assert words == "chip export controls" and digest.time_of_day == "08:00"  # made as /subscribe makes it
        with refused("saved_search_exists"):
            add_saved_search(session=session, target_id=digest.id, query="Chip Export controls", now=now)
        with refused("saved_search_too_long") as too_long:
            add_saved_search(session=session, target_id=digest.id, query="word " * 21, now=now)
        assert too_long.value.details == {"limit": 100}
        with refused("saved_search_no_words"):
            add_saved_search(session=session, target_id=digest.id, query="?! -- …", now=now)
        for n in range(1, MAX_SAVED_SEARCHES):
            add_saved_search(session=session, target_id=digest.id, query=f"tariff{n}", now=now)
        with refused("saved_search_limit") as over:
            add_saved_search(session=session, target_id=digest.id, query="one more", now=now)
        assert over.value.details["searches"] == ["chip export controls", "tariff1", "tariff2", "tariff3", "tariff4"]
        with refused("saved_search_unknown"):
            remove_saved_search(session=session, target_id=digest.id, query="never saved")
        assert remove_saved_search(session=session, target_id=digest.id, query="CHIP  export controls").query \
            == "chip export controls"
        assert [saved.query for saved in saved_searches_of(session=session, target_id=digest.id)] == \
            ["tariff1", "tariff2", "tariff3", "tariff4"]


def test_a_digest_of_saved_searches_alone_is_scheduled_and_stops_with_its_last_search(engine, taxonomy, now):
    with session_scope(engine) as session:
        _, digest = subscribe_query(session=session, user_id=USER, query="Greenland", default_timezone="UTC", now=now)
        assert is_active(session, digest) and [t.key for t in scheduled_targets(session)] == [USER]
        subscribe(session=session, taxonomy=taxonomy, user_id=USER, topic="trade", default_timezone="UTC", now=now)
        unsubscribe(session=session, taxonomy=taxonomy, user_id=USER, topic="all")
        assert is_active(session, digest)  # the search is left
        remove_saved_search(session=session, target_id=digest.id, query="greenland")
        assert not is_active(session, digest) and scheduled_targets(session) == []


@pytest.fixture
def news(engine, taxonomy, now):
    """Before the watermark: an old chip story. Since: an economy story that names chips, seven technology stories
    on chip exports (seven events: they share only the three words), an event two outlets carried whose word
    "Nvidia" only one outlet's copy has, and a chip story only guild 9's feed carried."""
    since = now - timedelta(hours=SINCE_HOURS)
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=since - timedelta(hours=2), drafts=[
            StoryDraft(title="Chip export controls first floated", source="Old Wire")])
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=3), drafts=[
            StoryDraft(title="Federal Reserve weighs chip export controls in rates outlook", source="Markets",
                       topics=("economy",)),
            *(StoryDraft(title=f"Chip export controls worry supplier{n} Quarvin{n} Ledra{n} Mossberg{n}",
                         source=f"Tech {n}", topics=("technology",), published_at=now - timedelta(hours=3, minutes=n))
              for n in range(7)),
            StoryDraft(title="Washington tightens curbs on advanced processors sold abroad", source="Outlet A",
                       url="https://a.example/curbs", body="A long article.", topics=("technology",)),
            StoryDraft(title="Washington tightens curbs on advanced processors sold to buyers abroad",
                       source="Outlet B", url="https://b.example/curbs", summary="Nvidia shares fell.",
                       topics=("technology",)),
        ])
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=2), guild_id=9, drafts=[
            StoryDraft(title="Local fab hit by chip export controls", source="Guild Feed")])
    return since


def pick(engine, taxonomy, now, since, **options):
    with session_scope(engine) as session:
        return select_digest(session=session, taxonomy=taxonomy, since=since, now=now, **options)


def titles(items) -> list[str]:
    return [item.title for item in items]


def test_a_saved_search_is_a_section_of_what_arrived_since_the_last_digest_after_the_topics(engine, taxonomy, now,
                                                                                           news):
    digest = pick(engine, taxonomy, now, news, topics=["economy"], searches=["chip export controls", "nvidia"],
                  guild_ids=[])
    assert digest.top is not None and digest.top.title.startswith("Federal Reserve")  # the topic part, unchanged
    chips, nvidia = digest.searches
    assert chips.query == "chip export controls"
    # Best first, at most SEARCH_SECTION_MAX, the rest counted; not the story the topic part shows, nor the one
    # from before the watermark, nor guild 9's own story.
    assert len(chips.items) == SEARCH_SECTION_MAX and chips.more == 7 - SEARCH_SECTION_MAX
    assert [title.split()[4] for title in titles(chips.items)] == [f"supplier{n}" for n in range(SEARCH_SECTION_MAX)]
    # The event matches through the copy that says "Nvidia", and is shown by its best copy (with a body).
    assert titles(nvidia.items) == ["Washington tightens curbs on advanced processors sold abroad"]
    assert nvidia.items[0].also == ("Outlet B",)
    assert digest.sections == () and not digest.is_empty and digest.size == 1 + SEARCH_SECTION_MAX + 1

    in_guild = pick(engine, taxonomy, now, news, topics=["economy"], searches=["chip export controls"], guild_ids=[9])
    assert "Local fab hit by chip export controls" in titles(in_guild.searches[0].items)


def test_a_story_shown_above_is_not_repeated_and_a_search_with_nothing_new_has_no_section(engine, taxonomy, now,
                                                                                          news):
    digest = pick(engine, taxonomy, now, news, topics=["economy"], guild_ids=[],
                  searches=["chip export controls", "quarvin1", "quarvin6"])
    chips, sixth = digest.searches  # Quarvin1's story is in the first section: no section of its own
    assert "Quarvin1" in " ".join(titles(chips.items)) and titles(sixth.items) == [
        "Chip export controls worry supplier6 Quarvin6 Ledra6 Mossberg6"]
    shown = [digest.top.id, *(item.id for section in digest.searches for item in section.items)]
    assert len(shown) == len(set(shown))


def test_a_targets_filters_narrow_its_search_sections_too(engine, taxonomy, now, news):
    quarvin = FilterSet((parse_rule(action="exclude", kind="regex", field="title", pattern=r"quarvin[0-2]\b"),))
    digest = pick(engine, taxonomy, now, news, topics=["economy"], guild_ids=[], searches=["chip export controls"],
                  filters=quarvin)
    [chips] = digest.searches
    # Four of the seven chip stories are left, all shown, and what the rule left out is not counted as more.
    assert [title.split()[4] for title in titles(chips.items)] == [f"supplier{n}" for n in range(3, 7)]
    assert chips.more == 0
    unfiltered = pick(engine, taxonomy, now, news, topics=["economy"], guild_ids=[], searches=["chip export controls"])
    assert titles(unfiltered.searches[0].items)[0].split()[4] == "supplier0"  # the same pool, memoised apart


def test_a_personal_digest_of_saved_searches_alone_has_their_sections_and_says_what_it_follows(engine, taxonomy,
                                                                                              renderer, now, news):
    with session_scope(engine) as session:
        subscribe_query(session=session, user_id=USER, query="nvidia", default_timezone="UTC", now=now)
        personal_digest_of(session=session, user_id=USER).last_delivered_at = news
    with session_scope(engine) as session:
        target = session.exec(select(PersonalDigest).where(PersonalDigest.user_id == USER)).one()
        [text] = render_target(session=session, taxonomy=taxonomy, renderer=renderer, target=target, now=now)
    assert "-# 🔎 nvidia" in text and "**🔎 nvidia**" in text and "⭐" not in text
    assert "Washington tightens curbs on advanced processors sold abroad" in text
    with session_scope(engine) as session:
        remove_saved_search(session=session, target_id=target.id, query="nvidia")
        subscribe_query(session=session, user_id=USER, query="penguins", default_timezone="UTC", now=now)
    with session_scope(engine) as session:
        target = session.exec(select(PersonalDigest).where(PersonalDigest.user_id == USER)).one()
        assert render_target(session=session, taxonomy=taxonomy, renderer=renderer, target=target, now=now) == []


def test_the_targets_of_a_slot_run_each_search_once_per_pool(engine, taxonomy, renderer, now, news):
    users = (1, 2, 3)
    with session_scope(engine) as session:
        for user_id in users:
            subscribe(session=session, taxonomy=taxonomy, user_id=user_id, topic="economy", default_timezone="UTC",
                      now=now - timedelta(days=2))
            subscribe_query(session=session, user_id=user_id, query="chip export controls", default_timezone="UTC",
                            now=now - timedelta(days=2))
            personal_digest_of(session=session, user_id=user_id).time_of_day = now.strftime("%H:%M")
        subscribe_query(session=session, user_id=3, query="nvidia", default_timezone="UTC", now=now)
    searches: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "MATCH" in statement or "phraseto_tsquery" in statement:
            searches.append(statement)

    pools, readers = StoryPools(), SlotReaders()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(engine) as session:
            targets = session.exec(select(PersonalDigest).order_by(PersonalDigest.user_id)).all()
            texts = ["\n".join(render_target(session=session, taxonomy=taxonomy, renderer=renderer, target=target,
                                             now=now, pools=pools, readers=readers)) for target in targets]
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(searches) == 2  # one per distinct search, for three targets sharing one pool
    assert all("**🔎 chip export controls**" in text for text in texts) and "**🔎 nvidia**" in texts[2]
    with session_scope(engine) as session:
        alone = choices_of(session=session, target_id=targets[2].id)
        assert readers.choices(session=session, target_id=targets[2].id, slot_at=now) == alone \
            == TargetChoices(searches=("chip export controls", "nvidia"))


def test_an_archived_briefing_keeps_its_search_sections_and_counts_their_stories(now):
    def item(n: int) -> StoryItem:
        return StoryItem(id=n, title=f"Story {n}", url=None, source="Wire", summary="", effective_at=now,
                         topics=(), has_body=False)

    digest = Digest(top=None, sections=(), more=0, now=now,
                    searches=(SearchSection(query="chip export controls", items=(item(1), item(2)), more=3),))
    content = snapshot(digest)
    assert content["searches"] == [{"query": "chip export controls", "more": 3,
                                    "items": [{"title": f"Story {n}", "url": None, "source": "Wire", "summary": "",
                                               "at": now.isoformat(), "also": []} for n in (1, 2)]}]
    entry = ArchivedBriefing(key="k", slot_at=now, posted_at=now, tz=now.tzinfo, content=content)
    assert entry.story_count == 2
    page = ArchivePages().digest_html(entry)
    assert "<h2>🔎 chip export controls</h2>" in page and "…and 3 more matching" in page
