"""What the taggers read of a story: its headline without a format label or credit, its text without a wire
dateline or feed boilerplate.

Feeds mark a story's format in its headline ("WATCH: ", "Live updates: ", "Opinion | ", "Exclusive: "),
credit its source at the headline's end ("... (Reuters)", "... - The New York Times" as news aggregators
do, "... (SPACE.com)"), and agency copy opens its summary with where and by whom it was filed
("WASHINGTON (Reuters) - ", "NEW YORK, Nov 30 (Reuters) - ", "PARIS (AFP) — ", "AP - ",
"washingtonpost.com - ", "NEW YORK (CNN/Money) - ", "Ziff Davis - ", sometimes twice: "Canadian Press -
TORONTO (CP) - "), and feed software ends summaries with its own words ("The post ... appeared first on
TechCrunch.", "Continue reading...", "[…]"). Those words say nothing of the topic, yet they moved it:
added to each held-out HuffPost story, the Reuters dateline changed the topics of about one story in
seven (mostly towards politics, through "Washington"), a format label of one in twenty to forty,
" (Reuters)" after the headline of one in nine (" (washingtonpost.com)" one in six), a source's name
before the summary of one in seven to eleven ("NEW YORK (CNN/Money) - " 222 of 1,548, "Ziff Davis - "
142, "Sports Network - " 154), and WordPress's closing line after the summary of one in eight. What is
shown keeps them: only tagging reads the text without them.

Nor is markup left in a story's text read as words: a feed escaped twice leaves "<p>" or "&lt;b&gt;" in it,
and a copy that lost its entities' ampersands has "Kerry #39;s", " quot;Yes quot;", "AT amp;T" (as AG's
news corpus does). Wrapped in "&lt;b&gt;", the held-out HuffPost stories' topics changed for 683 of 1,548;
with their apostrophes and quotes as AG has them, for 53.
"""

from __future__ import annotations

import re

from digests.text import unescape_entities

# An entity whose "&" was lost or became a space ("Google #39;s", "AT amp;T"): numeric, or named and common in
# news; not inside a word ("Conquot;") nor right after an entity ("&amp;lt;", escaped twice, is whole).
_LOST_AMPERSAND_RE = re.compile(r" ?(#(?:\d{1,5}|x[0-9A-Fa-f]{1,4})|quot|amp|apos|lt|gt|nbsp);")
# A tag as text ("<p>", "</b>", '<a href="...">'); one longer than this is left as it is.
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]{0,300}>")

# Agencies whose credit opens a summary, alone or in brackets after the place.
_AGENCIES = (
    r"(?:Reuters(?:\s+Breakingviews)?|AP|AFP|UPI|dpa|DPA|Xinhua|PTI|IANS|ANI|Bloomberg|Kyodo|Yonhap|ANSA|EFE|"
    r"TASS|CP|AAP|CNA|IRNA|Anadolu|Interfax|CNN|BBC|Agence\s+France-Presse|(?:The\s+)?Associated\s+Press|"
    r"(?:The\s+)?Canadian\s+Press)"
)
# A publication credited by its web address ("SPACE.com", "washingtonpost.com", "news.bbc.co.uk").
_SITE = r"(?:[A-Za-z0-9][\w-]*\.)+(?:com|org|net|co\.uk|com\.au|ca|io|tv|info)"
_CREDIT = rf"(?:{_AGENCIES}|{_SITE})"
# Any other source, as a summary opens with it: one to three capitalised words ("AFX", "CNN/Money",
# "Ziff Davis", "The Sports Network").
_NAMED = r"[a-z]?[A-Z][\w.'’&/-]*(?:\s+[A-Z][\w.'’&/-]*){0,2}"
# A place and date of capitalised words, numbers and commas ("NEW YORK, Nov. 30"), then the credit in
# brackets and a dash; or the credit alone and a dash between spaces (so "AP-NORC poll" stays whole), a
# named source only before a sentence's start.
_DATELINE_RE = re.compile(
    rf"(?:[A-Z0-9][\w.'’&/-]*,?\s+){{0,6}}\(\s*(?:{_CREDIT}|{_NAMED})\s*\)\s*[-–—]+\s*"
    rf"|{_CREDIT}\s+[-–—]+\s+"
    rf"|{_NAMED}\s+[-–—]+\s+(?=[A-Z0-9\"“‘'])"
)
# A newspaper's or broadcaster's name, as aggregators append it to headlines ("The New York Times",
# "BBC News", "Fox Business"): up to four capitalised words ending in a word that names a news outlet.
_OUTLET = (
    r"(?:[A-Z][\w&'’.-]*\s+){0,3}(?:News|Times|Post|Journal|Herald|Tribune|Telegraph|Guardian|Independent|"
    r"Gazette|Chronicle|Observer|Express|Mirror|Mail|Standard|Economist|Business|Magazine|Wire|Insider|Online|"
    r"World|Daily|Weekly|Today)"
)
# Well-known outlets whose names end in no such word, as aggregators append them ("- CNBC", "| TechCrunch").
_PUBLISHER = (
    r"(?:CNBC|NBC|ABC|CBS|Fox|NPR|PBS|ESPN|Sky\s+Sports|ITV|RTÉ|RTE|Al\s+Jazeera|Axios|Politico|Forbes|Fortune|"
    r"Variety|Deadline|Vox|Slate|Quartz|Wired|The\s+Verge|Engadget|Ars\s+Technica|TechCrunch|TechRadar|"
    r"Gizmodo|Mashable|ZDNet|ZDNET|CNET|VentureBeat|TechWeb|eWeek|eWEEK|InfoWorld|Computerworld|PCWorld|"
    r"Ziff\s+Davis|MarketWatch|Barron's|Barron’s|(?:The\s+)?Motley\s+Fool|Seeking\s+Alpha|Yahoo\s+Finance)"
)
# A credit closing a headline: in brackets, any short name ("(Reuters)", "[AP]", "(SPACE.com)", "(AFX)"; so
# also "(UPDATED)", "(Video)", which say nothing of the topic either), or after a dash or bar between spaces a
# credit or outlet ("- Reuters", "| BBC News", "- The New York Times", "- CNBC"), not any name: "... - MPs",
# "... - Rishi Sunak" is who said a quoted headline, and tells its topic.
_TITLE_CREDIT_RE = re.compile(
    rf"\s*(?:\(\s*(?:{_CREDIT}|{_OUTLET}|{_NAMED})\s*\)|\[\s*(?:{_CREDIT}|{_OUTLET}|{_NAMED})\s*\]"
    rf"|\s[-–—|]\s+(?:{_CREDIT}|{_OUTLET}|{_PUBLISHER}))\s*$"
)
# Credits are short: only this much of the end of a headline is looked at.
_TITLE_CREDIT_MAX = 80
# Datelines are short: only this much of a text is looked at, so the work per story is bounded.
_DATELINE_MAX = 120
# What feed software appends to a summary or an article, ending its line: WordPress's "The post <title>
# appeared first on <site>." (found by its words from the line's end, so the work is linear), and
# "Continue reading…", "Read more »", "[…]", "(more…)" (only a line's last characters are looked at).
_WORDPRESS_TAIL = " appeared first on "
_WORDPRESS_HEAD = "The post "
_WORDPRESS_SPAN = (400, 120)  # the longest title and site name taken for one
_ENDING_RE = re.compile(
    r"[ \t]*(?:(?:Continue reading|Read more|Keep reading|Read the full (?:story|article)|Click here to read more)"
    r"(?:[ \t]*(?:\.{3}|…|»|→|>>|\.))?|\[(?:…|\.{3})\]|\(more…\))$"
)
_ENDING_MAX = 60
# Labels of a story's format (not of its topic) that open headlines, then ":", "|" or a dash. "Review" and
# "Obituary" are left: they say something of the topic.
_FORMAT_LABEL_RE = re.compile(
    r"(?i:breaking(?:\s+news)?|watch(?:\s+live)?|video|live(?:\s+updates?|\s+blog)?|updated?|exclusive|analysis|"
    r"opinion|comment|editorial|explainer|explained|photos?|in\s+pictures|podcast|audio|factbox|fact\s+check|"
    r"just\s+in|developing)"
    r"\s*(?::|\||\s[-–—])\s+"
)


def headline_read(title: str) -> str:
    """What the taggers read of a headline: `title` without markup, its format label and its credit."""
    return without_credit(without_format_label(without_markup(title)))


def without_markup(text: str) -> str:
    """`text` with entities whose "&" was lost read as entities, entities escaped once or twice read as
    characters, and tags left as text dropped (see the module's docstring)."""
    if ";" not in text and "<" not in text:
        return text
    text = _LOST_AMPERSAND_RE.sub(_with_ampersand, text)
    if "&" in text:
        text = unescape_entities(unescape_entities(text))  # "&amp;lt;p&amp;gt;", a feed escaped twice
    return _TAG_RE.sub(" ", text).strip() if "<" in text else text


def without_format_label(title: str) -> str:
    """`title` without the label of its story's format it starts with ("WATCH: ", "Opinion | "), if any."""
    found = _FORMAT_LABEL_RE.match(title)
    return title[found.end():] if found is not None and found.end() < len(title) else title


def without_credit(title: str) -> str:
    """`title` without the credits it ends with ("(Reuters)", "- The New York Times"; at most two), if any."""
    for _ in range(2):
        found = _TITLE_CREDIT_RE.search(title, max(0, len(title) - _TITLE_CREDIT_MAX))
        if found is None or found.start() == 0:
            break
        title = title[:found.start()]
    return title


def _with_ampersand(found: re.Match[str]) -> str:
    entity = found.start(1)
    before = found.string[entity - 1] if entity > 0 else " "
    if before in "&;" or (before.isalnum() and not found[1].startswith("#")):
        return found[0]
    return f"&{found[1]};"


def text_read(text: str) -> str:
    """What the taggers read of a story's text: `text` without markup, its opening wire dateline and the feed
    software's boilerplate ending its lines."""
    return without_boilerplate(without_dateline(without_markup(text)))


def without_boilerplate(text: str) -> str:
    """`text` without what feed software appends to its lines ("The post … appeared first on …", "Read more")."""
    return "\n".join(_line_without_boilerplate(line) for line in text.split("\n"))


def _line_without_boilerplate(line: str) -> str:
    kept = line.rstrip()
    tail = kept.rfind(_WORDPRESS_TAIL)
    longest_title, longest_site = _WORDPRESS_SPAN
    if tail >= 0 and len(kept) - tail - len(_WORDPRESS_TAIL) <= longest_site:
        head = kept.rfind(_WORDPRESS_HEAD, max(0, tail - longest_title - len(_WORDPRESS_HEAD)), tail)
        if head >= 0:
            return kept[:head].rstrip()
    found = _ENDING_RE.search(kept, max(0, len(kept) - _ENDING_MAX))
    return kept[:found.start()] if found is not None else line


def without_dateline(text: str) -> str:
    """`text` without the agency dateline and credit it starts with (at most two of them), if any."""
    for _ in range(2):
        found = _DATELINE_RE.match(text, 0, _DATELINE_MAX)
        if found is None or found.end() == len(text):
            break
        text = text[found.end():]
    return text
