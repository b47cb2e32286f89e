"""Registered feeds: deployment-wide ones (CLI, FEEDS_FILE) and those a guild's managers add.

A feed added through Discord is fetched by the bot's machine, so its address is checked: only
http(s), and (unless ALLOW_PRIVATE_FEEDS) a usual web port and no host that resolves to a loopback,
private, link-local or otherwise non-public address — a Discord user must not make the bot probe
its own network. This check gives a clear answer at once; the one that holds is made again at every
connection (`digests.ingest.guard`). A guild's feed may not hold a user name or password: its URL
is shown in the guild, the disabled-feed notice included.
"""

from __future__ import annotations

import socket
from datetime import datetime

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col, select

from digests.errors import InputError, NotFoundError
from digests.ingest.guard import (
    GUARDED_PORTS,
    GUARDED_PORTS_TEXT,
    Address,
    addresses_of,
    is_public,
    literal_address,
    port_of,
)
from digests.models import URL_MAX, Feed
from digests.text import drop_controls
from digests.topics import Taxonomy

MAX_FEEDS_PER_GUILD = 25


def check_feed_url(url: str, *, allow_private: bool) -> str:
    """`url` trimmed, if it is an http(s) URL whose host is public (or private feeds are allowed)."""
    url = (url or "").strip()
    if len(url) > URL_MAX:
        raise InputError(f"That URL is too long (at most {URL_MAX} characters).")
    if drop_controls(url) != url or any(char in url for char in "\t\r\n"):
        raise InputError("That is not a valid URL: it holds a control character.")
    try:  # checked as httpx will read it when it fetches the feed
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise InputError("That is not a valid URL (is its host name or port right?).") from None
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise InputError("A feed URL must start with http:// or https://.")
    if not allow_private:
        port = port_of(parsed)
        if port not in GUARDED_PORTS:
            raise InputError(f"A feed added here must use the port {GUARDED_PORTS_TEXT}.")
        for address in _addresses(parsed.raw_host.decode("ascii"), port):
            if not is_public(address):
                raise InputError("That feed points at a private or local address, which is not allowed here.")
    return url


def has_userinfo(url: str) -> bool:
    """True when `url` (already checked) holds a user name or password."""
    return bool(httpx.URL(url).userinfo)


def _addresses(host: str, port: int) -> list[Address]:
    """The addresses of `host`, encoded as httpx sends it (IDNA 2008), not as Python's codec would."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        return addresses_of(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    except (OSError, UnicodeError):
        raise InputError(f"Cannot find the host “{host[:100]}”.") from None


def add_feed(
    *,
    session: Session,
    taxonomy: Taxonomy,
    url: str,
    guild_id: int | None,
    topic: str | None,
    added_by: int | None,
    allow_private: bool,
    now: datetime,
) -> tuple[Feed, bool]:
    """Register a feed for a guild (or deployment-wide when `guild_id` is None); returns it and whether it is new.

    Adding a disabled feed again turns it back on.
    """
    url = check_new_feed_url(url, guild_id=guild_id, allow_private=allow_private)
    return register_feed(session=session, url=url, guild_id=guild_id, topic_slug=topic_slug_of(taxonomy, topic),
                         added_by=added_by, now=now)


def check_new_feed_url(url: str, *, guild_id: int | None, allow_private: bool) -> str:
    """`url` checked as every feed added for `guild_id` is (the network rules, no credentials in a guild's)."""
    url = check_feed_url(url, allow_private=allow_private)
    if guild_id is not None and has_userinfo(url):
        raise InputError("A feed added here may not hold a user name or password (the part before @): "
                         "its URL is shown in this server.")
    return url


def topic_slug_of(taxonomy: Taxonomy, topic: str | None) -> str | None:
    """The slug of the topic named `topic` (None for none); InputError when there is no such topic."""
    if not topic:
        return None
    resolved = taxonomy.resolve(topic)
    if resolved is None:
        raise InputError(f"“{topic[:60]}” is not a topic. Use /topics to see them all.")
    return resolved.slug


def register_feed(
    *, session: Session, url: str, guild_id: int | None, topic_slug: str | None, added_by: int | None, now: datetime,
    title: str | None = None,
) -> tuple[Feed, bool]:
    """Store a feed whose URL was checked (`check_new_feed_url`): new, or a disabled one turned back on.

    InputError when it is registered and enabled already, or the guild has MAX_FEEDS_PER_GUILD feeds.
    """
    existing = feeds_of(session=session, guild_id=guild_id)
    same = next((feed for feed in existing if feed.url == url), None)
    if same is not None and same.enabled:
        raise InputError("That feed is already registered here.")
    if same is not None:  # adding a disabled feed again is how a manager turns it back on
        same.enabled, same.failures, same.next_poll_at, same.disabled_announced = True, 0, now, False
        same.title = same.title or title
        session.add(same)
        return same, False
    if guild_id is not None and len(existing) >= MAX_FEEDS_PER_GUILD:
        raise InputError(f"A server can have at most {MAX_FEEDS_PER_GUILD} feeds; remove one first.")
    feed = Feed(url=url, title=title, guild_id=guild_id, topic_slug=topic_slug, added_by=added_by, created_at=now)
    try:
        with session.begin_nested():
            session.add(feed)
    except sa.exc.IntegrityError:  # another manager or process added it just now
        raise InputError("That feed is already registered here.") from None
    return feed, True


def feeds_of(*, session: Session, guild_id: int | None) -> list[Feed]:
    """A guild's feeds, or the deployment-wide ones for None."""
    condition = col(Feed.guild_id).is_(None) if guild_id is None else col(Feed.guild_id) == guild_id
    return list(session.exec(select(Feed).where(condition).order_by(col(Feed.id))))


def find_feed(*, session: Session, guild_id: int | None, feed: str) -> Feed:
    """The guild's (or, for None, a deployment-wide) feed named by its id or its URL."""
    for candidate in feeds_of(session=session, guild_id=guild_id):
        if feed.strip() in {str(candidate.id), candidate.url}:
            return candidate
    raise NotFoundError("No such feed here. Use /feeds list to see them.")


def remove_feed(*, session: Session, guild_id: int | None, feed: str) -> Feed:
    """Remove a feed named by its id or its URL."""
    found = find_feed(session=session, guild_id=guild_id, feed=feed)
    session.delete(found)
    return found
