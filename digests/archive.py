"""The briefing archive: every delivered briefing of a channel that opted in, kept for the web.

A manager turns it on per briefing (`/briefing setup archive:on`). From then on, each delivery of
that briefing is archived in the same database transaction that claims it (`record`), from the
same digest its messages were rendered from: the archive holds exactly what was posted, once, and a
crash or a retry neither duplicates nor loses it. An entry is shown once its delivery is `done`.
What a briefing posted is all its archive shows: a guild's own stories reach the archive only of
that guild's briefing, and only if its managers turned the archive on.

Turning the archive off stops serving it (its pages answer 404) and archives nothing more, but keeps
its entries and token: turning it on again brings back the same links, so feed readers following it
carry on. `new-link` turns it on with a new token (every old link stops working). Removing the
briefing, or the bot leaving the server, deletes its archive.

Entries store the digest as JSON (`snapshot`), not story ids: stories are edited, and deleted when
their guild goes, but an archive page stays what was posted. `digests.archive_pages` renders them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from digests.archive_urls import KEY_RE, TOKEN_RE, index_path, index_url, new_token
from digests.errors import InputError
from digests.models import ArchiveEntry, ChannelBriefing, Delivery
from digests.selection import Digest
from digests.story_items import StoryItem
from digests.timeutil import as_utc, parse_timezone

ArchiveMode = Literal["on", "off", "new-link"]
ARCHIVE_MODES: tuple[ArchiveMode, ...] = ("on", "off", "new-link")
SNAPSHOT_VERSION = 1
# Tries at a free key when processes archive post-nows of the same minute at the same moment.
_KEY_TRIES = 5


# Turning it on and off -------------------------------------------------------------------------


def set_archive(briefing: ChannelBriefing, mode: str) -> None:
    """Turn the briefing's archive on (keeping its token), off, or on with a new token (`new-link`)."""
    if mode not in ARCHIVE_MODES:
        raise InputError(f"archive must be one of {', '.join(ARCHIVE_MODES)}.")
    briefing.archive = mode != "off"
    if mode == "new-link" or (mode == "on" and briefing.archive_token is None):
        briefing.archive_token = new_token()


def archive_path(briefing: ChannelBriefing) -> str | None:
    """The path of the briefing's archive on the bot's web port, while it is on."""
    return index_path(briefing.archive_token) if briefing.archive and briefing.archive_token else None


def archive_link(briefing: ChannelBriefing, base: str | None) -> str | None:
    """The public URL of the briefing's archive: None when it is off or the bot has no ARCHIVE_BASE_URL."""
    if not briefing.archive or briefing.archive_token is None or base is None:
        return None
    return index_url(base, briefing.archive_token)


# Recording a delivery --------------------------------------------------------------------------


def snapshot(digest: Digest) -> dict[str, Any]:
    """The digest as JSON-ready data: what the archive shows, in the order and sections it was posted."""
    return {
        "v": SNAPSHOT_VERSION,
        "top": _item(digest.top, summary=True) if digest.top else None,
        "sections": [
            {"topic": ({"slug": section.topic.slug, "label": section.topic.label} if section.topic else None),
             "items": [_item(item, summary=False) for item in section.items]}
            for section in digest.sections
        ],
        "more": digest.more,
        "searches": [{"query": section.query, "items": [_item(item, summary=False) for item in section.items],
                      "more": section.more} for section in digest.searches],
    }


def _item(item: StoryItem, *, summary: bool) -> dict[str, Any]:
    """A story as listed; the summary only where the briefing shows one (the top story)."""
    return {"title": item.title, "url": item.url, "source": item.source, "summary": item.summary if summary else "",
            "at": as_utc(item.effective_at).isoformat(), "also": list(item.also)}


def record(*, session: Session, briefing: ChannelBriefing, delivery: Delivery, digest: Digest) -> ArchiveEntry | None:
    """Archive a claimed delivery of `briefing` if its archive is on (as stored now) and the digest has stories.

    Call it in the transaction that inserts the delivery, so both are written or neither. The
    entry's key is the slot's local date and time in the briefing's timezone, with `-2`, `-3`, …
    when another delivery of the same minute (a post-now) has it.
    """
    if digest.is_empty or delivery.id is None:
        return None
    archived = session.execute(sa.select(ChannelBriefing.archive).where(col(ChannelBriefing.id) == briefing.id))
    if not archived.scalar_one_or_none():  # turned off since the briefing was loaded
        return None
    content = json.dumps(snapshot(digest), ensure_ascii=False, separators=(",", ":"))
    base = as_utc(delivery.slot_at).astimezone(parse_timezone(briefing.timezone)).strftime("%Y-%m-%d-%H%M")
    for _ in range(_KEY_TRIES):
        entry = ArchiveEntry(briefing_id=briefing.id, delivery_id=delivery.id, slot_at=delivery.slot_at,
                             timezone=briefing.timezone, content=content, key=_free_key(session, briefing.id, base))
        try:
            with session.begin_nested():
                session.add(entry)
        except sa.exc.IntegrityError:  # another process took that key between our look and our insert
            continue
        return entry
    raise RuntimeError(f"no free archive key for briefing {briefing.id} at {base}")


def _free_key(session: Session, briefing_id: int, base: str) -> str:
    taken = set(session.exec(select(ArchiveEntry.key).where(
        col(ArchiveEntry.briefing_id) == briefing_id, col(ArchiveEntry.key).startswith(base))))
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


# Reading it back -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchivedBriefing:
    """One archived delivery as the pages show it: when it was posted, and what it held."""

    key: str
    slot_at: datetime
    posted_at: datetime  # when its last message was accepted: the feed's date for it
    tz: ZoneInfo
    content: dict[str, Any]

    @property
    def story_count(self) -> int:
        """How many stories the briefing listed."""
        # An entry archived before saved searches has no "searches".
        listed = (*self.content["sections"], *self.content.get("searches", ()))
        return (self.content["top"] is not None) + sum(len(section["items"]) for section in listed)


def archived_briefing(*, session: Session, token: str) -> ChannelBriefing | None:
    """The briefing whose archive has this token, if that archive is on."""
    if not TOKEN_RE.fullmatch(token or ""):
        return None
    return session.exec(select(ChannelBriefing).where(col(ChannelBriefing.archive_token) == token,
                                                      col(ChannelBriefing.archive).is_(True))).first()


def _shown(briefing_id: int) -> sa.Select:
    """The entries of the briefing whose delivery is done, with when that finished."""
    return (sa.select(ArchiveEntry, Delivery.finished_at)
            .join(Delivery, col(Delivery.id) == col(ArchiveEntry.delivery_id))
            .where(col(ArchiveEntry.briefing_id) == briefing_id, col(Delivery.status) == "done"))


def _loaded(rows: Sequence[sa.Row]) -> list[ArchivedBriefing]:
    return [ArchivedBriefing(key=entry.key, slot_at=entry.slot_at, posted_at=finished_at or entry.slot_at,
                             tz=parse_timezone(entry.timezone), content=json.loads(entry.content))
            for entry, finished_at in rows]


def recent_entries(*, session: Session, briefing_id: int, limit: int, offset: int = 0) -> list[ArchivedBriefing]:
    """The briefing's archived deliveries, newest first."""
    statement = _shown(briefing_id).order_by(col(ArchiveEntry.slot_at).desc(), col(ArchiveEntry.id).desc())
    return _loaded(session.execute(statement.limit(limit).offset(offset)).all())


def count_entries(*, session: Session, briefing_id: int) -> int:
    """How many deliveries the briefing's archive shows."""
    return session.execute(sa.select(sa.func.count()).select_from(_shown(briefing_id).subquery())).scalar_one()


def find_entry(*, session: Session, briefing_id: int, key: str) -> ArchivedBriefing | None:
    """One archived delivery by its key, if it is shown."""
    if not KEY_RE.fullmatch(key or ""):
        return None
    found = _loaded(session.execute(_shown(briefing_id).where(col(ArchiveEntry.key) == key)).all())
    return found[0] if found else None
