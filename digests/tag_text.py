"""What the taggers read of a story: its headline without a format label, its summary without a wire dateline.

Feeds mark a story's format in its headline ("WATCH: ", "Live updates: ", "Opinion | ", "Exclusive: ")
and agency copy opens its summary with where and by whom it was filed ("WASHINGTON (Reuters) - ",
"NEW YORK, Nov 30 (Reuters) - ", "PARIS (AFP) — ", "AP - ", sometimes twice: "Canadian Press -
TORONTO (CP) - "). Those words say nothing of the topic, yet they moved it: put in front of each
held-out HuffPost story, the Reuters dateline changed the topics of about one story in seven (mostly
towards politics, through "Washington"), and a format label of one in twenty to forty. What is shown
keeps them: only tagging reads the text without them.
"""

from __future__ import annotations

import re

# Agencies whose credit opens a summary, alone or in brackets after the place.
_AGENCIES = (
    r"(?:Reuters(?:\s+Breakingviews)?|AP|AFP|UPI|dpa|DPA|Xinhua|PTI|IANS|ANI|Bloomberg|Kyodo|Yonhap|ANSA|EFE|"
    r"TASS|CP|AAP|CNA|IRNA|Anadolu|Interfax|CNN|BBC|Agence\s+France-Presse|(?:The\s+)?Associated\s+Press|"
    r"(?:The\s+)?Canadian\s+Press)"
)
# A place and date of capitalised words, numbers and commas ("NEW YORK, Nov. 30"), then the credit in
# brackets and a dash; or the credit alone and a dash between spaces (so "AP-NORC poll" stays whole).
_DATELINE_RE = re.compile(
    rf"(?:[A-Z0-9][\w.'’&/-]*,?\s+){{0,6}}\(\s*{_AGENCIES}\s*\)\s*[-–—]+\s*"
    rf"|{_AGENCIES}\s+[-–—]+\s+"
)
# Datelines are short: only this much of a text is looked at, so the work per story is bounded.
_DATELINE_MAX = 120
# Labels of a story's format (not of its topic) that open headlines, then ":", "|" or a dash. "Review" and
# "Obituary" are left: they say something of the topic.
_FORMAT_LABEL_RE = re.compile(
    r"(?i:breaking(?:\s+news)?|watch(?:\s+live)?|video|live(?:\s+updates?|\s+blog)?|updated?|exclusive|analysis|"
    r"opinion|comment|editorial|explainer|explained|photos?|in\s+pictures|podcast|audio|factbox|fact\s+check|"
    r"just\s+in|developing)"
    r"\s*(?::|\||\s[-–—])\s+"
)


def without_format_label(title: str) -> str:
    """`title` without the label of its story's format it starts with ("WATCH: ", "Opinion | "), if any."""
    found = _FORMAT_LABEL_RE.match(title)
    return title[found.end():] if found is not None and found.end() < len(title) else title


def without_dateline(text: str) -> str:
    """`text` without the agency dateline and credit it starts with (at most two of them), if any."""
    for _ in range(2):
        found = _DATELINE_RE.match(text, 0, _DATELINE_MAX)
        if found is None or found.end() == len(text):
            break
        text = text[found.end():]
    return text
