"""The semantic tagger: the packaged model, fitting to a taxonomy's examples, combining with keywords, fallback."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import select

from digests import semantic, topics
from digests.errors import ConfigError
from digests.ingest.draft import StoryDraft
from digests.models import StoryTopic
from digests.store import add_stories, retag, session_scope
from digests.topics import Taxonomy, Topic, load_taxonomy
from tests.digests.tagging_eval import LABELLED, read_labelled

NO_KEYWORD_SPORT = "Striker signs new contract with the club"


@pytest.fixture(scope="module")
def embedder() -> semantic.Embedder:
    return semantic.Embedder.load()


def test_the_packaged_model_embeds_texts_as_unit_vectors(embedder: semantic.Embedder) -> None:
    vectors = embedder.encode(["Federer beats Nadal to win the Wimbledon title", "", "\u200b"]).vectors
    assert vectors.shape == (3, embedder.dimensions)
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, abs=1e-5)
    assert not vectors[1].any() and not vectors[2].any()  # no token: no direction
    assert embedder.encode([]).vectors.shape == (0, embedder.dimensions)


def test_a_batch_longer_than_a_tokenizer_slice_is_encoded_as_its_parts_are(embedder: semantic.Embedder) -> None:
    texts = [f"Striker {i} signs for club {i % 7}" + " again" * (i % 5) for i in range(semantic._TOKENIZE_SLICE + 5)]
    whole = embedder.encode(texts)
    parts = [embedder.encode(texts[:600]), embedder.encode(texts[600:])]
    assert np.array_equal(whole.vectors, np.vstack([part.vectors for part in parts]))
    assert np.array_equal(whole.bags.tokens, np.concatenate([part.bags.tokens for part in parts]))
    assert np.array_equal(whole.bags.counts, np.concatenate([part.bags.counts for part in parts]))
    assert np.array_equal(np.diff(whole.bags.starts), np.concatenate([np.diff(part.bags.starts) for part in parts]))


def test_texts_about_the_same_thing_lie_closer_than_unrelated_ones(embedder: semantic.Embedder) -> None:
    match, rematch, rates = embedder.encode([
        "Arsenal beat Chelsea 2-1 in the Premier League",
        "Liverpool held to a draw at Old Trafford",
        "Central bank raises interest rates to curb inflation",
    ]).vectors
    assert match @ rematch > match @ rates + 0.2


def test_a_model_file_that_does_not_match_its_checksum_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(semantic._model_dir(), copy)
    tokenizer = copy / "tokenizer.json"
    tokenizer.write_bytes(tokenizer.read_bytes().replace(b'"lowercase":true', b'"lowercase":false', 1))
    with pytest.raises(ConfigError, match=r"tokenizer\.json does not match its pinned checksum"):
        semantic.Embedder.load(copy)
    (copy / "embeddings.npz").unlink()
    with pytest.raises(ConfigError, match=r"embeddings\.npz cannot be read"):
        semantic.Embedder.load(copy)


CUSTOM = textwrap.dedent("""\
    no_topic_examples = ["Ten tips for a tidy garden shed", "Weather: bright and dry"]

    [[topic]]
    slug = "astronomy"
    name = "Astronomy"
    keywords = ["telescope"]
    description = "Astronomy and space: planets, stars, galaxies, comets and space missions."
    examples = ["Probe reaches Saturn's largest moon", "New exoplanet found orbiting a nearby star",
                "Astronauts return from the space station", "Meteor shower to peak tonight"]

    [[topic]]
    slug = "cooking"
    name = "Cooking"
    keywords = ["recipe"]
    description = "Food and cooking: dishes, ingredients, chefs and restaurants."
    examples = ["Chef opens a new seafood restaurant", "How to bake the perfect sourdough loaf",
                "Spicy lentil soup for cold evenings", "Michelin stars awarded to three kitchens"]
    """)


def test_a_custom_taxonomy_is_taught_by_its_own_examples(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    taught, keywords_only = load_taxonomy(path, cache=False), load_taxonomy(path, tagger="keywords", cache=False)
    comet, stew = "Astronomers spot a comet heading for the inner Solar System", "Slow-cooked beef stew with thyme"
    assert keywords_only.tag(comet) == [] and keywords_only.tag(stew) == []
    assert taught.uses_semantic
    assert taught.tag_many([(comet, ""), (stew, "")]) == [["astronomy"], ["cooking"]]
    assert "astronomy" in taught.tag("Telescope maker posts record sales")  # an operator's keyword always counts


def test_fitting_is_deterministic_and_kept_in_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    texts = ["Probe lands on a comet", "A new pasta dish", "Local fete raises money"]
    with caplog.at_level(logging.INFO, logger="digests.semantic"):
        first = load_taxonomy(path).semantic_tagger.probabilities(texts)
    assert len(list((cache / "briefbot").glob("topic-head-*.npz"))) == 1
    assert "fitting the head to" in caplog.text and "kept for later starts" in caplog.text  # a quiet wait explained
    caplog.clear()

    def no_refit(*args, **kwargs):
        raise AssertionError("fitted again although the cache holds the head")

    monkeypatch.setattr(semantic.TopicHead, "fit", no_refit)
    with caplog.at_level(logging.INFO, logger="digests.semantic"):
        assert np.array_equal(load_taxonomy(path).semantic_tagger.probabilities(texts), first)
    assert "fitting" not in caplog.text
    monkeypatch.undo()
    assert np.allclose(load_taxonomy(path, cache=False).semantic_tagger.probabilities(texts), first, atol=1e-6)


@pytest.mark.parametrize("damage", ["garbage", "a key missing"])
def test_an_unreadable_cached_head_is_fitted_again_and_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, damage: str) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    texts = ["Probe lands on a comet", "A new pasta dish"]
    first = load_taxonomy(path).semantic_tagger.probabilities(texts)
    (cached,) = (tmp_path / "cache" / "briefbot").glob("topic-head-*.npz")
    if damage == "garbage":
        cached.write_bytes(b"not a numpy file")
    else:  # as a head saved without its token weights would be
        with np.load(cached) as stored:
            weights = stored["weights"]
        with cached.open("wb") as out:
            np.savez(out, weights=weights)
    assert np.allclose(load_taxonomy(path).semantic_tagger.probabilities(texts), first, atol=1e-6)
    assert "ignoring unreadable topic model cache" in caplog.text
    with np.load(cached) as stored:
        assert set(stored.files) == {"weights", "token_weights", "idf"}  # the refitted head replaced it


def test_heads_unused_for_a_month_are_removed_when_another_is_fitted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "briefbot"
    folder.mkdir(parents=True)
    month_ago = time.time() - semantic.CACHE_KEEP_SECONDS - 3600
    stale, recent, stale_part = (folder / "topic-head-stale.npz", folder / "topic-head-recent.npz",
                                 folder / "topic-head-stale.123.part")
    for old in (stale, recent, stale_part):
        old.write_bytes(b"an earlier taxonomy's head")
    for old in (stale, stale_part):
        os.utime(old, (month_ago, month_ago))
    other = folder / "templates"
    other.mkdir()
    os.utime(other, (month_ago, month_ago))

    assert load_taxonomy(path).uses_semantic  # fits and writes its head, then prunes
    (fitted,) = [head for head in folder.glob("topic-head-*.npz") if head not in (stale, recent)]
    assert not stale.exists() and not stale_part.exists()
    assert recent.exists() and other.exists()  # read lately; not a head

    os.utime(fitted, (month_ago, month_ago))
    assert load_taxonomy(path).uses_semantic  # read from the cache: marked as used
    assert fitted.stat().st_mtime > month_ago + 3600


def _built_in(cache_dir: Path | None) -> Taxonomy:
    """The built-in taxonomy parsed afresh (load_taxonomy keeps one per process)."""
    data = Path(topics.__file__).parent / "data"
    return topics.parse_taxonomy((data / "topics.toml").read_text(encoding="utf-8"), directory=data,
                                 tagger="semantic", cache_dir=cache_dir)


def test_the_packaged_head_is_the_one_the_built_in_examples_give() -> None:
    taxonomy = _built_in(None)
    examples, classes = taxonomy.examples, len(taxonomy.topics) + 1
    with np.load(semantic._model_dir().parent / semantic.PACKAGED_HEAD) as stored:
        shipped = str(stored["fingerprint"])
    assert shipped == semantic.fingerprint(examples, classes), (
        "digests/data/topic_head.npz was fitted to other examples or settings: run tools/build_topic_head.py")
    embedder = semantic.Embedder.load()
    fitted = semantic.TopicHead.fit(embedder.encode([e.text for e in examples]), examples, classes)
    encoded = embedder.encode([f"{row.title}. {row.summary}" for row in read_labelled(LABELLED)])
    # The same optimum; another machine's arithmetic may end the search a little elsewhere.
    assert np.allclose(semantic._packaged_head(shipped).probabilities(encoded), fitted.probabilities(encoded),
                       atol=2e-3)


def test_a_first_start_with_the_built_in_taxonomy_reads_its_head_from_the_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def no_fit(*args, **kwargs):
        raise AssertionError("fitted although the package holds the head")

    monkeypatch.setattr(semantic.TopicHead, "fit", no_fit)
    with caplog.at_level(logging.INFO, logger="digests.semantic"):
        taxonomy = _built_in(tmp_path / "cache")
        assert taxonomy.tag(NO_KEYWORD_SPORT) == ["sports"]
    assert "fitting" not in caplog.text
    assert not (tmp_path / "cache").exists()  # nothing written either


def test_an_unreadable_packaged_head_is_ignored_and_the_taxonomy_fitted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    damaged = tmp_path / "topic_head.npz"
    damaged.write_bytes(b"not a numpy file")
    # An absolute name replaces the package's directory in the path _packaged_head joins.
    monkeypatch.setattr(semantic, "PACKAGED_HEAD", str(damaged))
    path = tmp_path / "topics.toml"
    path.write_text(CUSTOM, encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="digests.semantic"):
        assert load_taxonomy(path, cache=False).tag("Astronomers spot a comet heading our way") == ["astronomy"]
    assert "ignoring the unreadable packaged topic head" in caplog.text and "fitting the head to" in caplog.text


def test_a_taxonomy_without_examples_tags_by_keywords_alone() -> None:
    taxonomy = Taxonomy([Topic("space", "Space", "", ("rocket",)), Topic("food", "Food", "", ("soup",))])
    assert not taxonomy.uses_semantic
    assert taxonomy.tag("Rocket launch delayed") == ["space"]


class FixedProbabilities:
    """A semantic tagger that answers the same probabilities for every text."""

    def __init__(self, probabilities: list[float]) -> None:
        self.row = np.array(probabilities)

    def probabilities(self, texts):
        return np.tile(self.row, (len(texts), 1))


def stub_taxonomy(monkeypatch: pytest.MonkeyPatch, probabilities: list[float]) -> Taxonomy:
    """Three topics (a, b, c, keywords "alpha", "beta", "gamma") whose semantic tagger answers `probabilities`."""
    fixed = FixedProbabilities(probabilities)
    monkeypatch.setattr(semantic.SemanticTagger, "fit", classmethod(lambda cls, *args, **kwargs: fixed))
    keywords = {"a": "alpha", "b": "beta", "c": "gamma"}
    return Taxonomy(Topic(slug, slug.upper(), "", (word,), examples=("x",)) for slug, word in keywords.items())


@pytest.mark.parametrize(
    ("probabilities", "title", "expected"),
    [
        ([0.6, 0.25, 0.1, 0.05], "nothing", ["a"]),  # the runner-up is under SECOND_MIN and SECOND_RATIO
        ([0.4, 0.22, 0.2, 0.18], "nothing", ["a", "b"]),  # torn between two: at least SECOND_RATIO of the top
        ([0.45, 0.2, 0.2, 0.15], "nothing", ["a"]),  # under both
        ([0.5, 0.35, 0.1, 0.05], "nothing", ["a", "b"]),  # a clear second topic
        ([0.1, 0.05, 0.05, 0.8], "nothing", []),  # "no topic" is likeliest
        ([0.1, 0.05, 0.05, 0.8], "gamma news", ["c"]),  # a keyword topic counts anyway
        ([0.6, 0.35, 0.03, 0.02], "gamma news", ["a", "c"]),  # keyword topic + likeliest; no third
        ([0.3, 0.25, 0.2, 0.25], "alpha beta gamma", ["a", "b"]),  # never more than MAX_TOPICS
        ([0.1, 0.1, 0.7, 0.1], "alpha beta", ["a", "b"]),  # the model never displaces an operator's keyword
        ([0.3, 0.2, 0.1, 0.4], "nothing", []),  # "no topic" likeliest, however unsure
        ([0.15, 0.1, 0.1, 0.05], "nothing", []),  # the likeliest topic is too unlikely (LIKELIEST_MIN)
    ],
)
def test_semantic_and_keyword_topics_combine_with_restraint(
    monkeypatch: pytest.MonkeyPatch, probabilities: list[float], title: str, expected: list[str]
) -> None:
    assert stub_taxonomy(monkeypatch, probabilities).tag(title) == expected


@pytest.mark.parametrize(
    ("probabilities", "title", "text", "expected"),
    [
        ([0.1, 0.05, 0.05, 0.8], "nothing", "the gamma plan", ["c"]),  # a text's keyword the model finds plausible
        ([0.1, 0.05, 0.04, 0.81], "nothing", "the gamma plan", []),  # under SUPPORTED_MIN: too weak either way
        ([0.7, 0.2, 0.06, 0.04], "nothing", "the gamma plan", ["a", "c"]),  # beside the likeliest topic
        ([0.5, 0.35, 0.1, 0.05], "nothing", "the gamma plan", ["a", "c"]),  # before the runner-up
        ([0.6, 0.2, 0.01, 0.19], "nothing", "gamma, gamma", ["a"]),  # two mentions the model rejects
        ([0.7, 0.2, 0.06, 0.04], "beta news", "the gamma plan", ["a", "b"]),  # never displaces the likeliest
    ],
)
def test_a_keyword_in_the_text_counts_when_the_model_finds_its_topic_plausible(
    monkeypatch: pytest.MonkeyPatch, probabilities: list[float], title: str, text: str, expected: list[str]
) -> None:
    assert topics.SUPPORTED_MIN == 0.05
    assert stub_taxonomy(monkeypatch, probabilities).tag(title, text) == expected


@pytest.mark.parametrize("missing", ["numpy", "scipy"])
def test_without_the_extra_tagging_falls_back_to_keywords_and_says_so(tmp_path: Path, missing: str) -> None:
    script = textwrap.dedent(f"""\
        import logging, sys
        sys.modules[{missing!r}] = None  # as if the semantic extra were not (wholly) installed
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
        from digests.errors import ConfigError
        from digests.topics import load_taxonomy
        taxonomy = load_taxonomy(cache=False)
        print(taxonomy.uses_semantic, taxonomy.tag({NO_KEYWORD_SPORT!r}), taxonomy.tag("Tariffs on steel rise"))
        try:
            load_taxonomy(tagger="semantic", cache=False)
        except ConfigError as error:
            print(error)
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines() == [
        "False [] ['trade']",
        "TOPIC_TAGGER=semantic needs the semantic extra: pip install 'briefbot[semantic]'",
    ]
    assert "install the semantic extra" in done.stderr


def test_stored_stories_get_semantic_topics_and_retag_reports_progress(engine, now) -> None:
    taxonomy = load_taxonomy()
    assert taxonomy.uses_semantic and load_taxonomy(tagger="keywords").tag(NO_KEYWORD_SPORT) == []
    drafts = [StoryDraft(title=NO_KEYWORD_SPORT, source="Wire", url="https://news.example/striker"),
              StoryDraft(title="Oil prices climb as supplies tighten", source="Wire", url="https://news.example/oil")]
    with session_scope(engine) as session:
        add_stories(session=session, drafts=drafts, taxonomy=taxonomy, now=now)
    with session_scope(engine) as session:
        before = sorted((link.story_id, link.topic_slug) for link in session.exec(select(StoryTopic)))
        assert (1, "sports") in before
        done: list[int] = []
        assert retag(session=session, taxonomy=taxonomy, progress=done.append) == len(before)
        assert sum(done) == 2
    with session_scope(engine) as session:
        assert sorted((link.story_id, link.topic_slug) for link in session.exec(select(StoryTopic))) == before


def test_the_keyword_tagger_does_not_read_the_examples_file(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text('examples_file = "missing.tsv"\n' + CUSTOM, encoding="utf-8")
    assert load_taxonomy(path, tagger="keywords", cache=False).tag("New telescope opens") == ["astronomy"]
    with pytest.raises(ConfigError, match=r"missing\.tsv"):
        load_taxonomy(path, cache=False)


def test_a_bag_holds_each_known_token_once_with_its_count() -> None:
    bags = semantic.TokenBags.of([[5, 2, 5, 0, 5], [], [0], [3]], unknown=0, vocabulary=8)
    assert bags.starts.tolist() == [0, 2, 2, 2, 3]  # the second and third texts hold nothing known
    assert bags.tokens.tolist() == [2, 5, 3] and bags.counts.tolist() == [1, 3, 1]
    idf = np.arange(8, dtype=np.float64)
    weighted = bags.weighted(idf)
    assert np.allclose(weighted, [2 / np.hypot(2, 15), 15 / np.hypot(2, 15), 1.0])


def test_the_head_is_the_penalised_logistic_regression_optimum() -> None:
    """The fitted weights minimise the weighted, class-balanced, L2-penalised log loss over a text's vector and
    its bag of tokens (counts times inverse document frequency, unit length): no small step lowers it."""
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(3, 8))
    labels = rng.integers(0, 3, 300)
    vectors = centres[labels] + rng.normal(scale=1.5, size=(300, 8))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    # Twelve tokens, the first nine leaning to a class each (token 11 in no text); token 0 is "unknown".
    ids = [[*rng.integers(1 + 3 * label, 4 + 3 * label, 2), *rng.integers(1, 11, 3), 0] for label in labels]
    encoded = semantic.Encoded(vectors, semantic.TokenBags.of(ids, unknown=0, vocabulary=12))
    examples = [semantic.Example(int(label), str(i), 1.0 + (label == 0)) for i, label in enumerate(labels)]
    head = semantic.TopicHead.fit(encoded, examples, 4)  # class 3 has no example

    given = np.array([e.weight for e in examples])
    totals = np.bincount(labels, weights=given, minlength=4)
    weights = given * given.sum() / (3 * totals[labels])  # each of the 3 taught classes weighs the same
    counts = np.zeros((300, 12))
    for row, tokens in enumerate(ids):
        for token in tokens[:-1]:
            counts[row, token] += 1
    idf = np.log(301 / (1 + (counts > 0).sum(axis=0)))
    bags = counts * idf
    bags /= np.linalg.norm(bags, axis=1, keepdims=True)
    assert np.allclose(head.idf[1:11], idf[1:11]) and head.idf[11] == pytest.approx(np.log(301))

    def loss(solution, token_solution) -> float:
        scores = vectors @ solution[:-1] + solution[-1] + bags @ token_solution
        scores -= scores.max(axis=1, keepdims=True)
        log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        penalty = 0.5 / semantic.INVERSE_PENALTY * ((solution[:-1] ** 2).sum() + (token_solution ** 2).sum())
        return -(weights * log_p[np.arange(len(labels)), labels]).sum() + penalty

    fitted = head.weights[:, :3].astype(np.float64)
    fitted_tokens = head.token_weights[:, :3].astype(np.float64)
    assert not fitted_tokens[[0, 11]].any()  # no weight for a token no text holds
    best = loss(fitted, fitted_tokens)
    for _ in range(20):
        nudged = fitted + rng.normal(scale=0.01, size=fitted.shape)
        nudged_tokens = fitted_tokens + rng.normal(scale=0.01, size=fitted_tokens.shape) * (counts.any(axis=0))[:, None]
        assert loss(nudged, fitted_tokens) > best and loss(fitted, nudged_tokens) > best
    probabilities = head.probabilities(encoded)
    scores = vectors @ head.weights[:-1] + head.weights[-1] + bags @ head.token_weights
    expected = np.exp(scores - scores.max(axis=1, keepdims=True))
    assert np.allclose(probabilities, expected / expected.sum(axis=1, keepdims=True), atol=1e-5)
    assert probabilities[:, 3].max() < 1e-6  # a class without examples never wins
    again = semantic.TopicHead.fit(encoded, examples, 4)
    assert np.array_equal(again.weights, head.weights) and np.array_equal(again.token_weights, head.token_weights)
