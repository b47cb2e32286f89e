"""`StoryDraft`: a story as a parser produced it, before it is cleaned, tagged and stored."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from digests.models import BODY_MAX, SOURCE_MAX, SUMMARY_MAX, TITLE_MAX, URL_MAX
from digests.text import cut_at_word, drop_controls, lead_summary, normalise_title, one_line, tidy

# Query parameters that identify a campaign, not a page.
_TRACKING_PARAMS = re.compile(
    r"^(utm_.*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|yclid|igshid|_hsenc|_hsmi|"
    r"ocid|cmpid|ncid|cid|at_medium|at_campaign|at_custom\d*|ito|s_kwcid|smid|taid|mbid|ref|ref_src)$",
    re.IGNORECASE,
)

# A published time more than this far past the ingest time is a wrong clock, not a scoop.
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass
class StoryDraft:
    """What a parser knows of one story; `clean()` makes it fit the store."""

    title: str
    source: str
    url: str | None = None
    summary: str = ""
    body: str | None = None
    published_at: datetime | None = None
    topics: tuple[str, ...] = field(default_factory=tuple)

    def clean(self) -> StoryDraft:
        """Tidy and cap every field; derive the summary from the body when absent.

        Whatever the parser, no control character (tabs and line breaks aside) or lone surrogate is
        stored: PostgreSQL refuses a NUL, and a surrogate cannot be encoded. Text loses them, and a
        URL holding one is dropped.
        """
        body = tidy(self.body)[:BODY_MAX] if self.body else None
        summary = lead_summary(drop_controls(self.summary), SUMMARY_MAX) if self.summary.strip() else ""
        if not summary and body:
            summary = lead_summary(body, SUMMARY_MAX)
        url = (self.url or "").strip() or None
        if url and (len(url) > URL_MAX or not url.lower().startswith(("http://", "https://"))
                    or drop_controls(url) != url):
            url = None
        return StoryDraft(
            title=cut_at_word(one_line(drop_controls(self.title)), TITLE_MAX),
            source=cut_at_word(one_line(drop_controls(self.source)), SOURCE_MAX) or "unknown",
            url=url,
            summary=summary,
            body=body or None,
            published_at=self.published_at,
            topics=self.topics,
        )

    def dedupe_key(self) -> str:
        """The canonical URL, else the normalised title and source."""
        canonical = canonical_url(self.url) if self.url else None
        if canonical:
            return "url:" + canonical
        return "title:" + normalise_title(self.title) + "|" + normalise_title(self.source)

    def effective_at(self, ingested_at: datetime) -> datetime:
        """The time the story counts from: published, unless absent or in the future."""
        if self.published_at is None or self.published_at > ingested_at + FUTURE_TOLERANCE:
            return ingested_at
        return self.published_at


def canonical_url(url: str) -> str | None:
    """`url` with a lower-case scheme and host, no fragment, no tracking parameters, no default port."""
    try:
        parts = urlsplit(url.strip())  # lower-cases the scheme
        host, port = parts.hostname, parts.port  # a bad port raises
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    host = host.lower()  # urllib lower-cases a host only up to its first "%"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    if port and (parts.scheme, port) not in {("http", 80), ("https", 443)}:
        host = f"{host}:{port}"
    query = parts.query and urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                                       if not _TRACKING_PARAMS.match(k)])
    # http and https name the same article, so both canonicalise to https.
    return f"https://{host}{parts.path or '/'}" + (f"?{query}" if query else "")
