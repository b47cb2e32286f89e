"""Unit tests for the topic taxonomy: matching rules, scoring, resolving and loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from digests.errors import BriefbotError, ConfigError, NotFoundError
from digests.topics import Taxonomy, Topic, load_taxonomy, parse_taxonomy

BUILTIN_SLUGS = [
    "defense",
    "diplomacy",
    "us-politics",
    "economy",
    "trade",
    "technology",
    "science-health",
    "immigration",
    "energy-climate",
    "law-courts",
    "elections",
    "sports",
    "culture",
]


def taxonomy(**topics: list[str]) -> Taxonomy:
    """A taxonomy with one topic per keyword argument (slug = argument name)."""
    return Taxonomy(Topic(slug=s, name=s.title(), emoji="", keywords=tuple(k)) for s, k in topics.items())


@pytest.fixture(scope="module")
def builtin() -> Taxonomy:
    """The built-in keyword rules alone: these tests are about how keywords match."""
    return load_taxonomy(tagger="keywords")


# --- matching rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title", ["He said the plan was sound", "Aid arrives in Gaza", "Former aide speaks", "Air fares rise"]
)
def test_ai_does_not_match_inside_or_near_other_words(builtin: Taxonomy, title: str) -> None:
    assert "technology" not in builtin.tag(title)


@pytest.mark.parametrize(
    "title", ["AI start-ups raise record sums", "Regulators look at \u201cAI\u201d claims"]
)
def test_ai_matches_as_a_word(builtin: Taxonomy, title: str) -> None:
    assert "technology" in builtin.tag(title)


@pytest.mark.parametrize(
    "title", ["Ice cream sales slump", "Oil price falls", "Police name suspect", "Thin ice on the lake"]
)
def test_ice_the_agency_is_case_sensitive(builtin: Taxonomy, title: str) -> None:
    assert "immigration" not in builtin.tag(title)


def test_ice_matches_in_capitals_and_possessive(builtin: Taxonomy) -> None:
    assert "immigration" in builtin.tag("ICE\u2019s new detention centre opens")


def test_capitalised_keyword_does_not_match_lowercase_prose() -> None:
    tax = taxonomy(economy=["Fed"])
    assert tax.tag("Fed holds rates") == ["economy"]
    assert tax.tag("Voters are fed up with the rates") == []


def test_builtin_excludes_fed_up_at_sentence_start(builtin: Taxonomy) -> None:
    assert "economy" not in builtin.tag("Fed up commuters face another week of rail strikes")
    assert "economy" in builtin.tag("Fed signals rate cut")


def test_lowercase_keyword_matches_any_case() -> None:
    tax = taxonomy(defense=["military"])
    for title in ("military drills", "Military Drills", "MILITARY DRILLS"):
        assert tax.tag(title) == ["defense"]


def test_whole_words_only() -> None:
    tax = taxonomy(trade=["trade"])
    assert tax.tag("Trademark dispute settled") == []
    assert tax.tag("Fair-trade coffee") == ["trade"]


@pytest.mark.parametrize(
    ("keyword", "title"),
    [
        ("tariff", "New tariffs announced"),
        ("economy", "Emerging economies slow"),
        ("tax", "Taxes to rise"),
        ("NATO", "NATO's summit opens"),
        ("NATO", "NATO\u2019s summit opens"),
        ("ally", "The allies\u2019 reply"),
        ("EV", "EVs outsell diesel"),
    ],
)
def test_plural_and_possessive_forms_match(keyword: str, title: str) -> None:
    assert taxonomy(t=[keyword]).tag(title) == ["t"]


def test_es_plural_only_after_sibilants() -> None:
    assert taxonomy(t=["war"]).tag("Wares on sale at the market") == []


@pytest.mark.parametrize(
    "title",
    [
        "Fears of a trade war grow",
        "Trade-war fears",
        "A trade\n  war",
        "A trade\u00a0war",
        "trade \u2013 war talk",
    ],
)
def test_phrases_match_across_whitespace_and_hyphens(title: str) -> None:
    assert taxonomy(t=["trade war"]).tag(title) == ["t"]


def test_phrase_words_must_be_adjacent() -> None:
    assert taxonomy(t=["trade war"]).tag("Trade, war and peace") == []


def test_phrase_does_not_run_from_title_into_text() -> None:
    assert taxonomy(t=["trade war"]).tag("Talks on trade", "war war war") == []


def test_keyword_with_apostrophe_matches_either_apostrophe() -> None:
    tax = taxonomy(t=["O'Reilly"])
    assert tax.tag("O\u2019Reilly leaves network") == ["t"]
    assert tax.tag("O'Reilly leaves network") == ["t"]


def test_text_with_characters_that_lowercase_to_two_keeps_offsets() -> None:
    # "İ".lower() is two characters; offsets must still line up with the original text.
    assert taxonomy(t=["NATO"]).tag("İİİ Istanbul hosts NATO") == ["t"]


# --- scoring ----------------------------------------------------------------------------------


def test_one_title_hit_tags_but_one_body_hit_does_not() -> None:
    tax = taxonomy(trade=["trade"])
    assert tax.tag("Trade deficit narrows") == ["trade"]
    assert tax.tag("Local bakery wins prize", "The owner once worked in the trade.") == []


def test_three_body_hits_tag() -> None:
    tax = taxonomy(trade=["trade", "tariff", "export"])
    assert tax.tag("Minister visits Seoul", "Talks on trade, tariffs and exports.") == ["trade"]


def test_only_the_first_3000_characters_of_the_text_are_read() -> None:
    tax = taxonomy(trade=["tariff"])
    late = "x " * 1600 + "tariff tariff tariff"
    assert tax.tag("Minister visits Seoul", late) == []
    assert tax.tag("Minister visits Seoul", "tariff tariff tariff " + late) == ["trade"]


def test_overlapping_keywords_count_once() -> None:
    tax = taxonomy(law=["court", "Supreme Court"])
    body = "The Supreme Court heard the case. The Supreme Court will rule in June."
    assert tax.tag("Justices hear case", body) == []  # two hits, not four
    assert tax.tag("Justices hear case", body + " Outside court, protests.") == ["law"]


def test_a_phrase_counts_for_every_topic_with_a_keyword_inside_it() -> None:
    tax = taxonomy(politics=["Senate"], elections=["Senate race"])
    assert tax.tag("Senate race tightens in Ohio") == ["politics", "elections"]


def test_exclude_hides_only_its_own_topic() -> None:
    tax = Taxonomy(
        [
            Topic("trade", "Trade", "", ("trade",), exclude=("trade deadline",)),
            Topic("sports", "Sports", "", ("trade deadline",)),
        ]
    )
    assert tax.tag("Yankees busy before trade deadline") == ["sports"]
    assert tax.tag("Trade talks resume") == ["trade"]


def test_builtin_trade_excludes_sports_trades(builtin: Taxonomy) -> None:
    assert "trade" not in builtin.tag("Yankees make move before trade deadline")
    assert "trade" in builtin.tag("EU and Mercosur sign trade deal")


def test_tags_come_in_taxonomy_order(builtin: Taxonomy) -> None:
    tags = builtin.tag("Supreme Court hears NATO tariff case")
    assert tags == [s for s in BUILTIN_SLUGS if s in tags]
    assert set(tags) >= {"defense", "trade", "law-courts"}


def test_empty_story_has_no_topics(builtin: Taxonomy) -> None:
    assert builtin.tag("") == []
    assert builtin.tag("", "") == []


# --- resolve / get / iteration -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["defense", "DEFENSE", "  Defense  ", "Defense & Security", "defense & security"]
)
def test_resolve_by_slug_or_name(builtin: Taxonomy, value: str) -> None:
    topic = builtin.resolve(value)
    assert topic is not None
    assert topic.slug == "defense"


def test_resolve_unknown_is_none(builtin: Taxonomy) -> None:
    assert builtin.resolve("Greenland") is None
    assert builtin.resolve("") is None


def test_get_unknown_raises_not_found(builtin: Taxonomy) -> None:
    assert builtin.get("economy").name == "Economy & Markets"
    with pytest.raises(NotFoundError, match="nope") as info:
        builtin.get("nope")
    assert isinstance(info.value, BriefbotError)
    assert not isinstance(info.value, KeyError)


def test_builtin_has_the_specified_topics_in_order(builtin: Taxonomy) -> None:
    assert [t.slug for t in builtin] == BUILTIN_SLUGS
    assert len(builtin) == len(BUILTIN_SLUGS)
    assert builtin.topics == tuple(builtin)
    names = {t.slug: t.name for t in builtin}
    assert names["technology"] == "Technology & AI"
    assert names["diplomacy"] == "Diplomacy & World"
    assert all(t.emoji and t.keywords for t in builtin)
    assert builtin.get("defense").label == "\U0001f6e1\ufe0f Defense & Security"
    assert Topic("x", "X", "", ("x",)).label == "X"


def test_builtin_is_loaded_once(builtin: Taxonomy) -> None:
    assert load_taxonomy(tagger="keywords") is builtin


# --- loading ------------------------------------------------------------------------------------

VALID = """
[[topic]]
slug = "space"
name = "Space"
emoji = "🚀"
keywords = ["NASA", "rocket launch"]

[[topic]]
slug = "food"
name = "Food & Drink"
keywords = ["recipe"]
exclude = ["recipe for disaster"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_file_replaces_taxonomy(tmp_path: Path) -> None:
    tax = load_taxonomy(write(tmp_path, VALID))
    assert [t.slug for t in tax] == ["space", "food"]
    assert tax.get("food").emoji  # a default emoji when none is given
    assert tax.get("food").exclude == ("recipe for disaster",)
    assert tax.tag("Rocket launch delayed") == ["space"]
    assert tax.tag("A recipe for disaster") == []
    assert tax.resolve("food & drink") is tax.get("food")


def test_load_accepts_str_path(tmp_path: Path) -> None:
    assert len(load_taxonomy(str(write(tmp_path, VALID)))) == 2


def topic_toml(**fields: str) -> str:
    """One [[topic]] table from TOML-literal field values."""
    return "[[topic]]\n" + "".join(f"{k} = {v}\n" for k, v in fields.items())


GOOD = {"slug": '"a"', "name": '"A"', "keywords": '["x"]'}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[topic]\nslug = 'a'", "invalid TOML"),
        ("title = 'no topics'", "unknown key(s) 'title'"),
        (topic_toml(slug='"a"', name='"A"'), "missing 'keywords'"),
        (topic_toml(name='"A"', keywords='["x"]'), "missing 'slug'"),
        (topic_toml(slug='"a"', keywords='["x"]'), "missing 'name'"),
        (topic_toml(**GOOD) + topic_toml(slug='"a"', name='"B"', keywords='["y"]'), "duplicate slug 'a'"),
        (topic_toml(**GOOD) + topic_toml(slug='"b"', name='"a"', keywords='["y"]'), "same name"),
        (topic_toml(**{**GOOD, "slug": '"Big Topic"'}), "slug 'Big Topic'"),
        (topic_toml(**{**GOOD, "slug": '"a--b"'}), "slug 'a--b'"),
        (topic_toml(**{**GOOD, "keywords": "[]"}), "no keywords"),
        (topic_toml(**{**GOOD, "keywords": '"x"'}), "must be a list of strings"),
        (topic_toml(**{**GOOD, "keywords": '["#tag"]'}), "must start with a letter or digit"),
        (topic_toml(**{**GOOD, "keywords": '["  "]'}), "must start with a letter or digit"),
        (topic_toml(**{**GOOD, "exclude": "[1]"}), "'exclude' must be a list of strings"),
        (topic_toml(**{**GOOD, "keyword": '["x"]'}), "unknown key(s) 'keyword'"),
        (topic_toml(**{**GOOD, "name": '""'}), "'name' must be a non-empty string"),
        ("topic = 'flat'", "no topics"),
        ("topic = ['x']", "must be a table"),
        (topic_toml(**{**GOOD, "description": "1"}), "'description' must be a string"),
        (topic_toml(**{**GOOD, "examples": '"x"'}), "'examples' must be a list of strings"),
        ("no_topic_examples = 3\n" + topic_toml(**GOOD), "'no_topic_examples' must be a list of strings"),
        ("examples_file = 3\n" + topic_toml(**GOOD), "'examples_file' must be a file name"),
    ],
)
def test_bad_topics_file_raises_config_error_naming_file(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    message = str(info.value)
    assert str(path) in message
    assert problem in message


def test_missing_file_raises_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="does not exist") as info:
        load_taxonomy(missing)
    assert str(missing) in str(info.value)


def test_directory_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_taxonomy(tmp_path)


def test_parse_taxonomy_names_its_source() -> None:
    with pytest.raises(ConfigError, match=r"^custom\.toml: "):
        parse_taxonomy("[[topic]]\nslug = 'a'", source="custom.toml")


def test_examples_file_problems_name_the_file_and_line(tmp_path: Path) -> None:
    toml = 'examples_file = "examples.tsv"\n' + topic_toml(**GOOD)
    with pytest.raises(ConfigError, match=r"examples\.tsv.* cannot be read"):
        load_taxonomy(write(tmp_path, toml))
    (tmp_path / "examples.tsv").write_text("# comment\na\tA headline\nb\tAnother headline\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"examples.tsv.*line 3: unknown topic 'b'"):
        load_taxonomy(write(tmp_path, toml))


def test_unknown_tagger_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TOPIC_TAGGER must be one of auto, keywords, semantic"):
        load_taxonomy(tagger="neural")
