"""The briefing archive served for tests: its routes on a real aiohttp server on 127.0.0.1, and archived briefings.

The bot's own HTTP side door (bot.web) wires `add_archive_routes` in; tests build their own application
the same way, so they exercise the very routes the bot serves.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from aiohttp import web

from bot.archive_web import add_archive_routes
from digests.delivery import Deliverer, Destination
from digests.ingest.draft import StoryDraft
from digests.models import ChannelBriefing
from digests.rendering import Renderer
from digests.services import Services
from digests.settings import Settings
from digests.store import add_stories, session_scope
from digests.targets import setup_briefing
from digests.topics import Taxonomy


class Recorder:
    """A publisher that accepts every message (the archive only needs deliveries to finish)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, destination: Destination, content: str, *, nonce: str, mention_role_id: int | None) -> int:
        self.sent.append(content)
        return len(self.sent)


def services_for(engine: sa.Engine, taxonomy: Taxonomy, renderer: Renderer, **settings: str) -> Services:
    """Services over an open store, with these settings (e.g. ARCHIVE_BASE_URL)."""
    return Services(Settings.from_mapping(settings), taxonomy, renderer, _engine=engine)


@asynccontextmanager
async def serving(services: Services, extra: Callable[[web.Application], None] | None = None) -> AsyncIterator[str]:
    """Serve the archive routes (and `extra` ones) on a free port of 127.0.0.1; yields the base URL."""
    app = web.Application()
    add_archive_routes(app, services)
    if extra is not None:
        extra(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


def archived_briefing_setup(engine: sa.Engine, taxonomy: Taxonomy, *, now: datetime, channel_id: int = 55,
                            guild_id: int = 111, timezone: str = "Europe/Brussels", topics: str | None = None,
                            ) -> ChannelBriefing:
    """A channel briefing with its archive on, created the day before `now`."""
    with session_scope(engine) as session:
        briefing, _ = setup_briefing(session=session, taxonomy=taxonomy, guild_id=guild_id, channel_id=channel_id,
                                     time_of_day="08:00", timezone=timezone, topics=topics, days=None,
                                     mention_role_id=None, quiet_day_notice=None, now=now - timedelta(days=1),
                                     archive="on")
        return briefing


async def deliver_with(engine: sa.Engine, taxonomy: Taxonomy, renderer: Renderer, briefing: ChannelBriefing, *,
                       drafts: list[StoryDraft], slot_at: datetime) -> list[str]:
    """Ingest `drafts` an hour before `slot_at`, then deliver the briefing's slot; returns the messages posted."""
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=slot_at - timedelta(hours=1), drafts=drafts)
        briefing = session.get(ChannelBriefing, briefing.id)
    publisher = Recorder()
    deliverer = Deliverer(engine=engine, taxonomy=taxonomy, renderer=renderer, publisher=publisher,
                          clock=lambda: slot_at + timedelta(seconds=2), owner="tests")
    report = await deliverer.deliver(briefing, slot_at=slot_at)
    assert report.status == "done", report
    return publisher.sent
