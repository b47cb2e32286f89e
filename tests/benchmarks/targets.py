"""Putting many delivery targets into a store at once: personal digests with mixed topics, channel briefings.

Rows go in raw (ten thousand targets through `digests.targets` would take longer than what is
measured). Users follow one to four topics, the popular topics more often; a few percent of targets
are channel briefings, half of them for all topics. Delivery times and zones are spread the way a
deployment's users would spread them, or, with `slot`, every target is due at that one moment (its
time of day is the slot's in its zone) and was last delivered at its schedule's previous slot; a
`weekly_share` of them are then weekly channel briefings (on the slot's weekday in their zone).
With `filter_share`, that share of the targets carries two to five filter rules (see `filter_rules`).
`add_saved_searches` gives a share of them a saved search.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import re2

from digests.scheduling import previous_slot
from tests.benchmarks import rawstore
from tests.benchmarks.vocabulary import SEARCH_WORDS, SLOTS, SOURCES, TOPIC_WEIGHTS

USER_ID_BASE = 900_000_000_000_000_000
CHANNEL_ID_BASE = 800_000_000_000_000_000
GUILD_ID_BASE = 700_000_000_000_000_000
TIMEZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago",
             "America/Los_Angeles", "America/Sao_Paulo", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney")
TIMES = ("06:00", "06:30", "07:00", "07:15", "07:30", "08:00", "08:00", "08:00", "08:30", "09:00", "12:00", "18:00")
DAYS = ("daily", "daily", "daily", "weekdays", "mon,wed,fri")
# How many topics a user follows: 1 (30 %), 2 (35 %), 3 (25 %), 4 (10 %).
TOPIC_COUNTS = (1,) * 6 + (2,) * 7 + (3,) * 5 + (4,) * 2
# What filter rules are about: the names, places and things the generated headlines are made of.
_FILTER_WORDS = tuple(value for slot in ("country", "city", "leader", "official", "company", "tech_company", "team",
                                         "athlete", "artist", "product", "disease") for value in SLOTS[slot])
_OUTLETS = tuple(name for name, _, _ in SOURCES)


@dataclass(frozen=True)
class SeededTargets:
    """The ids of the targets put in: users of personal digests, (guild, channel) of briefings."""

    users: list[int]
    channels: list[tuple[int, int]]


def seed_targets(
    path: Path,
    *,
    count: int,
    seed: int,
    created_at: datetime,
    last_delivered_at: datetime | None,
    first_digest_share: float = 0.1,
    channel_share: float = 0.05,
    slot: datetime | None = None,
    weekly_share: float = 0.0,
    filter_share: float = 0.0,
) -> SeededTargets:
    """Insert `count` targets; `first_digest_share` of them were never delivered, the rest at `last_delivered_at`
    (with `slot`: at their previous slot before it); `filter_share` of them get filter rules."""
    rng = random.Random(seed)
    filter_rng = random.Random(seed + 1)  # the targets are the same with or without filters
    weighted_topics = [slug for slug, weight in TOPIC_WEIGHTS.items() for _ in range(weight)]
    created = rawstore.sql_time(created_at)
    targets, digests, subscriptions, briefings, rules = [], [], [], [], []
    users: list[int] = []
    channels: list[tuple[int, int]] = []
    for index in range(count):
        never = last_delivered_at is None or rng.random() < first_digest_share
        delivered = None if never else rawstore.sql_time(last_delivered_at)
        time_of_day, zone = rng.choice(TIMES), rng.choice(TIMEZONES)
        weekly = slot is not None and rng.random() < weekly_share
        days = rng.choice(DAYS)
        if slot is not None:
            local = slot.astimezone(ZoneInfo(zone))
            time_of_day, days = local.strftime("%H:%M"), local.strftime("%a").lower() if weekly else "daily"
            delivered = None if never else rawstore.sql_time(
                previous_slot(time_of_day=time_of_day, timezone=zone, days=days, before=slot))
        target_id = index + 1
        if filter_rng.random() < filter_share:
            rules += [(target_id, *rule, created) for rule in filter_rules(filter_rng)]
        if weekly or rng.random() < channel_share:
            guild_id, channel_id = GUILD_ID_BASE + index // 4, CHANNEL_ID_BASE + index
            topics = "" if rng.random() < 0.5 else ",".join(_topics(rng, weighted_topics, rng.randint(2, 5)))
            targets.append((target_id, "channel", time_of_day, zone, days, topics, 0, None, created, delivered))
            briefings.append((target_id, guild_id, channel_id, None, 0))
            channels.append((guild_id, channel_id))
            continue
        user_id = USER_ID_BASE + index
        targets.append((target_id, "user", time_of_day, zone, "daily", "", 0, None, created, delivered))
        digests.append((target_id, user_id))
        subscriptions += [(user_id, slug, created) for slug in _topics(rng, weighted_topics, rng.choice(TOPIC_COUNTS))]
        users.append(user_id)
    connection = rawstore.connect(path)
    try:
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO target (id, kind, time_of_day, timezone, days, topics, paused, "
                               "pause_reason, created_at, last_delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               targets)
        connection.executemany("INSERT INTO personal_digest (id, user_id) VALUES (?, ?)", digests)
        connection.executemany("INSERT INTO subscription (user_id, topic_slug, created_at) VALUES (?, ?, ?)",
                               subscriptions)
        connection.executemany("INSERT INTO channel_briefing (id, guild_id, channel_id, mention_role_id, "
                               "quiet_day_notice) VALUES (?, ?, ?, ?, ?)", briefings)
        connection.executemany("INSERT INTO target_filter (target_id, action, kind, field, pattern, created_at) "
                               "VALUES (?, ?, ?, ?, ?, ?)", rules)
        connection.execute("COMMIT")
    finally:
        connection.close()
    return SeededTargets(users, channels)


# What readers save as searches: the words `/stories` users type, and the names of the generated news (people,
# companies, places, products), alone or two together ("Nvidia tariffs"): a few hundred different searches.
_SEARCH_NAMES = (*SEARCH_WORDS, *(name for slot in ("leader", "company", "tech_company", "country", "product",
                                                    "disease", "athlete", "artist") for name in SLOTS[slot]))


def add_saved_searches(path: Path, *, share: float, seed: int, created_at: datetime) -> int:
    """Give `share` of the store's briefings and personal digests one saved search each; returns how many.

    Most are one name or word, a quarter two of them; the names are drawn uniformly, so the searches of
    10,000 targets are a few hundred distinct ones, as a deployment's readers' would be.
    """
    rng = random.Random(seed)
    connection = rawstore.connect(path)
    try:
        ids = [row[0] for row in connection.execute("SELECT id FROM target WHERE kind IN ('channel', 'user')")]
        chosen = sorted(rng.sample(ids, round(len(ids) * share)))
        rows = []
        for target_id in chosen:
            words = rng.choice(_SEARCH_NAMES)
            if rng.random() < 0.25:
                words = f"{words} {rng.choice(_SEARCH_NAMES)}"
            rows.append((target_id, words[:100], rawstore.sql_time(created_at)))
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO saved_search (target_id, query, created_at) VALUES (?, ?, ?)", rows)
        connection.execute("COMMIT")
    finally:
        connection.close()
    return len(rows)


def make_due(path: Path, users: Sequence[int], *, slot: datetime, since: datetime) -> None:
    """Make these users' digests due at `slot` (UTC), created and last delivered at `since`."""
    connection = rawstore.connect(path)
    try:
        connection.execute("BEGIN")
        connection.executemany(
            "UPDATE target SET time_of_day = ?, timezone = 'UTC', created_at = ?, last_delivered_at = ? "
            "WHERE id = (SELECT id FROM personal_digest WHERE user_id = ?)",
            [(slot.strftime("%H:%M"), rawstore.sql_time(since), rawstore.sql_time(since), user) for user in users])
        connection.execute("COMMIT")
    finally:
        connection.close()


def filter_rules(rng: random.Random) -> list[tuple[str, str, str, str]]:
    """Two to five rules (action, kind, field, pattern) as users write them: a fifth include, the rest exclude;
    names and things (any field) 45 %, two-word phrases 15 %, an outlet (source) 15 %, regexes 25 %."""
    rules = []
    for _ in range(rng.randint(2, 5)):
        action = "include" if rng.random() < 0.2 else "exclude"
        shape = rng.random()
        if shape < 0.45:
            rules.append((action, "word", "any", rng.choice(_FILTER_WORDS)))
        elif shape < 0.6:
            rules.append((action, "word", "title", " ".join(rng.sample([w for w in _FILTER_WORDS if " " not in w], 2))
                          if rng.random() < 0.5 else rng.choice([w for w in _FILTER_WORDS if " " in w])))
        elif shape < 0.75:
            rules.append(("exclude", "word", "source", rng.choice(_OUTLETS)))
        else:
            rules.append((action, "regex", rng.choice(("any", "title", "summary")), _regex(rng)))
    return list(dict.fromkeys(rules))


def _regex(rng: random.Random) -> str:
    """A regex of the kinds users write: alternatives, a prefix, an anchored word, a number pattern."""
    first, second = rng.sample(_FILTER_WORDS, 2)
    one, other = re2.escape(first), re2.escape(second)
    return rng.choice((
        rf"\b({one}|{other})\b",
        rf"^{one}",
        rf"\b{re2.escape(first[:4])}\w*",
        rf"{one}.*{other}",
        r"\d+(\.\d+)?%",
        rf"(?-i)\b{one}\b",
    ))


def _topics(rng: random.Random, weighted: list[str], count: int) -> list[str]:
    chosen: list[str] = []
    while len(chosen) < count:
        slug = rng.choice(weighted)
        if slug not in chosen:
            chosen.append(slug)
    return chosen
