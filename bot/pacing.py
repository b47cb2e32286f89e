"""Keeping under Discord's rate limits before Discord has to say 429.

Discord allows a bot 50 requests per second in all, and a channel about 5 messages per 5 seconds.
Both are sliding windows here: a request waits until the oldest of the last N in its window has
left it, so no window ever holds more than N requests, even at the edges where a token bucket
would let 2N through.

The bot-wide window is applied to every HTTP attempt, through a hook on discord.py's aiohttp
session, not around `HTTPClient.request`: discord.py retries 429s and 5xx inside that call, and
after a global 429 it releases every request it held at once, all of them below a wrapper.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from types import SimpleNamespace

import aiohttp
import discord.http

GLOBAL_PER_SECOND = 50
CHANNEL_MESSAGES = 5
CHANNEL_WINDOW_SECONDS = 5.0
# Discord lets a channel crosspost about 10 messages an hour.
CROSSPOSTS_PER_CHANNEL = 10
CROSSPOST_WINDOW_SECONDS = 3600.0
# Requests reach Discord a few milliseconds after they leave the pacer, not all equally late, so
# the windows are kept a little longer than Discord's; measured in tests/e2e/test_delivery.py.
JITTER_MARGIN_SECONDS = 0.1
# Interaction responses and followups do not count against the global limit; neither do
# webhooks, which Discord limits per webhook (the channel window paces them).
_EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")


class SlidingWindow:
    """At most `limit` acquisitions in any `window` seconds, and none while held."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._times: deque[float] = deque()
        self._held_until = 0.0
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        """Let nothing through for `seconds` (Discord said so with a global 429)."""
        self._held_until = max(self._held_until, self.clock() + seconds)

    def delay(self) -> float:
        """How long an `acquire` now would wait (0: there is room)."""
        now = self.clock()
        held = max(0.0, self._held_until - now)
        recent = [t for t in self._times if now - t < self.window]
        full = self.window - (now - recent[-self.limit]) if len(recent) >= self.limit else 0.0
        return max(held, full)

    async def acquire(self) -> None:
        """Wait for room in the window, then take it."""
        async with self._lock:
            while True:
                now = self.clock()
                if now < self._held_until:
                    await asyncio.sleep(self._held_until - now)
                    continue
                while self._times and now - self._times[0] >= self.window:
                    self._times.popleft()
                if len(self._times) < self.limit:
                    self._times.append(now)
                    return
                await asyncio.sleep(self.window - (now - self._times[0]))


def counts_globally(url: str) -> bool:
    """Whether a request to `url` counts against the bot's global limit (REST, but not interactions or webhooks).

    The gateway's websocket and anything not under the configured API base are not REST requests.
    """
    base = discord.http.Route.BASE
    return url.startswith(base + "/") and not url[len(base):].startswith(_EXEMPT_PREFIXES)


class Pacer:
    """The bot-wide window (every REST request) plus one window per channel (messages)."""

    def __init__(self, per_second: int = GLOBAL_PER_SECOND) -> None:
        self.overall = SlidingWindow(per_second, 1.0 + JITTER_MARGIN_SECONDS)
        self._channels: dict[int, SlidingWindow] = {}
        self._crossposts: dict[int, SlidingWindow] = {}

    def trace_config(self) -> aiohttp.TraceConfig:
        """A hook for the HTTP session discord.py sends through (`http_trace=`): every attempt waits for the window.

        Every request counts, whoever makes it (commands, sync, deliveries) and however often
        discord.py tries it again. A global 429 holds the window for its Retry-After, so the
        requests discord.py was holding back do not all leave at once when it lets them go.
        """
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._before_request)
        trace.on_request_end.append(self._after_request)
        return trace

    async def _before_request(self, session: aiohttp.ClientSession, context: SimpleNamespace,
                              params: aiohttp.TraceRequestStartParams) -> None:
        if counts_globally(str(params.url)):
            await self.overall.acquire()

    async def _after_request(self, session: aiohttp.ClientSession, context: SimpleNamespace,
                             params: aiohttp.TraceRequestEndParams) -> None:
        headers = params.response.headers
        if params.response.status == 429 and headers.get("X-RateLimit-Global") and counts_globally(str(params.url)):
            self.overall.hold(_seconds(headers.get("Retry-After")))

    async def message(self, channel_id: int) -> None:
        """Before posting a message into `channel_id`."""
        window = self._channels.get(channel_id)
        if window is None:
            window = SlidingWindow(CHANNEL_MESSAGES, CHANNEL_WINDOW_SECONDS + JITTER_MARGIN_SECONDS)
            self._channels[channel_id] = window
        await window.acquire()

    def crosspost_delay(self, channel_id: int) -> float:
        """How long a crosspost in `channel_id` would wait now for the channel's hourly allowance."""
        return self._crosspost_window(channel_id).delay()

    async def crosspost(self, channel_id: int) -> None:
        """Before crossposting a message of `channel_id`."""
        await self._crosspost_window(channel_id).acquire()

    def hold_crossposts(self, channel_id: int, seconds: float) -> None:
        """Discord answered a crosspost with a 429: none in that channel for `seconds`."""
        self._crosspost_window(channel_id).hold(seconds)

    def _crosspost_window(self, channel_id: int) -> SlidingWindow:
        window = self._crossposts.get(channel_id)
        if window is None:
            window = self._crossposts[channel_id] = SlidingWindow(CROSSPOSTS_PER_CHANNEL, CROSSPOST_WINDOW_SECONDS)
        return window


def _seconds(retry_after: str | None) -> float:
    """Retry-After in seconds; a missing or odd value holds for one second."""
    try:
        return max(0.0, float(retry_after or 1))
    except ValueError:
        return 1.0
