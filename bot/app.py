"""`briefbot run`: check the set-up as `briefbot doctor` does, point discord.py at the configured endpoints,
run until a signal.

Shared resources (settings, store, taxonomy, templates) come in as `Services`, built by the CLI;
SIGTERM and SIGINT close the client cleanly and the store is released by the CLI afterwards. The
HTTP session for channel webhooks is opened here and handed to the client, and so is the HTTP side
door (/healthz, /metrics; `bot.web`) when HTTP_PORT is set: it listens before the gateway connects,
so a port already taken stops the start at once, and it closes after the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import discord

from bot.archive_web import add_archive_routes
from bot.client import BriefbotClient
from bot.endpoints import configure_endpoints
from bot.metrics import BotMetrics
from bot.web import build_web_app, start_web_server
from digests.collector import tune_for_service
from digests.doctor import Report, check_setup
from digests.services import Services

log = logging.getLogger(__name__)


def run_bot(services: Services) -> int:
    """Run the bot; returns the exit status (2: no token or a failed check, 1: the database unreachable or
    Discord refused the token)."""
    settings = services.settings
    if not settings.discord_token:
        print("briefbot: error: DISCORD_TOKEN is not set. Put it in .env or the environment "
              "(see .env.example); `briefbot demo` works without one.", file=sys.stderr)
        return 2
    # Load the topic model now (from its cache, or fit it): a damaged model file stops the start with
    # a clear error, and the first feed poll does not wait for it.
    services.taxonomy.semantic_tagger  # noqa: B018
    refusal = refuse_to_start(services)
    if refusal is not None:
        return refusal
    configure_endpoints(api_base=settings.discord_api_base, gateway_url=settings.discord_gateway_url)
    services.engine  # noqa: B018 - open the store (and apply migrations) before connecting
    tune_for_service()
    return asyncio.run(_serve(services, str(settings.discord_token)))


def refuse_to_start(services: Services) -> int | None:
    """Run the checks of `briefbot doctor`; log its warnings, and on any failure print why and return the status.

    The status is 1 when every failure may clear by itself (the database still starting, the HTTP
    port not yet released), so a supervisor restarting the bot is right to; 2 when the configuration
    must be fixed first.
    """
    report = Report(tuple(check_setup(services.settings, services.taxonomy, now=datetime.now(UTC),
                                      renderer=services.renderer)))
    for check in report.warnings:
        log.warning("%s: %s (%s)", check.name, check.detail, check.advice)
    if report.can_start:
        return None
    print("\n".join(report.lines(report.failures)), file=sys.stderr)
    print(f"briefbot: error: {report.summary()} Run `briefbot doctor` to see every check.", file=sys.stderr)
    return 1 if report.only_transient_failures else 2


async def _serve(services: Services, token: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    metrics = BotMetrics()
    webhook_trace = metrics.watch_responses(aiohttp.TraceConfig())
    async with (aiohttp.ClientSession(trace_configs=[webhook_trace]) as webhooks,
                BriefbotClient(services, webhook_session=webhooks, metrics=metrics) as client,
                _side_door(client)):
        running = asyncio.create_task(client.start(token, reconnect=True), name="discord-client")
        stopping = asyncio.create_task(stop.wait(), name="stop-signal")
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.done():
            log.info("stopping on signal")
            await client.close()
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            return 0
        stopping.cancel()
        error = running.exception()
    if isinstance(error, discord.LoginFailure):
        print("briefbot: error: Discord refused the token (check DISCORD_TOKEN).", file=sys.stderr)
        return 1
    if error is not None:
        log.error("the Discord client stopped: %s", type(error).__name__, exc_info=error)
        return 1
    return 0


@contextlib.asynccontextmanager
async def _side_door(client: BriefbotClient) -> AsyncIterator[None]:
    """Serve /healthz, /metrics and the briefing archives while the client runs, when HTTP_PORT is set."""
    settings = client.services.settings
    if settings.http_port is None:
        yield
        return
    app = build_web_app(monitor=client.health, metrics=client.metrics,
                        allowed_networks=settings.metrics_allowed_networks,
                        extra=[functools.partial(add_archive_routes, services=client.services)])
    runner = await start_web_server(app, host=settings.http_host, port=settings.http_port)
    try:
        yield
    finally:
        await runner.cleanup()
