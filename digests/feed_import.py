"""Importing a subscription list (OPML) into a guild's feeds or the deployment-wide ones.

Each outline's URL is checked exactly as `/feeds add` checks one (`check_new_feed_url`: http(s), no
private or local address for a guild unless ALLOW_PRIVATE_FEEDS, no credentials in a guild's URL),
against the same duplicates and the same per-guild limit, and reported as added, enabled again,
already present or refused with its reason, in the file's order.

Imported feeds are registered, not fetched: `/feeds add` fetches its one URL at once so the manager
sees it work, but a file can list hundreds of feeds, often on one host (feedburner, Substack), and
fetching them all inside one command would hammer those hosts and outlast Discord's interaction.
The poller fetches them instead, with its limits (8 at once, 2 per host, deadlines, backoff), and
their first polls are spread over `FIRST_POLLS_WITHIN` so they do not fall due together forever
after. The addresses are checked before the registering transaction, so slow DNS lookups never hold
the database's write lock; a guild import resolves at most `MAX_CHECKS_PER_IMPORT` addresses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from digests.errors import InputError
from digests.feed_registry import MAX_FEEDS_PER_GUILD, check_new_feed_url, feeds_of, register_feed
from digests.opml import ExportedFeed, Outline, SubscriptionList
from digests.store import session_scope
from digests.topics import Taxonomy

FIRST_POLLS_WITHIN = timedelta(minutes=15)  # the poll interval: imported feeds keep their spread afterwards
# Enough for a guild's MAX_FEEDS_PER_GUILD feeds with room for refusals; each may cost a DNS lookup.
MAX_CHECKS_PER_IMPORT = 4 * MAX_FEEDS_PER_GUILD


@dataclass(frozen=True)
class ImportedOutline:
    """What became of one outline: `added`, `enabled` (again), `present` (already) or `refused` (`reason`)."""

    url: str
    title: str
    outcome: str
    reason: str | None = None
    feed_id: int | None = None


@dataclass(frozen=True)
class ImportReport:
    """Every outline's fate, in the file's order, and what the file held beyond what was read."""

    outlines: list[ImportedOutline]
    over_cap: int = 0
    linked_lists: int = 0

    def count(self, outcome: str) -> int:
        """How many outlines had `outcome`."""
        return sum(item.outcome == outcome for item in self.outlines)

    def refusals(self, most: int = 5) -> list[tuple[str, int]]:
        """The commonest refusal reasons, with how many outlines each refused."""
        return Counter(item.reason or "" for item in self.outlines if item.outcome == "refused").most_common(most)


@dataclass
class _Accepted:
    index: int
    url: str
    topic_slug: str | None


def import_feeds(*, engine: sa.Engine, taxonomy: Taxonomy, subscriptions: SubscriptionList, guild_id: int | None,
                 added_by: int | None, allow_private: bool, now: datetime) -> ImportReport:
    """Register the feeds of `subscriptions` for `guild_id` (None: deployment-wide) and report on each."""
    with session_scope(engine) as session:
        known = {feed.url: feed.enabled for feed in feeds_of(session=session, guild_id=guild_id)}
    results: list[ImportedOutline | None] = []
    accepted: list[_Accepted] = []
    free = MAX_FEEDS_PER_GUILD - len(known) if guild_id is not None else None
    checks = MAX_CHECKS_PER_IMPORT if guild_id is not None else None
    for outline in subscriptions.outlines:
        result, url = _precheck(outline, known, free, checks, guild_id=guild_id, allow_private=allow_private)
        if url is not None and checks is not None:
            checks -= 1
        if result is None and url is not None:
            accepted.append(_Accepted(len(results), url, _topic_slug(taxonomy, outline)))
            if url not in known:
                free = None if free is None else free - 1
            known[url] = True
        results.append(result)
    _register(engine, accepted, results, subscriptions, guild_id=guild_id, added_by=added_by, now=now)
    return ImportReport([item for item in results if item is not None], subscriptions.over_cap,
                        subscriptions.linked_lists)


def _precheck(outline: Outline, known: dict[str, bool], free: int | None, checks: int | None, *,
              guild_id: int | None, allow_private: bool) -> tuple[ImportedOutline | None, str | None]:
    """(a final result, None), or (a result for refusal, the URL checked), or (None, the URL to register)."""
    if known.get(outline.url):
        return ImportedOutline(outline.url, outline.title, "present"), None
    if free is not None and free <= 0 and outline.url not in known:
        return _refused(outline, f"A server can have at most {MAX_FEEDS_PER_GUILD} feeds; remove one first."), None
    if checks is not None and checks <= 0:
        return _refused(outline, f"Not checked: one import checks at most {MAX_CHECKS_PER_IMPORT} new addresses."), None
    try:
        url = check_new_feed_url(outline.url, guild_id=guild_id, allow_private=allow_private)
    except InputError as refusal:
        return _refused(outline, str(refusal)), outline.url
    if known.get(url):  # the same URL once trimmed
        return ImportedOutline(url, outline.title, "present"), url
    return None, url


def _refused(outline: Outline, reason: str) -> ImportedOutline:
    return ImportedOutline(outline.url, outline.title, "refused", reason)


def _topic_slug(taxonomy: Taxonomy, outline: Outline) -> str | None:
    """The topic a Briefbot export recorded, if this taxonomy still has it (else the feed keeps none)."""
    named = outline.topic()
    topic = taxonomy.resolve(named) if named else None
    return topic.slug if topic else None


def _register(engine: sa.Engine, accepted: list[_Accepted], results: list[ImportedOutline | None],
              subscriptions: SubscriptionList, *, guild_id: int | None, added_by: int | None, now: datetime) -> None:
    """Store the accepted feeds in one transaction, their first polls spread over FIRST_POLLS_WITHIN."""
    with session_scope(engine) as session:
        for order, item in enumerate(accepted):
            outline = subscriptions.outlines[item.index]
            try:
                feed, created = register_feed(session=session, url=item.url, guild_id=guild_id,
                                              topic_slug=item.topic_slug, added_by=added_by, now=now,
                                              title=outline.title or None)
            except InputError as refusal:  # another manager or process registered it, or filled the guild, meanwhile
                results[item.index] = _refused(outline, str(refusal))
                continue
            feed.next_poll_at = now + FIRST_POLLS_WITHIN * order / max(len(accepted), 1)
            session.add(feed)
            session.flush()
            results[item.index] = ImportedOutline(item.url, outline.title, "added" if created else "enabled",
                                                  feed_id=feed.id)


def exported_feeds(*, engine: sa.Engine, guild_id: int | None) -> list[ExportedFeed]:
    """A guild's feeds (or the deployment-wide ones) as an export lists them, disabled ones included."""
    with session_scope(engine) as session:
        return [ExportedFeed(feed.url, feed.title, feed.topic_slug) for feed in feeds_of(session=session,
                                                                                        guild_id=guild_id)]
