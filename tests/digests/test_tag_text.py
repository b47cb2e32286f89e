"""Format labels and credits of headlines, wire datelines of summaries, feed boilerplate and markup left as text
are not read when a story is tagged (digests/tag_text.py)."""

from __future__ import annotations

import pytest

from digests.tag_text import (
    headline_read,
    text_read,
    without_boilerplate,
    without_credit,
    without_dateline,
    without_format_label,
    without_markup,
)
from digests.topics import load_taxonomy
from tests.digests.tagging_eval import LABELLED, read_labelled


@pytest.mark.parametrize(("text", "rest"), [
    ("WASHINGTON (Reuters) - The Fed held rates.", "The Fed held rates."),
    ("NEW YORK, Nov 30 (Reuters) - Stocks rose.", "Stocks rose."),
    ("NEW YORK, Nov. 30, 2026 (AP) — Stocks rose.", "Stocks rose."),
    ("SAN FRANCISCO (Reuters Breakingviews) - Uber's plan.", "Uber's plan."),
    ("PARIS (AFP) – Talks failed.", "Talks failed."),
    ("(Reuters) - Oil fell.", "Oil fell."),
    ("AP - A NASA probe landed.", "A NASA probe landed."),
    ("Canadian Press - TORONTO (CP) - The Leafs won.", "The Leafs won."),
    ("SPACE.com - A comet swung past.", "A comet swung past."),
    ("washingtonpost.com - Voters queued.", "Voters queued."),
    # Any other source: a short capitalised name in brackets after the place, or alone before a sentence.
    ("NEW YORK (CNN/Money) - Stocks fell.", "Stocks fell."),
    ("LONDON (AFX) - Shares rose 3 pct.", "Shares rose 3 pct."),
    ("Ziff Davis - The chip maker unveiled a processor.", "The chip maker unveiled a processor."),
    ("The Sports Network - The Yankees won again.", "The Yankees won again."),
    ("eWEEK - Microsoft patched a flaw.", "Microsoft patched a flaw."),
])
def test_a_leading_dateline_and_credit_are_left_out(text, rest):
    assert without_dateline(text) == rest


@pytest.mark.parametrize("text", [
    "AP-NORC poll finds most adults worried about prices.",  # a credit without a dash between spaces
    "Reuters reported that the deal failed.",
    "Apple unveiled a phone (AP) - at an event in Cupertino.",  # a lower-case word: not a dateline
    "WASHINGTON (Reuters) - ",  # nothing after it: the text stays as it is
    "Bank of England - The governor spoke.",  # a lower-case word: not a source's name
    "Four Nations - a tournament of its own.",  # no sentence after the dash
    "One Two Three Four - Five.",  # four capitalised words: longer than a source's name
    "",
])
def test_other_openings_are_kept(text):
    assert without_dateline(text) == text


def test_only_the_opening_is_looked_at():
    late = "x" * 200 + " WASHINGTON (Reuters) - y"
    assert without_dateline(late) == late
    assert without_dateline("LONDON (Reuters) - " + "z " * 50_000).startswith("z z")


@pytest.mark.parametrize("dateline", ["WASHINGTON (Reuters) - ", "BEIJING, Nov 30 (AP) — ", "AFP - ",
                                      "NEW YORK (CNN/Money) - ", "Ziff Davis - "])
def test_a_dateline_changes_no_story_s_topics(dateline):
    # Before: "WASHINGTON (Reuters) - " in front of each summary changed the topics of 21 of these 256
    # stories (and of 239 of the 1,548 held-out HuffPost rows), mostly towards politics.
    taxonomy = load_taxonomy()
    rows = [row for row in read_labelled(LABELLED) if row.summary]
    assert len(rows) > 150
    plain = taxonomy.tag_many([(row.title, row.summary) for row in rows])
    assert taxonomy.tag_many([(row.title, dateline + row.summary) for row in rows]) == plain


@pytest.mark.parametrize(("title", "rest"), [
    ("WATCH: Storm hits the coast", "Storm hits the coast"),
    ("Live updates: Election night in Brazil", "Election night in Brazil"),
    ("Opinion | Why tariffs fail", "Why tariffs fail"),
    ("LIVE — Fed announces its decision", "Fed announces its decision"),
    ("Exclusive: Apple in talks to buy a chipmaker", "Apple in talks to buy a chipmaker"),
    ("IN PICTURES: Floods in Valencia", "Floods in Valencia"),
])
def test_a_format_label_opening_a_headline_is_left_out(title, rest):
    assert without_format_label(title) == rest


@pytest.mark.parametrize("title", [
    "Review: a quiet, fine film about grief",  # says something of the topic
    "Watchdog fines bank over lapses",
    "Video games sales rise: report",
    "Update on ceasefire talks: none expected",
    "Live: ",
])
def test_other_headlines_are_kept(title):
    assert without_format_label(title) == title


@pytest.mark.parametrize("label", ["WATCH: ", "Live updates: ", "Opinion | ", "Exclusive: ", "VIDEO: "])
def test_a_format_label_changes_no_story_s_topics(label):
    # Before: each of these in front of the held-out HuffPost headlines changed the topics of 32 to 81 of
    # the 1,548 stories.
    taxonomy = load_taxonomy()
    rows = read_labelled(LABELLED)
    plain = taxonomy.tag_many([(row.title, row.summary) for row in rows])
    assert taxonomy.tag_many([(label + row.title, row.summary) for row in rows]) == plain


@pytest.mark.parametrize(("title", "rest"), [
    ("Stocks rally on rate hopes (Reuters)", "Stocks rally on rate hopes"),
    ("Storm nears Florida [AP]", "Storm nears Florida"),
    ("Comet swings past the Sun (SPACE.com)", "Comet swings past the Sun"),
    ("Senate passes chips bill - The New York Times", "Senate passes chips bill"),
    ("Fed raises rates again | BBC News", "Fed raises rates again"),
    ("Mets sweep Yankees - New York Post ", "Mets sweep Yankees"),
    ("Four revelations from the Webb telescope - Nature.com", "Four revelations from the Webb telescope"),
    ("Talks resume - CNN (Reuters)", "Talks resume"),  # an aggregator's credit after the agency's
    ("Intel readies a dual-core chip (PC World)", "Intel readies a dual-core chip"),
    ("Yankees rally past Red Sox (Sports Network)", "Yankees rally past Red Sox"),  # any short name in brackets
    ("Oracle raises its bid (CNN/Money)", "Oracle raises its bid"),
    ("Governor enters the race (UPDATED)", "Governor enters the race"),
    ("Fed signals a pause - CNBC", "Fed signals a pause"),  # a known outlet after a dash
    ("Phone makers cut prices | TechCrunch", "Phone makers cut prices"),
])
def test_a_credit_closing_a_headline_is_left_out(title, rest):
    assert without_credit(title) == rest


@pytest.mark.parametrize("title", [
    "Brexit - what it means for Business",  # lower-case words after the dash: not an outlet's name
    "Apple sues Samsung (again)",
    "Reuters cuts 300 jobs",
    "(Reuters)",  # nothing before it: the title stays as it is
    "Profits at the Times rise",
    "Small boats will be stopped, says minister - Braverman",  # who said it, after a dash: it tells the topic
    "NHS backlog push at serious risk - National Audit Office",
    "",
])
def test_other_headline_endings_are_kept(title):
    assert without_credit(title) == title


def test_only_the_end_of_a_headline_is_looked_at():
    assert without_credit("a (Reuters) " + "b" * 100) == "a (Reuters) " + "b" * 100
    assert without_credit("x " * 50_000 + "(AP)") == ("x " * 50_000).rstrip()


def test_a_headline_loses_its_label_and_its_credit():
    assert headline_read("WATCH: Storm hits the coast - CBS News") == "Storm hits the coast"


@pytest.mark.parametrize("credit", [" (Reuters)", " - The New York Times", " (SPACE.com)", " | AP",
                                    " (Sports Network)", " - CNBC"])
def test_a_credit_changes_no_story_s_topics(credit):
    # Before: " (Reuters)" after each held-out HuffPost headline changed the topics of 181 of its 1,548
    # stories, " (washingtonpost.com)" of 252; " (Sports Network)" made 1,333 of them sport, " - CNBC" moved 135.
    taxonomy = load_taxonomy()
    rows = read_labelled(LABELLED)
    plain = taxonomy.tag_many([(row.title, row.summary) for row in rows])
    assert taxonomy.tag_many([(row.title + credit, row.summary) for row in rows]) == plain


@pytest.mark.parametrize(("text", "rest"), [
    ("Apple cut prices. The post Apple cuts prices appeared first on TechCrunch.", "Apple cut prices."),
    ("Photo highlights from around the world Continue reading...", "Photo highlights from around the world"),
    ("The vote was close. Read more »", "The vote was close."),
    ("The vote was close […]", "The vote was close"),
    ("Talks stalled (more…)\nThe body goes on.", "Talks stalled\nThe body goes on."),
])
def test_feed_boilerplate_ending_a_line_is_left_out(text, rest):
    assert without_boilerplate(text) == rest


@pytest.mark.parametrize("text", [
    "Read more about the budget in our guide.",  # words after it: the story's own
    "The post office closes on Friday.",
    "He said: continue reading the law as written.",
])
def test_other_endings_are_kept(text):
    assert without_boilerplate(text) == text


def test_a_story_s_text_loses_its_dateline_and_its_boilerplate():
    assert text_read("LONDON (Reuters) - Talks stalled. Continue reading...") == "Talks stalled."


@pytest.mark.parametrize("boilerplate", [" The post {title} appeared first on TechCrunch.", " Continue reading...",
                                         " Read more", " […]"])
def test_feed_boilerplate_changes_no_story_s_topics(boilerplate):
    # Before: WordPress's closing line after each held-out HuffPost summary changed the topics of 203 of its
    # 1,548 stories, "Continue reading..." of 136, "[…]" of 122.
    taxonomy = load_taxonomy()
    rows = [row for row in read_labelled(LABELLED) if row.summary]
    plain = taxonomy.tag_many([(row.title, row.summary) for row in rows])
    assert taxonomy.tag_many([(row.title, row.summary + boilerplate.format(title=row.title))
                              for row in rows]) == plain


@pytest.mark.parametrize(("text", "rest"), [
    ("<p>Stocks rose.</p>", "Stocks rose."),
    ("&lt;b&gt;Stocks&lt;/b&gt; rose.", "Stocks  rose."),
    ("&amp;lt;p&amp;gt;Stocks rose.", "Stocks rose."),  # escaped twice
    ('Shares of <a href="http://example.com/q?s=JNJ">JNJ.N</a> fell.', "Shares of  JNJ.N  fell."),
    ("It&amp;#39;s over", "It's over"),
    # Entities that lost their "&", or had it turned into a space, as AG's news corpus has them.
    ("Google #39;s IPO", "Google's IPO"),
    ("Google#39;s IPO", "Google's IPO"),
    ("He said, quot;We won. quot;", 'He said,"We won."'),
    ("AT amp;T profit", "AT&T profit"),
    ("a  #36;10 million prize", "a $10 million prize"),
])
def test_markup_left_as_text_is_not_read(text, rest):
    assert without_markup(text) == rest


@pytest.mark.parametrize("text", [
    "R&D; costs rose",  # no entity
    "Conquot; is a word here",  # inside a word, not a lost "&"
    "Stocks rose 3%; bonds fell",
    "a < b",
    "Plain headline",
])
def test_text_without_markup_is_kept(text):
    assert without_markup(text) == text


@pytest.mark.parametrize("reference", [f"{start}{'1' * 5_000};" for start in ("&#", "&amp;#", " #")])
def test_a_reference_too_long_to_be_a_character_is_no_error(reference):
    # html.unescape raises ValueError past 4,300 digits; the stored text may hold one escaped twice.
    assert text_read(f"Stocks rose {reference} today").startswith("Stocks rose")
    assert headline_read(f"Stocks rose {reference}").startswith("Stocks rose")


def test_markup_goes_before_the_dateline_it_hid():
    assert text_read("<p></p><p> BANGKOK (Reuters) - Troops fired.</p>") == "Troops fired."
    assert headline_read("&lt;b&gt;Storm hits the coast&lt;/b&gt; (Reuters)") == "Storm hits the coast"


@pytest.mark.parametrize("mangle", [
    lambda text: f"&lt;p&gt;{text}&lt;/p&gt;" if text else text,
    lambda text: f"<b>{text}</b>" if text else text,
    lambda text: text.replace("'", " #39;").replace('"', " quot;").replace("&", " amp;"),
])
def test_markup_changes_no_story_s_topics(mangle):
    # Before: wrapped in "&lt;b&gt;", 77 of these 256 stories changed topics (683 of the 1,548 held-out
    # HuffPost rows); apostrophes and quotes as AG has them moved 53 HuffPost stories.
    taxonomy = load_taxonomy()
    rows = read_labelled(LABELLED)
    assert sum("'" in row.title + row.summary for row in rows) > 50
    plain = taxonomy.tag_many([(row.title, row.summary) for row in rows])
    assert taxonomy.tag_many([(mangle(row.title), mangle(row.summary)) for row in rows]) == plain
