"""Saved searches: words a personal digest or a channel briefing follows besides its topics.

Each adds a section to the target's digest: the stories matching the words that reached the target
since its last digest, found by the full-text search of `/stories` (see
`digests.selection.StoryPool.with_searches`). A target has at most MAX_SAVED_SEARCHES, each at most
SAVED_SEARCH_MAX characters holding at least one word a search can read. A refusal is a `Refusal`
whose reply the templates word.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from digests.errors import Refusal
from digests.models import SAVED_SEARCH_MAX, SavedSearch
from digests.store import text_search
from digests.text import drop_controls

MAX_SAVED_SEARCHES = 5


def tidy_query(query: str) -> str:
    """The words as they are kept and shown: control characters dropped, runs of spaces made one."""
    return " ".join(drop_controls(query or "").split())


def saved_searches_of(*, session: Session, target_id: int) -> list[SavedSearch]:
    """The target's saved searches, oldest first (the order of their sections)."""
    return list(session.exec(select(SavedSearch).where(col(SavedSearch.target_id) == target_id)
                             .order_by(col(SavedSearch.id))))


def add_saved_search(*, session: Session, target_id: int, query: str, now: datetime) -> SavedSearch:
    """Save a search for the target; Refusal when it is too long, holds no word, is saved already or one too many."""
    words = tidy_query(query)
    if len(words) > SAVED_SEARCH_MAX:
        raise Refusal("saved_search_too_long", limit=SAVED_SEARCH_MAX)
    if not words or text_search(session, words) is None:
        raise Refusal("saved_search_no_words", query=words)
    current = saved_searches_of(session=session, target_id=target_id)
    if any(saved.query.casefold() == words.casefold() for saved in current):
        raise Refusal("saved_search_exists", query=words)
    if len(current) >= MAX_SAVED_SEARCHES:
        raise Refusal("saved_search_limit", limit=MAX_SAVED_SEARCHES, searches=[saved.query for saved in current])
    saved = SavedSearch(target_id=target_id, query=words, created_at=now)
    try:
        with session.begin_nested():
            session.add(saved)
    except sa.exc.IntegrityError:  # the same words saved by a command running at the same moment
        raise Refusal("saved_search_exists", query=words) from None
    return saved


def remove_saved_search(*, session: Session, target_id: int, query: str) -> SavedSearch:
    """Remove the target's saved search with these words (case and spacing aside); Refusal when it has none."""
    words = tidy_query(query).casefold()
    current = saved_searches_of(session=session, target_id=target_id)
    for saved in current:
        if saved.query.casefold() == words:
            session.delete(saved)
            return saved
    raise Refusal("saved_search_unknown", query=tidy_query(query)[:SAVED_SEARCH_MAX],
                  searches=[saved.query for saved in current])


def searches_by_target(*, session: Session, target_ids: Iterable[int] | sa.Select) -> dict[int, list[str]]:
    """The queries of these targets' saved searches (a list, or a SELECT of target ids), oldest first."""
    ids = target_ids if isinstance(target_ids, sa.Select) else list(target_ids)
    found: dict[int, list[str]] = {}
    for target_id, query in session.execute(sa.select(SavedSearch.target_id, SavedSearch.query)
                                            .where(col(SavedSearch.target_id).in_(ids)).order_by(col(SavedSearch.id))):
        found.setdefault(target_id, []).append(query)
    return found
