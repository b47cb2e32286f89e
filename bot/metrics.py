"""The bot's Prometheus metrics, in a registry of its own (never prometheus_client's global one).

One `BotMetrics` per client: two clients in one process (the tests) never share a counter. It is
the domain's `Telemetry` (deliveries, parts, feed polls), watches every response Discord sends
through an aiohttp trace hook (429s and 5xx, discord.py's own retries included), and times
commands. The gauges are set from the bot's vitals when /metrics is read.

Every metric is documented, with its labels, in docs/health-and-metrics.md.
"""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp
import discord.http
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from bot.health import Vitals
from digests.telemetry import DELIVERY_OUTCOMES, FEED_POLL_OUTCOMES, TARGET_KINDS, DeliveryOutcome, FeedPollOutcome

# Discord's X-RateLimit-Scope values; anything else (a proxy's 429) is counted as "unknown".
RATE_LIMIT_SCOPES = ("user", "global", "shared")
COMMAND_OUTCOMES = ("ok", "refused", "error")
# Interactions must be answered within 3 s: the buckets are finest around that deadline.
COMMAND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.0, 5.0, 10.0, 30.0)


class BotMetrics:
    """Counters, gauges and the command histogram of one bot; `registry` is what /metrics shows."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.deliveries = Counter("briefbot_deliveries", "Deliveries of a digest to a target for a slot, by how "
                                  "they ended", ["kind", "outcome"], registry=registry)
        self.parts_sent = Counter("briefbot_message_parts_sent", "Digest message parts Discord accepted",
                                  ["kind"], registry=registry)
        self.rate_limited = Counter("briefbot_discord_rate_limited", "429 responses from Discord",
                                    ["scope"], registry=registry)
        self.server_errors = Counter("briefbot_discord_server_errors", "5xx responses from Discord",
                                     ["status"], registry=registry)
        self.feed_polls = Counter("briefbot_feed_polls", "Feed polls, by outcome", ["outcome"], registry=registry)
        self.stories_ingested = Counter("briefbot_stories_ingested", "New stories stored from feed polls",
                                        registry=registry)
        self.command_seconds = Histogram("briefbot_command_duration_seconds", "Time to handle a slash command, "
                                         "its replies included", ["command", "outcome"], buckets=COMMAND_BUCKETS,
                                         registry=registry)
        self.queue_depth = Gauge("briefbot_delivery_queue_depth", "Due slots waiting for a delivery worker",
                                 registry=registry)
        self.slot_lag = Gauge("briefbot_oldest_due_slot_lag_seconds", "How late the oldest due, undelivered slot "
                              "is (0 when none is due)", registry=registry)
        self.shards_connected = Gauge("briefbot_gateway_shards_connected", "Gateway shards of this process that "
                                      "are connected", registry=registry)
        self.shards_expected = Gauge("briefbot_gateway_shards", "Gateway shards this process runs",
                                     registry=registry)
        self.scheduler_running = Gauge("briefbot_scheduler_running", "1 while the scheduler and its delivery "
                                       "workers run", registry=registry)
        # Every series an alert may use exists from the start, at 0, so rate() and absent() behave.
        for kind in TARGET_KINDS:
            self.parts_sent.labels(kind)
            for outcome in DELIVERY_OUTCOMES:
                self.deliveries.labels(kind, outcome)
        for outcome in FEED_POLL_OUTCOMES:
            self.feed_polls.labels(outcome)
        for scope in RATE_LIMIT_SCOPES:
            self.rate_limited.labels(scope)

    # -- the domain's Telemetry

    def delivery_ended(self, kind: str, outcome: DeliveryOutcome) -> None:
        """Count a delivery by how it ended."""
        self.deliveries.labels(kind, outcome).inc()

    def part_sent(self, kind: str) -> None:
        """Count a message part Discord accepted."""
        self.parts_sent.labels(kind).inc()

    def feed_polled(self, outcome: FeedPollOutcome, new_stories: int) -> None:
        """Count a poll and the stories it stored."""
        self.feed_polls.labels(outcome).inc()
        self.stories_ingested.inc(new_stories)

    # -- Discord's responses

    def watch_responses(self, trace: aiohttp.TraceConfig) -> aiohttp.TraceConfig:
        """Count the 429s and 5xx of every request made through a session with `trace` (returned, for chaining)."""
        trace.on_request_end.append(self._on_response)
        return trace

    async def _on_response(self, session: aiohttp.ClientSession, context: SimpleNamespace,
                           params: aiohttp.TraceRequestEndParams) -> None:
        if not str(params.url).startswith(discord.http.Route.BASE + "/"):
            return  # the gateway, or a host that is not Discord
        status = params.response.status
        if status == 429:
            scope = params.response.headers.get("X-RateLimit-Scope", "").lower()
            if scope not in RATE_LIMIT_SCOPES:
                scope = "global" if params.response.headers.get("X-RateLimit-Global") else "unknown"
            self.rate_limited.labels(scope).inc()
        elif 500 <= status <= 599:
            self.server_errors.labels(str(status)).inc()

    # -- commands

    def command_handled(self, command: str, outcome: str, seconds: float) -> None:
        """Time one slash command (`outcome`: ok, refused — a reply that says why — or error)."""
        self.command_seconds.labels(command, outcome).observe(seconds)

    # -- the gauges, read when /metrics is

    def show(self, vitals: Vitals) -> None:
        """Set the gauges from the vitals read just now."""
        self.queue_depth.set(vitals.queue_depth)
        self.slot_lag.set(vitals.slot_lag.total_seconds())
        self.shards_connected.set(len(vitals.shards.connected & vitals.shards.expected))
        self.shards_expected.set(len(vitals.shards.expected))
        self.scheduler_running.set(1 if vitals.scheduler_running else 0)
