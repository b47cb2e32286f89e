from digests.text import cut_at_word, headline_from_lead, html_to_text, lead_summary, normalise_title, tidy


def test_html_to_text_keeps_visible_text_and_drops_scripts():
    html = "<p>Markets <b>rallied</b> &amp; bonds fell.</p><script>alert('x')</script><p>Second&nbsp;para</p>"
    assert html_to_text(html) == "Markets rallied & bonds fell.\nSecond para"


def test_html_to_text_passes_plain_text_through_tidied():
    assert html_to_text("  plain\t text \n\n\n next ") == "plain text\nnext"
    assert html_to_text(None) == ""


def test_tidy_removes_control_characters():
    assert tidy("a\x00b\x07c") == "abc"


def test_tidy_collapses_every_kind_of_space_and_keeps_one_break_between_paragraphs():
    assert tidy("  a \t b\u00a0\u00a0c \n\n \r\n d\u200be\u2003f  ") == "a b c\nd e f"
    assert tidy("first\r\nsecond\n\n\n\nthird\n") == "first\nsecond\nthird"
    assert tidy(" \n \t\n ") == ""


def test_cut_at_word_never_exceeds_limit_and_marks_the_cut():
    text = "The quick brown fox jumps over the lazy dog"
    cut = cut_at_word(text, 20)
    assert len(cut) <= 20
    assert cut.endswith("…")
    assert cut == "The quick brown fox…"
    assert cut_at_word("short", 20) == "short"


def test_cut_at_word_cuts_a_spaceless_string_mid_word():
    assert len(cut_at_word("x" * 500, 100)) == 100


def test_lead_summary_stops_at_a_sentence_and_skips_abbreviations():
    text = "The U.S. Army met Mr. Smith on Feb. 12 in Brussels. " + "Then a long second sentence follows. " * 20
    summary = lead_summary(text, 120)
    assert summary == "The U.S. Army met Mr. Smith on Feb. 12 in Brussels. Then a long second sentence follows."


def test_lead_summary_of_one_long_sentence_is_cut_at_a_word():
    summary = lead_summary("word " * 200, 400)
    assert len(summary) <= 400
    assert summary.endswith("…")


def test_headline_from_lead_is_the_first_sentence_within_120_characters():
    lead = "Ministers met in Brussels on Monday. They agreed on more spending."
    assert headline_from_lead(lead, 120) == "Ministers met in Brussels on Monday"
    long_lead = "Officials said " + "very " * 40 + "much, and more."
    assert len(headline_from_lead(long_lead, 120)) <= 120


def test_normalise_title_ignores_case_accents_and_punctuation():
    assert normalise_title("Trump’s  Café — BREAKING!") == normalise_title("trump s cafe breaking")
