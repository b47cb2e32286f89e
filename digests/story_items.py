"""Stories as digests and `/stories` show them: one line each, read without their bodies."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from digests.models import Story
from digests.store import topic_links, visible_to

# Freshness counts down to zero over this when no window is given (a day's digest: 24 h + 12 h late arrival).
DEFAULT_HORIZON = timedelta(hours=36)


@dataclass(frozen=True, slots=True)
class StoryItem:
    """A story as it is shown: one line, or the top story with its summary.

    `also` names the other outlets that carried the same event (see `digests.clustering`), and `copies`
    holds the ids of the event's other stories; `image_url` is the picture its feed gave (shown by rich digests).
    """

    id: int
    title: str
    url: str | None
    source: str
    summary: str
    effective_at: datetime
    topics: tuple[str, ...]
    has_body: bool
    also: tuple[str, ...] = ()
    image_url: str | None = None
    copies: tuple[int, ...] = ()

    def score(self, now: datetime, horizon: timedelta = DEFAULT_HORIZON) -> float:
        """Rank in a digest: 2 × (outlets − 1) + 0.5 with a body + freshness (1 when new, 0 at `horizon`).

        `horizon` is the digest's window, so a weekly digest ranks a Monday story by its outlets too.
        """
        freshness = max(0.0, 1.0 - (now - self.effective_at) / horizon)
        return 2.0 * len(self.also) + (0.5 if self.has_body else 0.0) + freshness


# The columns a listing needs: a digest reads thousands of stories, so never their bodies.
_ITEM_COLUMNS = (Story.id, Story.title, Story.url, Story.source, Story.summary, Story.effective_at,
                 col(Story.body).is_not(None).label("has_body"), Story.image_url)


def listing(guild_ids: Sequence[int] | None) -> sa.Select:
    """Item columns of the stories that `guild_ids` may see."""
    statement = sa.select(*_ITEM_COLUMNS)
    visible = visible_to(guild_ids)
    return statement if visible is None else statement.where(visible)


def window(oldest: datetime, now: datetime, guild_ids: Sequence[int] | None) -> sa.Select:
    """Item columns of the stories dated between `oldest` and `now` that `guild_ids` may see."""
    return listing(guild_ids).where(col(Story.effective_at) >= oldest, col(Story.effective_at) <= now)


def load_items(session: Session, statement: sa.Select, params: dict[str, object] | None = None) -> list[StoryItem]:
    """Run a `window` statement (with the values of its parameters, if any) and attach each story's topics."""
    rows = session.execute(statement, params).all()
    links = topic_links(session=session, story_ids=[row[0] for row in rows])
    # Unpacked and passed by position: a weekly pool reads 70,000 rows, and by name took twice as long.
    return [
        StoryItem(story_id, title, url, source, summary, effective_at, tuple(links[story_id]), bool(has_body), (),
                  image_url)
        for story_id, title, url, source, summary, effective_at, has_body, image_url in rows
    ]


def items_by_id(session: Session, story_ids: Sequence[int]) -> list[StoryItem]:
    """The items of `story_ids`, in their order (each must exist)."""
    by_id = {item.id: item for item in load_items(session, _by_ids(), {"ids": list(story_ids)})}
    return [by_id[story_id] for story_id in story_ids]


@functools.cache
def _by_ids() -> sa.Select:
    return listing(None).where(col(Story.id).in_(sa.bindparam("ids", expanding=True)))
