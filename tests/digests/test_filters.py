"""Filters of a target's digest (digests/filters.py): what a rule matches, how include and exclude rules combine,
what is refused, that a story pool matches exactly as the one-story predicate does, and that RE2 does one linear
pass however catastrophic the pattern; then the rules as stored (SQLite and PostgreSQL) and applied to digests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import select

from digests import filters
from digests.delivery import compose
from digests.errors import InputError, NotFoundError
from digests.filters import (
    MAX_PROGRAM_SIZE,
    MAX_RULES,
    FilterSet,
    PoolMatches,
    SlotFilters,
    add_filter,
    filter_set_of,
    filters_of,
    parse_rule,
    remove_filter,
    replace_filters,
)
from digests.ingest.draft import StoryDraft
from digests.models import ChannelBriefing, Target, TargetFilter
from digests.selection import StoryPools, select_digest
from digests.store import add_stories, alembic_config, create_engine, session_scope, upgrade_database
from digests.story_items import StoryItem
from digests.targets import remove_briefing, setup_briefing, subscribe
from digests.text import normalise_title
from tests.conftest import NOW


def story(title: str, summary: str = "", source: str = "Wire", number: int = 1) -> StoryItem:
    return StoryItem(id=number, title=title, url=None, source=source, summary=summary, effective_at=NOW,
                     topics=(), has_body=False)


def rule(pattern: str, *, kind: str = "word", field: str = "any", action: str = "exclude"):
    return parse_rule(action=action, kind=kind, field=field, pattern=pattern)


def matches(pattern: str, title: str, *, kind: str = "word", field: str = "any", summary: str = "",
            source: str = "Wire") -> bool:
    return rule(pattern, kind=kind, field=field).matches(story(title, summary, source))


# What one rule matches ------------------------------------------------------------------------------


def test_words_match_whole_words_in_any_case_and_without_accents():
    assert matches("art", "Art fair opens in Basel") and matches("art", "A show of modern art.")
    assert not matches("art", "Party leaders meet") and not matches("art", "Artists strike")
    assert matches("zurich", "ZÜRICH stocks rise") and matches("Zürich", "Zurich stocks rise")
    assert matches("ÉLYSÉE", "Macron leaves the elysee") and matches("strasse", "Straße closed")
    assert not matches("strasse", "Baustraße closed")
    assert matches("covid-19", "COVID 19 cases fall") and not matches("covid-19", "Covid-190 variant")
    assert matches("U.S.", "Talks with the U.S. resume") and matches("u s", "U.S. rates")  # both fold to "u s"


def test_a_phrase_needs_its_words_in_order_and_next_to_each_other():
    assert matches("new york", "New-York votes") and matches("New  York", "in new york, today")
    assert not matches("new york", "York is new") and not matches("new york", "New big York")
    assert not matches("york times", "The New York Time")


def test_a_rule_looks_at_its_field_only():
    item = story("Markets calm", summary="Bitcoin slides again", source="Crypto Daily")
    assert rule("bitcoin", field="summary").matches(item) and not rule("bitcoin", field="title").matches(item)
    assert rule("crypto daily", field="source").matches(item) and not rule("crypto", field="title").matches(item)
    assert rule("bitcoin").matches(item) and rule("crypto").matches(item)  # any: title, summary or source


def test_a_regex_ignores_case_and_accents_unless_told_and_anchors_at_the_field():
    assert matches(r"\btariffs?\b", "TARIFF talks", kind="regex") and not matches(r"\btariffs?\b", "Tariffed",
                                                                                     kind="regex")
    assert matches("cafe", "Café owners protest", kind="regex") and matches("café", "CAFE closes", kind="regex")
    assert not matches("(?-i)Cafe", "cafe closes", kind="regex") and matches("(?-i)Cafe", "Café", kind="regex")
    assert matches("^analysis:", "Analysis: what next", kind="regex")
    assert not matches("^analysis:", "An analysis: what next", kind="regex")
    assert matches("next$", "Analysis: what next", kind="regex") and not matches("^what", "Analysis: what next",
                                                                               kind="regex")
    assert matches("^first line second line$", "x", summary="First line\nsecond line", kind="regex")


def test_excludes_win_and_includes_keep_only_what_one_of_them_matches():
    sport, war, both, other = (story("Cup final tonight", number=1), story("War in the north", number=2),
                               story("War halts cup final", number=3), story("Rates held", number=4))
    nothing = FilterSet()
    assert all(nothing.passes(item) for item in (sport, war, both, other))
    only_excluding = FilterSet((rule("war"),))
    assert [only_excluding.passes(item) for item in (sport, war, both, other)] == [True, False, False, True]
    including = FilterSet((rule("cup", action="include"), rule("rates", action="include")))
    assert [including.passes(item) for item in (sport, war, both, other)] == [True, False, True, True]
    mixed = FilterSet((*including.rules, rule("war")))
    assert [mixed.passes(item) for item in (sport, war, both, other)] == [True, False, False, True]
    contradiction = FilterSet((rule("war", action="include"), rule("war")))
    assert not any(contradiction.passes(item) for item in (sport, war, both, other))


@pytest.mark.parametrize(("pattern", "kind", "says"), [
    ("(a", "regex", "not a regular expression RE2 accepts: missing ): (a"),
    (r"(a)\1", "regex", "invalid escape sequence: \\1"),
    (r"(?<=a)b", "regex", "invalid perl operator"),
    (r"[\pL\pN]{50}", "regex", "too complex"),
    (r"\Afoo", "regex", "uses `\\A`"),
    (r"a\Cb", "regex", "uses `\\C`"),
    ("(?-m)^a", "regex", "uses `(?-m)`"),
    ("x" * 201, "regex", "1 to 200 characters"),
    ("   ", "word", "1 to 200 characters"),
    ("?!", "word", "no letter or digit"),
])
def test_a_rule_that_cannot_work_is_refused_with_the_reason(pattern, kind, says):
    with pytest.raises(InputError, match=None) as refused:
        rule(pattern, kind=kind)
    assert says in str(refused.value)


def test_a_regex_of_too_large_a_program_is_refused_whatever_its_length():
    assert rule(r"\pL+", kind="regex").regex.programsize <= MAX_PROGRAM_SIZE  # Unicode letters: 1,200-odd
    with pytest.raises(InputError, match="instructions"):
        rule(r"\pL{2}", kind="regex")  # about 2,400 instructions in 38 KB: within RE2_MAX_MEM, over the cap


def test_bad_action_kind_or_field_is_refused():
    for options in ({"action": "hide"}, {"kind": "glob"}, {"field": "body"}):
        with pytest.raises(InputError, match="is one of"):
            parse_rule(**{"action": "exclude", "kind": "word", "field": "any", "pattern": "x", **options})


# A pool matches as the one-story predicate does -------------------------------------------------------

CORPUS = [
    story("Zürich talks: NATO and the U.S.", "Leaders met.\nA second line", "Neue Zürcher Zeitung", 0),
    story("Café owners protest new tariffs", "", "Le Monde", 1),
    story("TARIFF war looms", "Straße closed; Ærø ferry_time", "Wire", 2),
    story("Analysis: what next for the Fed", "Rates held at 5%", "Reuters", 3),
    story("Ｆｕｌｌwidth ｔａｒｉｆｆ and ligature ﬁnance", "e\u0301cole", "Nikkei", 4),
    story("new york", "NEW YORK", "new york", 5),
    story("", "", "", 6),
    story("Cup final: war halts play", "Analysis", "ESPN", 7),
]
RULES = [
    ("zurich", "word", "any"), ("u s", "word", "title"), ("tariff", "word", "any"), ("tariffs", "word", "title"),
    ("new york", "word", "source"), ("ecole", "word", "summary"), ("finance", "word", "title"),
    ("ferry", "word", "any"), ("time", "word", "summary"), ("ferry_time", "word", "summary"),
    ("analysis", "word", "any"),
    (r"\btariffs?\b", "regex", "any"), ("^analysis", "regex", "any"), ("line$", "regex", "summary"),
    ("^$", "regex", "title"), ("x*", "regex", "source"), ("cafe", "regex", "title"), ("(?-i)NEW", "regex", "any"),
    ("held at \\d+%$", "regex", "summary"), ("war", "regex", "title"), ("^leaders met. a second", "regex", "summary"),
]


@pytest.mark.parametrize(("pattern", "kind", "field"), RULES)
def test_a_pool_finds_the_stories_each_rule_matches_one_by_one(pattern, kind, field):
    checked = rule(pattern, kind=kind, field=field)
    expected = {index for index, item in enumerate(CORPUS) if checked.matches(item)}
    assert PoolMatches(CORPUS).matching(checked) == expected


def test_a_pools_folded_lines_are_each_storys_own_fold():
    """The pool folds a field's texts together (`_folded_lines`): line by line, the same as `normalise_title`, on
    random text of ASCII, accents, ligatures, case-folding pairs, marks (and runs of them), digits, separators."""
    rng = random.Random(15)
    alphabet = "aAzZ09 _-.,’–\t\r\x0b\x1c\n\x85\u2028éÉßİıΣσς Ǆ ﬁ ½ ¹ ٣ Ω 日本 e\u0301\u0302 ḯ ệ" + "\u0301" * 4
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(2_000)]
    texts += ["e" + "\u0301" * 50 + "x", "", "ASCII only, twice  spaced"]
    lines = filters._folded_lines(texts).split(b"\n")
    assert len(lines) == len(texts)
    for text, line in zip(texts, lines, strict=True):
        words = normalise_title(text)
        assert line.decode().strip() == words and line.startswith(b" ") and line.endswith(b" ")


def test_a_pool_keeps_what_a_target_passes():
    pool = PoolMatches(CORPUS)
    for rules in [(rule("tariff"),), (rule("war", action="include"), rule(r"^analysis", kind="regex")),
                  (rule("new york", action="include", field="title"), rule("cafe", kind="regex", action="include"))]:
        target = FilterSet(rules)
        kept = list(pool.passing(range(len(CORPUS)), target))
        assert kept == [index for index, item in enumerate(CORPUS) if target.passes(item)]


def _slot_of(rules, padding: int = filters.TOGETHER_MIN_RULES):
    """`rules` among a slot's: with `padding` rules of other targets (words no story has), enough to match together."""
    others = tuple(rule(f"unseen{number}") for number in range(padding))
    return (*rules, *others)


@pytest.mark.parametrize(("pattern", "kind", "field"), RULES)
def test_a_slots_rules_matched_together_find_what_each_finds_alone(pattern, kind, field):
    checked = rule(pattern, kind=kind, field=field)
    every = tuple(rule(*other[:1], kind=other[1], field=other[2]) for other in RULES)
    slot = _slot_of(every)
    pool = PoolMatches(CORPUS)
    for other in slot[-filters.TOGETHER_AFTER:]:  # the pool is asked for some of the slot's rules first
        pool.passing_bits(FilterSet((other,), together=slot))
    assert len(pool._matches) == filters.TOGETHER_AFTER
    bits = pool.passing_bits(FilterSet((checked,), together=slot))
    assert len(pool._matches) == len(slot)  # then the rest all at once
    expected = {index for index, item in enumerate(CORPUS) if not checked.matches(item)}
    assert {index for index in range(len(CORPUS)) if bits >> index & 1} == expected


def test_a_pool_asked_for_few_of_a_slots_rules_matches_only_those():
    """A pool few targets read (a guild's own stories) matches their rules, not the slot's thousands."""
    slot = _slot_of((), padding=10 * filters.TOGETHER_MIN_RULES)
    pool = PoolMatches(CORPUS)
    for asked in slot[:filters.TOGETHER_AFTER - 1]:
        pool.passing_bits(FilterSet((asked,), together=slot))
    assert len(pool._matches) == filters.TOGETHER_AFTER - 1


def test_random_rules_matched_together_keep_what_each_target_passes(monkeypatch):
    """Random stories and random targets of words, phrases and regexes: the slot's rules matched together give
    every target what `FilterSet.passes` gives it, story by story (also where lines repeat, as sources do)."""
    rng = random.Random(17)
    vocabulary = ["war", "cup", "café", "Zürich", "rates", "NATO", "new", "york", "5%", "ﬁnance", "tariff", "İstanbul",
                  "ΣΟΦΊΑ", "σοφία", "straße", "STRASSE", "\u212aelvin", "kelvin", "日本"]

    def text(words: int) -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, words)))

    pool = [story(text(8), text(20), rng.choice(["Wire", "Le Monde", "new york"]), number) for number in range(300)]
    shapes = [lambda: rule(rng.choice(vocabulary), field=rng.choice(filters.FIELDS),
                           action=rng.choice(filters.ACTIONS)),
              lambda: rule(f"{rng.choice(vocabulary)} {rng.choice(vocabulary)}", field="title"),
              lambda: rule(rf"\b{rng.choice(vocabulary)[:3]}\w*", kind="regex", field=rng.choice(filters.FIELDS)),
              lambda: rule(rf"(?-i)^{rng.choice(vocabulary)}", kind="regex", field=rng.choice(filters.FIELDS),
                           action="include")]
    targets = [tuple({made.test: made for made in (rng.choice(shapes)() for _ in range(rng.randint(1, 5)))}.values())
               for _ in range(60)]
    together = tuple({made.test: made for rules in targets for made in rules}.values())
    assert len(together) >= filters.TOGETHER_MIN_RULES
    built, matcher = [], filters._LineMatcher
    monkeypatch.setattr(filters, "_LineMatcher", lambda rules, form: built.append(form) or matcher(rules, form))
    matches = PoolMatches(pool)
    for rules in targets:
        target = FilterSet(rules, together=together)
        assert list(matches.passing(range(len(pool)), target)) == \
            [index for index, item in enumerate(pool) if target.passes(item)]
    assert built and set(built) == {"word", "regex"}  # the first targets' rules one by one, then all the rest


def test_rules_re2_cannot_hold_together_are_matched_one_by_one(monkeypatch, caplog):
    small = filters.re2.Options()
    small.literal, small.max_mem, small.log_errors = True, 1024, False  # room for no DFA at all
    monkeypatch.setattr(filters, "_word_set_options", lambda: small)
    tariff, nato = rule("tariff"), rule("nato")
    slot = _slot_of((tariff, nato))
    pool = PoolMatches(CORPUS)
    for other in slot[-filters.TOGETHER_AFTER:]:
        pool.passing_bits(FilterSet((other,), together=slot))
    warned = []
    for target in (tariff, nato):
        kept = list(pool.passing(range(len(CORPUS)), FilterSet((target,), together=slot)))
        assert kept == [index for index, item in enumerate(CORPUS) if not target.matches(item)]
        warned.append(caplog.text.count("word rules are matched one by one"))
    assert warned == [3, 3]  # once for each field, at the first target only: RE2 is not asked again


def test_a_catastrophic_backtracking_pattern_is_one_linear_pass(monkeypatch):
    """`(a+)+$` takes a backtracking engine 2^n steps on "aaa…a!"; RE2 compiles it to a program of ten-odd
    instructions and reads the text once: one search per field, over its bytes, whatever they are."""
    searches: list[int] = []
    search = filters._search

    def counting(regex, data, pos):
        searches.append(len(data) - pos)
        return search(regex, data, pos)

    monkeypatch.setattr(filters, "_search", counting)
    evil = rule("(a+)+$", kind="regex", field="title")
    assert evil.regex.programsize <= 16
    title = "a" * 100_000 + "!"
    assert not evil.matches(story(title))
    assert searches == [len(title)]  # one pass over the 100 KB title, no retry per position
    assert evil.matches(story("a" * 100_000))

    searches.clear()
    pool = [story(title, number=0), story("aaa", number=1), story("b", number=2)]
    assert PoolMatches(pool).matching(evil) == {1}
    # The joined titles are searched from the start to the match on line 1, then from line 2 on: each byte once.
    assert searches == [len(title) + len("\naaa\nb"), len("b")]
    # The bound RE2 guarantees: work ∝ program size × text, here at most 16 × 100 KB steps for the title.
    assert evil.regex.programsize * sum(searches) <= 16 * (len(title) + 10)


# Stored rules (SQLite and PostgreSQL) ---------------------------------------------------------------------


def _briefing(session, taxonomy, channel_id=2, time_of_day="08:00", topics=None):
    briefing, _ = setup_briefing(session=session, taxonomy=taxonomy, guild_id=1, channel_id=channel_id,
                                 time_of_day=time_of_day, timezone="UTC", topics=topics, days=None,
                                 mention_role_id=None, quiet_day_notice=None, now=NOW - timedelta(days=3))
    return briefing


def test_rules_are_added_listed_capped_and_removed(engine, taxonomy):
    with session_scope(engine) as session:
        target = _briefing(session, taxonomy).id
        first, created = add_filter(session=session, target_id=target, action="include", kind="regex",
                                    field="title", pattern=" ^NATO ", now=NOW)
        assert created and (first.action, first.kind, first.field, first.pattern) == ("include", "regex", "title",
                                                                                      "^NATO")
        again, created = add_filter(session=session, target_id=target, action="include", kind="regex",
                                    field="title", pattern="^NATO", now=NOW)
        assert not created and again.id == first.id
        with pytest.raises(InputError, match="RE2"):
            add_filter(session=session, target_id=target, action="exclude", kind="regex", field="any",
                       pattern="(a", now=NOW)
        for n in range(MAX_RULES - 1):
            add_filter(session=session, target_id=target, action="exclude", kind="word", field="any",
                       pattern=f"word{n}", now=NOW)
        with pytest.raises(InputError, match=f"already {MAX_RULES} filter rules"):
            add_filter(session=session, target_id=target, action="exclude", kind="word", field="any",
                       pattern="one too many", now=NOW)
    with session_scope(engine) as session:
        rows = filters_of(session=session, target_id=target)
        assert len(rows) == MAX_RULES and rows[0].id == first.id and len(filter_set_of(session=session,
                                                                                        target_id=target)) == MAX_RULES
        assert remove_filter(session=session, target_id=target, rule=f"#{first.id}").pattern == "^NATO"
        with pytest.raises(NotFoundError):
            remove_filter(session=session, target_id=target, rule=str(first.id))
        with pytest.raises(NotFoundError):  # another target's rule is not this one's to remove
            other = _briefing(session, taxonomy, channel_id=3)
            remove_filter(session=session, target_id=other.id, rule=str(rows[1].id))
    with session_scope(engine) as session:
        assert len(filters_of(session=session, target_id=target)) == MAX_RULES - 1


def test_replacing_a_targets_rules_keeps_exactly_those_given_or_changes_nothing(engine, taxonomy):
    with session_scope(engine) as session:
        target, other = _briefing(session, taxonomy).id, _briefing(session, taxonomy, channel_id=3).id
        add_filter(session=session, target_id=target, action="exclude", kind="word", field="title", pattern="old",
                   now=NOW)
        add_filter(session=session, target_id=other, action="exclude", kind="word", field="any", pattern="theirs",
                   now=NOW)
        replace_filters(session=session, target_id=target, now=NOW, rules=[
            ("exclude", "word", "crypto"), ("include", "regex", "^Fed"), ("exclude", "word", " crypto ")])
    with session_scope(engine) as session:
        assert [(r.action, r.kind, r.field, r.pattern) for r in filters_of(session=session, target_id=target)] == [
            ("exclude", "word", "any", "crypto"), ("include", "regex", "any", "^Fed")]
    for rules, says in (([("exclude", "regex", "(a")], "RE2"),
                        ([("exclude", "word", f"w{n}") for n in range(MAX_RULES + 1)], f"At most {MAX_RULES}")):
        with pytest.raises(InputError, match=says), session_scope(engine) as session:
            replace_filters(session=session, target_id=target, rules=rules, now=NOW)
    with session_scope(engine) as session:
        assert [r.pattern for r in filters_of(session=session, target_id=target)] == ["crypto", "^Fed"]
        replace_filters(session=session, target_id=target, rules=[], now=NOW)
    with session_scope(engine) as session:
        assert filters_of(session=session, target_id=target) == []
        assert [r.pattern for r in filters_of(session=session, target_id=other)] == ["theirs"]


def test_removing_a_target_removes_its_rules(engine, taxonomy):
    with session_scope(engine) as session:
        gone, kept = _briefing(session, taxonomy), _briefing(session, taxonomy, channel_id=3)
        for target in (gone, kept):
            add_filter(session=session, target_id=target.id, action="exclude", kind="word", field="any",
                       pattern="sport", now=NOW)
    with session_scope(engine) as session:
        remove_briefing(session=session, briefing=session.get(ChannelBriefing, gone.id))
    with session_scope(engine) as session:
        assert session.exec(select(TargetFilter.target_id)).all() == [kept.id]


def _news(engine, taxonomy):
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=NOW - timedelta(hours=2), drafts=[
            StoryDraft(title="Zürich hosts NATO summit", source="Wire", topics=("defense",)),
            StoryDraft(title="NATO allies raise defence spending", source="Tabloid Daily", topics=("defense",)),
            StoryDraft(title="Army drills in the Baltic", source="Wire", summary="Bitcoin miners complain.",
                       topics=("defense",)),
            StoryDraft(title="Fed holds rates", source="Wire", topics=("economy",)),
        ])


def _titles(digest) -> list[str]:
    return ([digest.top.title] if digest.top else []) + [item.title for s in digest.sections for item in s.items]


def test_a_digest_holds_what_passes_its_filters_and_counts_what_they_left_out(engine, taxonomy):
    _news(engine, taxonomy)
    rules = FilterSet((rule("zurich", action="include"), rule("nato", action="include"),
                       rule("tabloid daily", field="source")))
    with session_scope(engine) as session:
        plain = select_digest(session=session, taxonomy=taxonomy, topics=["defense"], since=None, now=NOW)
        kept = select_digest(session=session, taxonomy=taxonomy, topics=["defense"], since=None, now=NOW,
                             filters=rules)
        shared = StoryPools()
        pooled = select_digest(session=session, taxonomy=taxonomy, topics=["defense"], since=None, now=NOW,
                               filters=rules, pools=shared)
        again = select_digest(session=session, taxonomy=taxonomy, topics=["defense"], since=None, now=NOW,
                              filters=FilterSet(tuple(reversed(rules.rules))), pools=shared)
    assert sorted(_titles(plain)) == ["Army drills in the Baltic", "NATO allies raise defence spending",
                                      "Zürich hosts NATO summit"] and plain.filtered == 0
    assert _titles(kept) == ["Zürich hosts NATO summit"] and kept.filtered == 2 and kept.more == 0
    assert _titles(pooled) == _titles(kept) and pooled.filtered == 2
    assert again is pooled  # the same rules in another order: the same digest, chosen once


def test_compose_reads_the_targets_rules_and_a_slot_reads_them_once(engine, taxonomy, renderer):
    _news(engine, taxonomy)
    slot = NOW.replace(minute=0)
    with session_scope(engine) as session:
        briefing = _briefing(session, taxonomy, time_of_day=slot.strftime("%H:%M"), topics="defense")
        add_filter(session=session, target_id=briefing.id, action="exclude", kind="regex", field="summary",
                   pattern=r"\bbitcoin\b", now=NOW)
        _, digest, _ = subscribe(session=session, taxonomy=taxonomy, user_id=9, topic="defense",
                                 default_timezone="UTC", now=NOW - timedelta(days=3))
        digest.time_of_day = slot.strftime("%H:%M")
        add_filter(session=session, target_id=digest.id, action="exclude", kind="word", field="title",
                   pattern="nato", now=NOW)
    snapshot = SlotFilters()
    with session_scope(engine) as session:
        briefing, digest = session.get(ChannelBriefing, briefing.id), session.get(type(digest), digest.id)
        alone = compose(session=session, taxonomy=taxonomy, renderer=renderer, target=briefing, now=slot)
        in_slot = compose(session=session, taxonomy=taxonomy, renderer=renderer, target=briefing, now=slot,
                          filters=snapshot)
        personal = compose(session=session, taxonomy=taxonomy, renderer=renderer, target=digest, now=slot,
                           filters=snapshot)
    assert alone.rules == in_slot.rules == 1 and alone.digest.filtered == in_slot.digest.filtered == 1
    assert "Army drills" not in "\n".join(map(str, alone.parts)) and "NATO" in "\n".join(map(str, alone.parts))
    assert personal.rules == 1 and _titles(personal.digest) == ["Army drills in the Baltic"]

    with session_scope(engine) as session:  # added after the slot began: counts from the next slot
        add_filter(session=session, target_id=briefing.id, action="exclude", kind="word", field="any",
                   pattern="zurich", now=NOW)
    with session_scope(engine) as session:
        briefing = session.get(ChannelBriefing, briefing.id)
        assert len(snapshot.get(session=session, target=briefing, slot_at=slot)) == 1
        assert len(snapshot.get(session=session, target=briefing, slot_at=slot + timedelta(days=1))) == 2
        assert len(snapshot.get(session=session, target=briefing, slot_at=slot + timedelta(minutes=7))) == 2  # post-now


def test_a_slot_matches_the_rules_of_targets_of_one_period_together(engine, taxonomy):
    """Daily and weekly targets of one slot read different pools: each target's rules come with those of its
    period's targets, the ones its pool is asked for (see `PoolMatches`)."""
    slot = NOW.replace(minute=0)
    with session_scope(engine) as session:
        daily = [_briefing(session, taxonomy, channel_id=10 + number, time_of_day=slot.strftime("%H:%M")).id
                 for number in range(2)]
        weekly = _briefing(session, taxonomy, channel_id=20, time_of_day=slot.strftime("%H:%M"))
        weekly.days = slot.strftime("%a").lower()
        weekly = weekly.id
        for target, pattern in ((daily[0], "nato"), (daily[1], "zurich"), (daily[1], "nato"), (weekly, "army")):
            add_filter(session=session, target_id=target, action="exclude", kind="word", field="any",
                       pattern=pattern, now=NOW)
    snapshot = SlotFilters()
    with session_scope(engine) as session:
        got = {target: snapshot.get(session=session, target=session.get(ChannelBriefing, target), slot_at=slot)
               for target in (*daily, weekly)}
    assert [rule.pattern for rule in got[daily[0]].rules] == ["nato"]
    for target in daily:
        assert sorted(rule.pattern for rule in got[target].together) == ["nato", "zurich"]
    assert [rule.pattern for rule in got[weekly].together] == ["army"]


# Migration 0018 -------------------------------------------------------------------------------------------


def test_the_filter_table_comes_and_goes_with_its_migration_and_keeps_the_targets(database_url, taxonomy):
    engine = create_engine(database_url)
    try:
        upgrade_database(engine, "0017")
        with engine.begin() as conn:
            conn.execute(sa.insert(Target.__table__).values(id=5, kind="user", time_of_day="08:00", timezone="UTC",
                                                           days="daily", topics="", paused=False, style="text",
                                                           created_at=NOW))
            assert not sa.inspect(conn).has_table("target_filter")
        upgrade_database(engine, "0018")
        with session_scope(engine) as session:
            add_filter(session=session, target_id=5, action="exclude", kind="word", field="any", pattern="sport",
                       now=NOW)
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):  # a rule's target must exist
            conn.execute(sa.insert(TargetFilter.__table__).values(target_id=99, action="exclude", kind="word",
                                                                   field="any", pattern="x", created_at=NOW))
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0017")
        with engine.connect() as conn:
            assert not sa.inspect(conn).has_table("target_filter")
            assert conn.execute(sa.text("SELECT id, kind FROM target")).all() == [(5, "user")]
        upgrade_database(engine)
        with session_scope(engine) as session:
            assert filters_of(session=session, target_id=5) == []
            assert session.get(Target, 5).created_at == datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    finally:
        engine.dispose()


def test_a_rule_stored_before_a_stricter_limit_is_skipped_not_fatal(engine, taxonomy, caplog):
    with session_scope(engine) as session:
        target = _briefing(session, taxonomy).id
        session.add(TargetFilter(target_id=target, action="exclude", kind="regex", field="any", pattern="(a",
                                 created_at=NOW))
        add_filter(session=session, target_id=target, action="exclude", kind="word", field="any", pattern="sport",
                   now=NOW)
    with session_scope(engine) as session:
        kept = filter_set_of(session=session, target_id=target)
    assert [r.pattern for r in kept.rules] == ["sport"] and "is skipped" in caplog.text
    caplog.clear()
    slot = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # the briefing's 08:00 UTC: read with the slot's snapshot
    with session_scope(engine) as session:
        in_slot = SlotFilters().get(session=session, target=session.get(Target, target), slot_at=slot)
    assert [r.pattern for r in in_slot.rules] == ["sport"]
    assert f"of target {target} is skipped" in caplog.text

