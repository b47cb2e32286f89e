from datetime import UTC, datetime, timedelta

from digests.ingest.draft import StoryDraft, canonical_url
from digests.models import BODY_MAX, SUMMARY_MAX, TITLE_MAX
from digests.text import markdown_url


def test_canonical_url_drops_tracking_fragment_and_default_port():
    url = "HTTP://News.Example.com:80/world/story?id=7&utm_source=x&utm_medium=y&fbclid=z#comments"
    assert canonical_url(url) == "https://news.example.com/world/story?id=7"


def test_canonical_url_keeps_a_non_default_port_and_rejects_other_schemes():
    assert canonical_url("https://example.com:8443/a") == "https://example.com:8443/a"
    assert canonical_url("ftp://example.com/a") is None
    assert canonical_url("https://[::1:bad/") is None


def test_canonical_url_keeps_an_ipv6_host_in_brackets():
    assert canonical_url("http://[2001:DB8::1]:8080/a#top") == "https://[2001:db8::1]:8080/a"
    assert canonical_url("https://[2001:db8::1]:443/a?b=1") == "https://[2001:db8::1]/a?b=1"


def test_canonical_url_lowercases_a_host_with_percent_escapes():
    assert canonical_url("https://%41Ex.COM/a") == "https://%41ex.com/a"


def test_dedupe_key_uses_the_url_else_title_and_source():
    with_url = StoryDraft(title="A", source="S", url="https://x.org/a?utm_campaign=1")
    same_url = StoryDraft(title="Another title", source="T", url="https://x.org/a")
    assert with_url.dedupe_key() == same_url.dedupe_key()
    no_url = StoryDraft(title="Fed Holds Rates!", source="Wire")
    assert no_url.dedupe_key() == StoryDraft(title="fed holds rates", source="wire").dedupe_key()
    assert no_url.dedupe_key() != StoryDraft(title="fed holds rates", source="Other").dedupe_key()


def test_clean_caps_every_field():
    draft = StoryDraft(title="t " * 400, source="s", summary="word " * 1000, body="b" * (BODY_MAX + 10)).clean()
    assert len(draft.title) <= TITLE_MAX
    assert len(draft.summary) <= SUMMARY_MAX
    assert len(draft.body or "") == BODY_MAX


def test_clean_derives_the_summary_from_the_body():
    draft = StoryDraft(title="t", source="s", body="First sentence here. Second one.").clean()
    assert draft.summary == "First sentence here. Second one."


def test_clean_drops_urls_that_are_not_http():
    assert StoryDraft(title="t", source="s", url="javascript:alert(1)").clean().url is None


def test_effective_at_ignores_missing_and_future_dates():
    ingested = datetime(2026, 1, 1, 12, tzinfo=UTC)
    past = ingested - timedelta(hours=3)
    assert StoryDraft(title="t", source="s", published_at=past).effective_at(ingested) == past
    assert StoryDraft(title="t", source="s").effective_at(ingested) == ingested
    future = ingested + timedelta(days=2)
    assert StoryDraft(title="t", source="s", published_at=future).effective_at(ingested) == ingested


# --- Review 2026-11-30: dedupe keys (L9), overlong links (L3), invisible text (L4) -------------------


def test_canonical_url_keeps_article_ids_and_route_fragments():
    distinct = ["https://site.example/view.php?cid=101", "https://site.example/view.php?cid=202",
                "https://site.example/a?ref=12", "https://site.example/a?ref=13",
                "https://site.example/#/article/1", "https://site.example/#/article/2", "https://site.example/#!/a/3"]
    assert len({canonical_url(url) for url in distinct}) == len(distinct)
    assert canonical_url("https://site.example/#/article/1") == "https://site.example/#/article/1"
    assert canonical_url("https://site.example/a?ito=1&smid=2&mbid=3") == "https://site.example/a?ito=1&smid=2&mbid=3"


def test_canonical_url_still_drops_campaign_tags_click_ids_and_anchors():
    url = ("https://x.example/a?id=7&utm_source=rss&UTM_Medium=x&gclid=1&fbclid=2&mc_cid=3&mc_eid=4&igshid=5"
           "&at_medium=RSS&at_campaign=rss&msclkid=6#comments")
    assert canonical_url(url) == "https://x.example/a?id=7"


def test_clean_drops_a_url_too_long_to_show_and_keeps_the_story():
    long_url = "https://x.example/" + "a b" * 400  # 1,218 characters, 2,018 once encoded
    draft = StoryDraft(title="Kept", source="S", url=long_url).clean()
    assert (draft.title, draft.url) == ("Kept", None)
    assert StoryDraft(title="t", source="s", url="https://x.example/" + "a" * 900).clean().url is not None


def test_clean_drops_bidi_and_invisible_characters_from_title_and_source():
    draft = StoryDraft(title="\u202egnp.exe\u2066 \u200bnews\ufeff", source="Reuters\u202e\u2060").clean()
    assert (draft.title, draft.source) == ("gnp.exe news", "Reuters")
    assert StoryDraft(title="t", source="\u200b\u202e").clean().source == "unknown"


def test_urls_holding_a_lone_surrogate_are_canonicalised_and_encoded_without_raising() -> None:
    # Found by the fuzz pass (tests/fuzz): quote() refused to encode a lone surrogate.
    url = "https://news.example/a\ud800?id=\udfff&utm_source=x#/route\ud800"
    assert canonical_url(url) == "https://news.example/a\ud800?id=%3F#/route\ud800"
    assert "\ud800" not in markdown_url(url) and "\udfff" not in markdown_url(url)
