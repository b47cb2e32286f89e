"""What a digest holds and how `/stories` answers, with an injected clock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from digests.errors import InputError
from digests.ingest.draft import StoryDraft
from digests.selection import (
    DIGEST_MAX_ITEMS,
    MULTI_DAY_HIGHLIGHTS,
    MULTI_DAY_PER_TOPIC,
    StoryPool,
    StoryPools,
    coverage,
    find_stories,
    select_digest,
    topic_counts,
)
from digests.store import add_stories, session_scope
from digests.story_items import StoryItem


def add(engine, taxonomy, when, *drafts: StoryDraft):
    with session_scope(engine) as session:
        add_stories(session=session, drafts=drafts, taxonomy=taxonomy, now=when)


def digest(engine, taxonomy, now, topics=None, since=None):
    with session_scope(engine) as session:
        return select_digest(session=session, taxonomy=taxonomy, topics=topics, since=since, now=now)


def add_guild_and_public_stories(engine, taxonomy, now):
    """A story only guild 7's feed carried, and a public one, both on trade."""
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=1), guild_id=7,
                    drafts=[StoryDraft(title="Tariffs on local wine", source="Guild Feed")])
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=1),
                    drafts=[StoryDraft(title="Tariffs on steel", source="Wire")])


def all_titles(d) -> list[str]:
    titles = [d.top.title] if d.top else []
    return titles + [item.title for section in d.sections for item in section.items]


def test_first_digest_holds_the_24_hours_before_the_slot(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(hours=30), StoryDraft(title="Old NATO summit", source="A"))
    add(engine, taxonomy, now - timedelta(hours=2), StoryDraft(title="New NATO summit", source="A"))
    assert all_titles(digest(engine, taxonomy, now)) == ["New NATO summit"]


def test_a_first_digest_holds_what_a_daily_digest_of_its_slot_holds(engine, taxonomy, now):
    """What reached the store in the 24 h before the slot, a late arrival dated up to 12 h earlier included."""
    add(engine, taxonomy, now - timedelta(hours=2),
        StoryDraft(title="NATO summit filed late", source="A", published_at=now - timedelta(hours=30)))
    add(engine, taxonomy, now - timedelta(hours=2),
        StoryDraft(title="NATO summit of last week", source="A", published_at=now - timedelta(days=7)))
    first, daily = digest(engine, taxonomy, now), digest(engine, taxonomy, now, since=now - timedelta(days=1))
    assert all_titles(first) == all_titles(daily) == ["NATO summit filed late"]


def test_next_digest_holds_only_what_arrived_after_the_watermark(engine, taxonomy, now):
    last_delivery = now - timedelta(hours=24)
    add(engine, taxonomy, last_delivery - timedelta(hours=1), StoryDraft(title="Before", source="A"))
    add(engine, taxonomy, last_delivery + timedelta(hours=1), StoryDraft(title="After", source="A"))
    assert all_titles(digest(engine, taxonomy, now, since=last_delivery)) == ["After"]


def test_stories_older_than_36_hours_are_left_out_even_if_new_to_the_store(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(hours=1),
        StoryDraft(title="Ancient", source="A", published_at=now - timedelta(hours=40)),
        StoryDraft(title="Recent", source="A", published_at=now - timedelta(hours=30)))
    assert all_titles(digest(engine, taxonomy, now, since=now - timedelta(days=3))) == ["Recent"]


def test_a_story_claiming_a_future_date_counts_from_its_ingest(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(hours=1),
        StoryDraft(title="Time traveller", source="A", published_at=now + timedelta(days=300)))
    d = digest(engine, taxonomy, now)
    assert d.top is not None and d.top.effective_at == now - timedelta(hours=1)


def test_topics_filter_the_digest(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(hours=1),
        StoryDraft(title="NATO allies meet on defence spending", source="A"),
        StoryDraft(title="Federal Reserve holds interest rates", source="A"))
    assert all_titles(digest(engine, taxonomy, now, topics=["economy"])) == ["Federal Reserve holds interest rates"]


def test_a_story_carried_by_more_outlets_ranks_first(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(minutes=5), StoryDraft(title="Fresh single-source scoop", source="A"))
    for outlet in ("Reuters", "AP", "BBC"):
        add(engine, taxonomy, now - timedelta(hours=5), StoryDraft(title="Fed cuts interest rates", source=outlet))
    d = digest(engine, taxonomy, now)
    assert d.top is not None and d.top.title == "Fed cuts interest rates"
    assert len(d.top.also) == 2
    assert d.size == 2


def test_a_full_article_beats_a_bare_headline_of_the_same_age(engine, taxonomy, now):
    when = now - timedelta(hours=3)
    add(engine, taxonomy, when, StoryDraft(title="Headline only", source="A"),
        StoryDraft(title="With body", source="A", body="A real article body."))
    assert digest(engine, taxonomy, now).top.title == "With body"


def test_a_digest_shows_at_most_15_items_and_counts_the_rest(engine, taxonomy, now):
    # Twenty different events: no two headlines share a word besides "tariffs".
    drafts = [StoryDraft(title=f"Tariffs {i}: " + " ".join(f"w{i}x{k}" for k in range(4)), source="A")
              for i in range(20)]
    add(engine, taxonomy, now - timedelta(hours=1), *drafts)
    d = digest(engine, taxonomy, now)
    assert d.size == DIGEST_MAX_ITEMS
    assert d.more == 5


def pool_of_overlapping_topics(taxonomy, now, period: timedelta) -> tuple[StoryPool, tuple[str, str]]:
    """Sixty events over a period, each on one of three topics or on both of the first two."""
    first, second, third = (topic.slug for topic in list(taxonomy)[:3])
    items = [StoryItem(id=i, title=f"Event {i}", url=None, source="Wire", summary="",
                       effective_at=now - period * (i + 1) / 61, has_body=i % 5 == 0,
                       topics=(first, second) if i % 4 == 0 else ((first, second, third)[i % 3],))
             for i in range(60)]
    return StoryPool(items, coverage(since=now - period, now=now, period=period)), (second, first)


@pytest.mark.parametrize("period", [timedelta(days=1), timedelta(days=7)])
def test_a_digest_of_several_topics_shows_each_event_once_and_counts_the_rest_once(taxonomy, now, period):
    pool, followed = pool_of_overlapping_topics(taxonomy, now, period)
    d = pool.digest(taxonomy, followed)
    matching = [item for item in pool.ranked if set(item.topics) & set(followed)]
    lead = [d.top, *d.highlights]
    headlines = [item for section in d.sections for item in section.items]
    assert len({item.id for item in lead + headlines}) == len(lead + headlines) == d.size
    assert d.more == len(matching) - d.size > 0
    if period == timedelta(days=1):  # the best 15, grouped by topic
        assert lead == matching[:1] and sorted(headlines, key=matching.index) == matching[1:DIGEST_MAX_ITEMS]
        return
    # A week: the best events first, then each section's best, at most MULTI_DAY_PER_TOPIC each.
    assert lead == matching[:1 + MULTI_DAY_HIGHLIGHTS]
    for section in d.sections:
        home = [item for item in matching[len(lead):]
                if next(slug for slug in item.topics if slug in followed) == section.topic.slug]
        assert list(section.items) == home[:MULTI_DAY_PER_TOPIC]


def test_headlines_are_grouped_by_topic_in_taxonomy_order(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(hours=1),
        StoryDraft(title="Top story", source="A", body="Body text."),
        StoryDraft(title="Supreme Court rules on tariffs case", source="A"),
        StoryDraft(title="NATO deploys troops", source="A"),
        StoryDraft(title="Cat rescued from tree", source="A"))
    d = digest(engine, taxonomy, now)
    order = [section.topic.slug if section.topic else None for section in d.sections]
    positions = {topic.slug: i for i, topic in enumerate(taxonomy)}
    named = [slug for slug in order if slug]
    assert named == sorted(named, key=positions.__getitem__)
    assert order[-1] is None  # stories with no topic come last


def test_an_empty_digest_is_empty(engine, taxonomy, now):
    assert digest(engine, taxonomy, now).is_empty


def test_find_stories_by_topic_and_by_free_text(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(hours=1),
        StoryDraft(title="NATO allies meet", source="A", body="Talks covered Greenland and the Arctic."),
        StoryDraft(title="Fed holds rates", source="B"))
    with session_scope(engine) as session:
        by_topic = find_stories(session=session, taxonomy=taxonomy, topic="Defense & Security", query=None,
                                hours=24, limit=5, now=now)
        by_text = find_stories(session=session, taxonomy=taxonomy, topic="Greenland", query=None,
                               hours=24, limit=5, now=now)
        nothing = find_stories(session=session, taxonomy=taxonomy, topic="economy", query="penguins",
                               hours=24, limit=5, now=now)
    assert by_topic.topic is not None and by_topic.topic.slug == "defense"
    assert [i.title for i in by_topic.items] == ["NATO allies meet"]
    assert by_text.topic is None and by_text.query == "Greenland"
    assert [i.title for i in by_text.items] == ["NATO allies meet"]
    assert nothing.items == ()


def test_find_stories_limits_and_orders_newest_first(engine, taxonomy, now):
    for hours_ago in (5, 1, 3):
        add(engine, taxonomy, now - timedelta(hours=hours_ago), StoryDraft(title=f"Tariffs {hours_ago}h", source="A"))
    with session_scope(engine) as session:
        result = find_stories(session=session, taxonomy=taxonomy, topic="trade", query=None, hours=4, limit=10,
                              now=now)
    assert [i.title for i in result.items] == ["Tariffs 1h", "Tariffs 3h"]


@pytest.mark.parametrize(("hours", "limit"), [(0, 5), (169, 5), (24, 0), (24, 11)])
def test_find_stories_rejects_out_of_range_arguments(engine, taxonomy, now, hours, limit):
    with session_scope(engine) as session, pytest.raises(InputError):
        find_stories(session=session, taxonomy=taxonomy, topic="trade", query=None, hours=hours, limit=limit,
                     now=now)


def test_topic_counts_cover_every_topic(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(hours=1), StoryDraft(title="Tariffs rise", source="A"))
    add(engine, taxonomy, now - timedelta(hours=30), StoryDraft(title="Tariffs fall", source="A"))
    with session_scope(engine) as session:
        counts = {topic.slug: n for topic, n in topic_counts(session=session, taxonomy=taxonomy, now=now)}
    assert counts["trade"] == 1
    assert set(counts) == {topic.slug for topic in taxonomy}


def test_the_same_event_from_several_outlets_is_one_item(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(hours=2),
        StoryDraft(title="Fed holds interest rates steady as inflation cools", source="Reuters"),
        StoryDraft(title="Federal Reserve holds rates steady as inflation cools", source="AP"),
        StoryDraft(title="US Fed keeps interest rates steady, says inflation is cooling", source="BBC"),
        StoryDraft(title="Fed officials split over steady interest rates", source="Blog", url="https://b.example/x",
                   published_at=now - timedelta(days=1, hours=10)),
        StoryDraft(title="Flooding closes schools across Kerala", source="AP"),
        StoryDraft(title="Trump warns Iran over nuclear talks", source="Reuters"),
        StoryDraft(title="Trump warns China over trade talks", source="AP"))
    d = digest(engine, taxonomy, now, since=now - timedelta(days=2))
    titles = all_titles(d)
    fed = [t for t in titles if "steady" in t]
    assert len(fed) == 2  # the three same-day reports are one; the older blog post stays apart
    assert d.top is not None and set(d.top.also) | {d.top.source} == {"Reuters", "AP", "BBC"}
    assert "Trump warns Iran over nuclear talks" in titles and "Trump warns China over trade talks" in titles


def test_guild_visibility_applies_to_digests_stories_and_counts(engine, taxonomy, now):
    add_guild_and_public_stories(engine, taxonomy, now)
    with session_scope(engine) as session:
        own = select_digest(session=session, taxonomy=taxonomy, topics=None, since=None, now=now, guild_ids=[7])
        other = select_digest(session=session, taxonomy=taxonomy, topics=None, since=None, now=now, guild_ids=[8])
        found = find_stories(session=session, taxonomy=taxonomy, topic="trade", query=None, hours=24, limit=5,
                             now=now, guild_ids=[8])
        counts = dict((t.slug, n) for t, n in topic_counts(session=session, taxonomy=taxonomy, now=now, guild_ids=[8]))
    assert sorted(all_titles(own)) == ["Tariffs on local wine", "Tariffs on steel"]
    assert all_titles(other) == ["Tariffs on steel"]
    assert [i.title for i in found.items] == ["Tariffs on steel"]
    assert counts["trade"] == 1


def test_a_story_ingested_after_the_slot_waits_for_the_next_one(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(minutes=5), StoryDraft(title="Before the slot", source="A"))
    add(engine, taxonomy, now + timedelta(minutes=2), StoryDraft(title="After the slot", source="A",
                                                                 published_at=now - timedelta(minutes=1)))
    assert all_titles(digest(engine, taxonomy, now)) == ["Before the slot"]
    assert all_titles(digest(engine, taxonomy, now + timedelta(days=1), since=now)) == ["After the slot"]


def test_an_event_is_on_a_topic_when_any_outlet_tagged_it_so(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(hours=2),
        StoryDraft(title="Parliament passes sweeping tariff bill on Chinese steel", source="Reuters"),
        StoryDraft(title="Parliament passes sweeping bill on Chinese steel", source="AP"))
    with session_scope(engine) as session:
        tags = {item.source: item.topics for item in find_stories(
            session=session, taxonomy=taxonomy, topic=None, query="steel", hours=24, limit=5, now=now).items}
    assert tags == {"Reuters": ("trade",), "AP": ()}  # the premise: only one outlet's story is on trade
    d = digest(engine, taxonomy, now, topics=["trade"])
    assert d.size == 1 and d.top is not None and {d.top.source, *d.top.also} == {"Reuters", "AP"}
    assert d.top.topics == ("trade",)


def test_targets_of_one_slot_share_a_pool_unless_they_see_other_guild_stories(engine, taxonomy, now):
    add_guild_and_public_stories(engine, taxonomy, now)
    pools = StoryPools()
    since = now - timedelta(days=1)
    with session_scope(engine) as session:
        covered = coverage(since=since, now=now)
        public, guild_8, webhook = (pools.get(session, covered=covered, guild_ids=ids) for ids in ([], [8], []))
        guild_7 = pools.get(session, covered=coverage(since=since, now=now), guild_ids=[7, 8])
        first_digest = pools.get(session, covered=coverage(since=None, now=now), guild_ids=[])
        next_slot = pools.get(session, covered=coverage(since=now, now=now + timedelta(days=1)), guild_ids=[])
    assert public is guild_8 is webhook  # guild 8 has no stories of its own
    assert first_digest is public  # a first digest covers what a digest delivered a day before would
    assert guild_7 is not public and next_slot is not public
    assert sorted(all_titles(guild_7.digest(taxonomy, ["trade"]))) == ["Tariffs on local wine", "Tariffs on steel"]
    assert all_titles(public.digest(taxonomy, None)) == ["Tariffs on steel"]
    assert public.digest(taxonomy, ["trade", "economy"]) is public.digest(taxonomy, ["economy", "trade"])


def test_a_shared_pool_gives_each_target_what_it_would_get_alone(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(hours=3),
        StoryDraft(title="NATO allies meet on defence spending", source="A", body="Long read."),
        StoryDraft(title="Federal Reserve holds interest rates", source="B"),
        StoryDraft(title="Tariffs on steel rise again", source="C"))
    pools = StoryPools()
    for topics in (None, ["economy"], ["trade", "defense"], ["ai"]):
        with session_scope(engine) as session:
            shared = select_digest(session=session, taxonomy=taxonomy, topics=topics, since=None, now=now,
                                   guild_ids=[], pools=pools)
            alone = select_digest(session=session, taxonomy=taxonomy, topics=topics, since=None, now=now,
                                  guild_ids=[])
        assert shared == alone


def test_pools_keep_the_latest_windows_and_scopes_only(engine, taxonomy, now):
    with session_scope(engine) as session:
        for guild_id in (1, 2, 3):
            add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=1), guild_id=guild_id,
                        drafts=[StoryDraft(title=f"Local news {guild_id}", source=f"Guild {guild_id} Feed")])
    pools = StoryPools(windows=2, private_scopes=2)
    with session_scope(engine) as session:
        def pool(ids, at=now):
            return pools.get(session, covered=coverage(since=None, now=at), guild_ids=ids)

        first = pool([1])
        assert pool([1]) is first
        pool([2])
        pool([3])  # a third guild scope of the window: the least recently used one goes
        rebuilt = pool([1])
        assert rebuilt is not first and all_titles(rebuilt.digest(taxonomy, None)) == ["Local news 1"]
        public = pool([])
        for guild_id in (2, 3, 1):
            pool([guild_id])
        assert pool([]) is public  # the shared pool stays, however many guild scopes come and go
        pool([], now + timedelta(hours=1))
        pool([], now + timedelta(hours=2))  # a third window: the oldest goes
        assert pool([]) is not public


def test_workers_asking_at_once_share_one_pool(engine, taxonomy, now):
    add(engine, taxonomy, now - timedelta(hours=1), StoryDraft(title="Tariffs on steel", source="Wire"))
    pools = StoryPools()

    def ask(_: int):
        with session_scope(engine) as session:
            return pools.get(session, covered=coverage(since=None, now=now), guild_ids=[])

    with ThreadPoolExecutor(max_workers=8) as workers:
        answers = list(workers.map(ask, range(16)))
    assert all(answer is answers[0] for answer in answers)
    assert all_titles(answers[0].digest(taxonomy, None)) == ["Tariffs on steel"]
