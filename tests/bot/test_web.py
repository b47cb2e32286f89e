"""The side door over real HTTP on 127.0.0.1: status codes, the allow-list, formats, extra routes, a taken port."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import discord.http
import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bot.health import DatabaseProbe, HealthMonitor, Shards
from bot.metrics import BotMetrics
from bot.web import build_web_app, is_allowed, start_web_server
from digests.errors import ConfigError
from digests.settings import LOOPBACK_NETWORKS
from tests.bot.test_health import NOW, StubScheduler


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def networks(*cidrs: str):
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


@pytest.fixture
async def serve(engine) -> AsyncIterator:
    """Start an app on a free port: `await serve(allowed=..., connected=..., extra=...)` -> (base URL, metrics)."""
    runners = []

    async def start(*, allowed=LOOPBACK_NETWORKS, connected=(0,), extra=()):
        metrics = BotMetrics()
        monitor = HealthMonitor(shards=lambda: Shards(frozenset(connected), frozenset({0})),
                                scheduler=StubScheduler(oldest=NOW - timedelta(seconds=90), waiting=2),
                                database=DatabaseProbe(engine), clock=lambda: NOW, max_slot_lag=timedelta(minutes=30))
        port = free_port()
        app = build_web_app(monitor=monitor, metrics=metrics, allowed_networks=allowed, extra=extra)
        runners.append(await start_web_server(app, host="127.0.0.1", port=port))
        return f"http://127.0.0.1:{port}", metrics

    yield start
    for runner in runners:
        await runner.cleanup()


async def get(url: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.get(url, headers=headers)


async def test_healthz_is_200_with_every_check_when_healthy_and_503_naming_the_failure(serve):
    healthy, _ = await serve()
    sick, _ = await serve(connected=())
    ok, bad = await get(healthy + "/healthz"), await get(sick + "/healthz")
    assert ok.status_code == 200 and ok.headers["Content-Type"].startswith("application/json")
    assert ok.json()["status"] == "ok" and set(ok.json()["checks"]) == {"gateway", "scheduler", "database", "slot_lag"}
    assert bad.status_code == 503 and bad.json()["failed"] == ["gateway"]
    assert bad.json()["checks"]["gateway"] == {"ok": False, "shards_connected": [], "shards_expected": [0]}


async def test_metrics_show_the_gauges_read_at_the_scrape(serve):
    base, metrics = await serve()
    metrics.delivery_ended("user", "done")
    metrics.part_sent("user")
    metrics.part_sent("user")
    metrics.feed_polled("new", 7)
    metrics.command_handled("briefing show", "ok", 0.2)
    response = await get(base + "/metrics")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(response.text) for s in family.samples}
    assert samples[("briefbot_delivery_queue_depth", ())] == 2
    assert samples[("briefbot_oldest_due_slot_lag_seconds", ())] == 90
    assert samples[("briefbot_gateway_shards_connected", ())] == 1
    assert samples[("briefbot_deliveries_total", (("kind", "user"), ("outcome", "done")))] == 1
    assert samples[("briefbot_deliveries_total", (("kind", "channel"), ("outcome", "failed")))] == 0  # there at 0
    assert samples[("briefbot_message_parts_sent_total", (("kind", "user"),))] == 2
    assert samples[("briefbot_stories_ingested_total", ())] == 7
    assert samples[("briefbot_command_duration_seconds_bucket",
                    (("command", "briefing show"), ("le", "0.25"), ("outcome", "ok")))] == 1
    assert ("process_resident_memory_bytes", ()) in samples


async def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(serve):
    base, _ = await serve()
    response = await get(base + "/metrics", Accept="application/openmetrics-text; version=1.0.0")
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def test_metrics_are_403_outside_the_allow_list_and_healthz_stays_open(serve):
    base, _ = await serve(allowed=networks("10.0.0.0/8", "fd00::/8"))
    refused = await get(base + "/metrics")
    assert refused.status_code == 403 and "briefbot" not in refused.text
    assert (await get(base + "/healthz")).status_code == 200


@pytest.mark.parametrize(
    ("remote", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # an IPv4 client of a dual-stack socket
        ("10.0.0.5", False),
        ("fe80::1%eth0", False),
        ("", False),
        (None, False),
        ("not-an-address", False),
    ],
)
def test_the_allow_list_matches_peer_addresses(remote, allowed):
    assert is_allowed(remote, LOOPBACK_NETWORKS) is allowed


async def test_extra_route_sets_are_served_beside_the_side_doors(serve):
    async def archive(request: web.Request) -> web.Response:
        return web.Response(text="past briefings")

    base, _ = await serve(extra=[lambda app: app.router.add_get("/archive", archive)])
    response = await get(base + "/archive")
    assert (response.status_code, response.text) == (200, "past briefings")
    assert (await get(base + "/elsewhere")).status_code == 404


async def test_a_port_already_taken_is_a_clear_error(engine):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = build_web_app(monitor=None, metrics=BotMetrics(), allowed_networks=LOOPBACK_NETWORKS)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=rf"cannot listen on 127.0.0.1:{port} for HTTP_HOST/HTTP_PORT"):
            await start_web_server(app, host="127.0.0.1", port=port)


async def test_discords_429s_and_5xx_are_counted_by_scope_and_status(monkeypatch):
    """A local server plays Discord (and another host); the trace hook counts Discord's answers only."""
    answers = iter([(429, {"X-RateLimit-Scope": "shared"}), (429, {"X-RateLimit-Global": "true"}),
                    (429, {}), (503, {}), (502, {}), (503, {}), (200, {})])

    async def answer(request: web.Request) -> web.Response:
        status, headers = next(answers)
        return web.Response(status=status, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    port = free_port()
    runner = await start_web_server(app, host="127.0.0.1", port=port)
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    metrics = BotMetrics()
    try:
        async with aiohttp.ClientSession(trace_configs=[metrics.watch_responses(aiohttp.TraceConfig())]) as session:
            for _ in range(6):
                async with session.post(f"http://127.0.0.1:{port}/api/v10/channels/1/messages"):
                    pass
            async with session.get(f"http://127.0.0.1:{port}/not-discord"):  # another host's 200 is no matter
                pass
    finally:
        await runner.cleanup()
    def counted(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert counted("briefbot_discord_rate_limited_total", scope="shared") == 1
    assert counted("briefbot_discord_rate_limited_total", scope="global") == 1
    assert counted("briefbot_discord_rate_limited_total", scope="unknown") == 1
    assert counted("briefbot_discord_rate_limited_total", scope="user") == 0
    assert counted("briefbot_discord_server_errors_total", status="503") == 2
    assert counted("briefbot_discord_server_errors_total", status="502") == 1


def test_two_bots_in_one_process_keep_their_own_counts():
    first, second = BotMetrics(), BotMetrics()
    first.part_sent("channel")
    assert first.registry.get_sample_value("briefbot_message_parts_sent_total", {"kind": "channel"}) == 1
    assert second.registry.get_sample_value("briefbot_message_parts_sent_total", {"kind": "channel"}) == 0
