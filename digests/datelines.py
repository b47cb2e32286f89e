"""A wire story's dateline and credit, read off the start of its summary before it is tagged.

Agency copy opens with where it was filed and who filed it: "WASHINGTON (Reuters) - ",
"NEW YORK, Nov 30 (Reuters) - ", "PARIS (AFP) — ", "AP - ", sometimes twice ("Canadian Press -
TORONTO (CP) - "). Those words say nothing of the topic, yet a place such as Washington pulled
about one story in seven towards politics (measured on the held-out HuffPost rows with the
Reuters dateline put in front of each summary). The shown summary keeps them: only tagging
reads the text without them.
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


def without_dateline(text: str) -> str:
    """`text` without the agency dateline and credit it starts with (at most two of them), if any."""
    for _ in range(2):
        found = _DATELINE_RE.match(text, 0, _DATELINE_MAX)
        if found is None or found.end() == len(text):
            break
        text = text[found.end():]
    return text
