"""The briefing archive's pages and feeds: HTML from the templates, an Atom feed and a JSON Feed 1.1.

`ArchiveSite` answers one request's worth of the archive (an index page, one briefing, a feed) from
the store, as a `Page` with its content type and validators; `bot.archive_web` only serves them. The
HTML is rendered by its own Jinja environment, with autoescaping (the chat templates write Discord
markdown and escape it themselves), from the same template directories (TEMPLATES_DIR first). A page
loads nothing: its style is inline and the Content-Security-Policy allows that one style by its hash.

Feed links must be absolute: they are made from ARCHIVE_BASE_URL when it is set, else from the address
the request came to.
"""

from __future__ import annotations

import base64
import hashlib
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from jinja2 import Environment, StrictUndefined, TemplateError
from markupsafe import Markup

from digests.archive import (
    ArchivedBriefing,
    archived_briefing,
    count_entries,
    find_entry,
    recent_entries,
)
from digests.archive_urls import index_url, web_link
from digests.errors import ConfigError
from digests.models import ChannelBriefing
from digests.rendering import local_time, template_loader
from digests.store import session_scope
from digests.text import markdown_url
from digests.timeutil import as_utc, humanize_age
from digests.topics import Taxonomy

INDEX_PAGE_SIZE = 50
FEED_SIZE = 20
# Derives the stable ids of feeds and entries from the channel, so they survive a new token.
_ID_NAMESPACE = uuid.UUID("5a0b7a52-3c55-4f7e-9d1c-4a8f3e2b6c11")
HTML = "text/html; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json; charset=utf-8"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(frozen=True)
class Page:
    """One response body, with what HTTP needs to send it and to answer conditional requests."""

    body: bytes
    content_type: str
    last_modified: datetime | None = None

    @property
    def etag(self) -> str:
        """A strong validator: the body's hash."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def _story_href(url: str | None) -> str:
    """A story's link target as the Discord briefing has it, if a browser may follow it; else ""."""
    allowed = web_link(url)
    return markdown_url(allowed) if allowed else ""


def _age(moment: str | datetime, slot_at: datetime) -> str:
    """How old a story was when the briefing was posted ("3 h ago"), as the briefing said."""
    return humanize_age(datetime.fromisoformat(moment) if isinstance(moment, str) else moment, slot_at)


class ArchivePages:
    """Renders archive pages and feeds from the templates."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        self.env = Environment(loader=template_loader(templates_dir), autoescape=True, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(link=_story_href, age=_age, local=local_time)
        self.style = Markup(self._render("archive.css.j2"))  # noqa: S704 - the operator's own CSS, not user input
        digest = hashlib.sha256(str(self.style).encode()).digest()
        self.style_source = f"'sha256-{base64.b64encode(digest).decode()}'"

    @property
    def content_security_policy(self) -> str:
        """Nothing may load or run but the page's own inline style."""
        return (f"default-src 'none'; style-src {self.style_source}; img-src 'none'; base-uri 'none'; "
                "form-action 'none'; frame-ancestors 'none'")

    def _render(self, template: str, **context: object) -> str:
        try:
            return self.env.get_template(template).render(**context).strip()
        except TemplateError as exc:
            raise ConfigError(f"template {template} failed: {exc.message or type(exc).__name__}") from None

    def _macro(self, name: str) -> Callable[..., Markup]:
        try:
            return getattr(self.env.get_template("_archive_macros.html.j2").module, name)
        except (TemplateError, AttributeError):
            raise ConfigError(f"template _archive_macros.html.j2 has no working {name} macro") from None

    def html(self, template: str, **context: object) -> bytes:
        """An HTML page."""
        return self._render(template, style=self.style, **context).encode()

    def digest_html(self, entry: ArchivedBriefing) -> str:
        """A briefing as posted, as an HTML fragment (the feeds' content)."""
        return str(self._macro("digest_body")(entry)).strip()

    def heading(self, entry: ArchivedBriefing) -> str:
        """A briefing's heading, as plain text."""
        return self._macro("heading")(entry).unescape().strip()

    def atom(self, **context: object) -> bytes:
        """The Atom feed."""
        return self._render("archive_feed.atom.j2", **context).encode()


def rfc3339(moment: datetime) -> str:
    """A UTC time as Atom and JSON Feed write it."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


class ArchiveSite:
    """The archive of every briefing, read from the store: each method returns a `Page`, or None for a 404.

    `base_url` is ARCHIVE_BASE_URL (None: feeds use the address each request came to).
    """

    def __init__(self, *, engine: sa.Engine, taxonomy: Taxonomy, pages: ArchivePages, base_url: str | None) -> None:
        self.engine = engine
        self.taxonomy = taxonomy
        self.pages = pages
        self.base_url = base_url

    def title(self, briefing: ChannelBriefing) -> str:
        """The archive's name: what the briefing covers."""
        topics = [topic.label for topic in self.taxonomy if topic.slug in briefing.topic_slugs]
        return f"Briefing archive · {' · '.join(topics) if topics else 'all topics'}"

    def index(self, token: str, page: int = 1) -> Page | None:
        """The archive's index page: its briefings, newest first, `INDEX_PAGE_SIZE` a page."""
        with session_scope(self.engine) as session:
            briefing = archived_briefing(session=session, token=token)
            if briefing is None:
                return None
            total = count_entries(session=session, briefing_id=briefing.id)
            pages = max(1, math.ceil(total / INDEX_PAGE_SIZE))
            if not 1 <= page <= pages:
                return None
            entries = recent_entries(session=session, briefing_id=briefing.id, limit=INDEX_PAGE_SIZE,
                                     offset=(page - 1) * INDEX_PAGE_SIZE)
        body = self.pages.html("archive_index.html.j2", archive_title=self.title(briefing), entries=entries,
                               total=total, page=page, pages=pages)
        return Page(body, HTML, max((e.posted_at for e in entries), default=None))

    def entry(self, token: str, key: str) -> Page | None:
        """One archived briefing's page."""
        with session_scope(self.engine) as session:
            briefing = archived_briefing(session=session, token=token)
            found = None if briefing is None else find_entry(session=session, briefing_id=briefing.id, key=key)
        if found is None:
            return None
        body = self.pages.html("archive_entry.html.j2", entry=found, archive_title=self.title(briefing))
        return Page(body, HTML, found.posted_at)

    def missing(self) -> Page:
        """The page of a 404."""
        return Page(self.pages.html("archive_missing.html.j2"), HTML)

    def _feed(self, token: str) -> tuple[ChannelBriefing, list[ArchivedBriefing]] | None:
        with session_scope(self.engine) as session:
            briefing = archived_briefing(session=session, token=token)
            if briefing is None:
                return None
            return briefing, recent_entries(session=session, briefing_id=briefing.id, limit=FEED_SIZE)

    def _items(self, briefing: ChannelBriefing, entries: Sequence[ArchivedBriefing], index: str) -> list[dict]:
        return [{
            "id": f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, f'{briefing.channel_id}/{entry.key}')}",
            "url": f"{index}{entry.key}",
            "title": self.pages.heading(entry),
            "summary": entry.content["top"]["title"] if entry.content["top"] else "",
            "html": self.pages.digest_html(entry),
            "published": rfc3339(entry.posted_at),
        } for entry in entries]

    def atom(self, token: str, origin: str) -> Page | None:
        """The Atom feed of the archive's newest `FEED_SIZE` briefings; `origin` is the request's scheme and host."""
        found = self._feed(token)
        if found is None:
            return None
        briefing, entries = found
        index = index_url(self.base_url or origin, token)
        updated = max((entry.posted_at for entry in entries), default=briefing.created_at)
        body = self.pages.atom(archive_title=self.title(briefing), index_url=index, feed_url=f"{index}feed.atom",
                               feed_id=f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, str(briefing.channel_id))}",
                               updated=rfc3339(updated), entries=self._items(briefing, entries, index))
        return Page(body, ATOM, updated if entries else None)

    def json_feed(self, token: str, origin: str) -> Page | None:
        """The same feed as JSON Feed 1.1."""
        found = self._feed(token)
        if found is None:
            return None
        briefing, entries = found
        index = index_url(self.base_url or origin, token)
        feed: dict[str, Any] = {
            "version": JSON_FEED_VERSION,
            "title": self.title(briefing),
            "home_page_url": index,
            "feed_url": f"{index}feed.json",
            "description": "Every briefing posted in Discord, as it was posted.",
            "language": "en",
            "authors": [{"name": "Briefbot"}],
            "items": [{
                "id": item["id"], "url": item["url"], "title": item["title"], "content_html": item["html"],
                "date_published": item["published"], "date_modified": item["published"],
                **({"summary": item["summary"]} if item["summary"] else {}),
            } for item in self._items(briefing, entries, index)],
        }
        updated = max((entry.posted_at for entry in entries), default=None)
        return Page(orjson.dumps(feed), JSON_FEED, updated)
