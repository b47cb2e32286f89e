"""Keeping under Discord's rate limits before Discord has to say 429.

Discord allows a bot 50 requests per second in all, and a channel about 5 messages per 5 seconds.
Both are sliding windows here: a request waits until the oldest of the last N in its window has
left it, so no window ever holds more than N requests, even at the edges where a token bucket
would let 2N through.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import discord

GLOBAL_PER_SECOND = 50
CHANNEL_MESSAGES = 5
CHANNEL_WINDOW_SECONDS = 5.0
# Requests reach Discord a few milliseconds after they leave the pacer, not all equally late, so
# the windows are kept a little longer than Discord's; measured in tests/e2e/test_delivery.py.
JITTER_MARGIN_SECONDS = 0.1
# Interaction responses and followups do not count against the global limit.
_EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")


class SlidingWindow:
    """At most `limit` acquisitions in any `window` seconds."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._times: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for room in the window, then take it."""
        async with self._lock:
            while True:
                now = self.clock()
                while self._times and now - self._times[0] >= self.window:
                    self._times.popleft()
                if len(self._times) < self.limit:
                    self._times.append(now)
                    return
                await asyncio.sleep(self.window - (now - self._times[0]))


class Pacer:
    """The bot-wide window (every REST request) plus one window per channel (messages)."""

    def __init__(self, per_second: int = GLOBAL_PER_SECOND) -> None:
        self.overall = SlidingWindow(per_second, 1.0 + JITTER_MARGIN_SECONDS)
        self._channels: dict[int, SlidingWindow] = {}

    def install(self, http: discord.http.HTTPClient) -> None:
        """Pace every request `http` makes, whoever makes it (commands, sync, deliveries).

        discord.py has no hook before a request, so `HTTPClient.request` is wrapped on this one
        instance. Its own retries after a 429 are not paced again; pacing is what avoids them.
        """
        send = http.request

        async def paced(route: discord.http.Route, **kwargs: Any) -> Any:
            if not route.path.startswith(_EXEMPT_PREFIXES):
                await self.overall.acquire()
            return await send(route, **kwargs)

        http.request = paced  # type: ignore[method-assign]

    async def message(self, channel_id: int) -> None:
        """Before posting a message into `channel_id`."""
        window = self._channels.get(channel_id)
        if window is None:
            window = SlidingWindow(CHANNEL_MESSAGES, CHANNEL_WINDOW_SECONDS + JITTER_MARGIN_SECONDS)
            self._channels[channel_id] = window
        await window.acquire()
