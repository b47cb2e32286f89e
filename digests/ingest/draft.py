"""`StoryDraft`: a story as a parser produced it, before it is cleaned, tagged and stored."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from digests.models import BODY_MAX, SOURCE_MAX, SUMMARY_MAX, TITLE_MAX, URL_MAX
from digests.text import (
    LINK_MAX,
    cut_at_word,
    drop_controls,
    has_visible_text,
    lead_summary,
    markdown_url,
    normalise_title,
    one_line,
    tidy,
    web_url,
)

# Query parameters that identify a campaign or a click, never a page: utm_* and AT Internet's at_*
# campaign tags, the ad networks' click ids, Mailchimp and HubSpot mail ids, Twitter's ref_src.
# Generic names (cid, ref, ito, smid, ocid…) are article ids on some sites, so they are kept: dropping
# them merged distinct articles, and the later one rewrote the earlier one's title.
_TRACKING_PARAMS = re.compile(
    r"utm_.*|at_(?:medium|campaign|custom\d*)|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|twclid|"
    r"ttclid|li_fat_id|igshid|mc_cid|mc_eid|_hsenc|_hsmi|s_kwcid|ref_src",
    re.IGNORECASE,
)
# A fragment that is a route of a single-page site ("#/article/1", "#!/a/1") names a page; any other
# fragment is a place in the page.
_ROUTE_FRAGMENT_PREFIXES = ("/", "!")

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
    image_url: str | None = None

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
        source = cut_at_word(one_line(tidy(self.source)), SOURCE_MAX)
        return StoryDraft(
            title=cut_at_word(one_line(tidy(self.title)), TITLE_MAX),
            source=source if has_visible_text(source) else "unknown",
            url=_clean_url(self.url),
            summary=summary,
            body=body or None,
            published_at=self.published_at,
            topics=self.topics,
            image_url=clean_image_url(self.image_url),
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


def _clean_url(url: str | None) -> str | None:
    """`url` if it is an http(s) URL without control characters that can be shown as a link, else None.

    A URL longer than LINK_MAX once encoded for Discord is dropped (the story stays, without a link).
    """
    url = (url or "").strip()
    if (not url or len(url) > URL_MAX or not url.lower().startswith(("http://", "https://"))
            or drop_controls(url) != url or len(markdown_url(url)) > LINK_MAX):
        return None
    return url


def clean_image_url(url: str | None) -> str | None:
    """An image URL from a feed made safe to hand to Discord as an embed's image, else None (see `web_url`)."""
    return web_url(url, URL_MAX)


def canonical_url(url: str) -> str | None:
    """`url` with a lower-case scheme and host, no tracking parameters, no default port, and no fragment
    unless it is a route ("#/…", "#!…")."""
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
    # errors="replace": a lone surrogate (a URL that cleaning will drop anyway) must not raise here.
    query = parts.query and urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                                       if not _TRACKING_PARAMS.fullmatch(k)], errors="replace")
    fragment = parts.fragment if parts.fragment.startswith(_ROUTE_FRAGMENT_PREFIXES) else ""
    # http and https name the same article, so both canonicalise to https.
    return f"https://{host}{parts.path or '/'}" + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")
