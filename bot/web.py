"""The HTTP side door: /healthz and /metrics, served by the bot's own process on aiohttp.

Off unless HTTP_PORT is set; it listens on HTTP_HOST (127.0.0.1 by default). Other route sets
(the briefing archive) join through `extra`: each is called with the application before it starts.

    /healthz   200 when every check passes, else 503; a JSON body names each check and its facts
               (see bot.health). Open to every address: Docker, Kubernetes and uptime monitors probe
               from wherever they run, and it tells no more than whether the bot works.
    /metrics   Prometheus text (or OpenMetrics when asked for), only to METRICS_ALLOWED_NETWORKS
               (403 otherwise): it names guild-independent figures, but nobody outside needs them.

The allow-list looks at the address of the connection. A reverse proxy in front of the bot makes
every request come from the proxy's address, so a proxy must not pass /metrics on.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable, Sequence

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from bot.health import HealthMonitor
from bot.metrics import BotMetrics
from digests.errors import ConfigError
from digests.settings import IPNetwork

log = logging.getLogger(__name__)

RouteInstaller = Callable[[web.Application], None]
MONITOR: web.AppKey[HealthMonitor] = web.AppKey("monitor", HealthMonitor)
METRICS: web.AppKey[BotMetrics] = web.AppKey("metrics", BotMetrics)
ALLOWED: web.AppKey[tuple[IPNetwork, ...]] = web.AppKey("allowed_networks", tuple)
REFUSED: web.AppKey[set[str]] = web.AppKey("refused_addresses", set)
# Refused addresses are logged once each, up to this many, so a scraper on the wrong network is seen
# without a line every 15 seconds.
_REFUSALS_LOGGED = 100


def build_web_app(*, monitor: HealthMonitor, metrics: BotMetrics, allowed_networks: Sequence[IPNetwork],
                  extra: Iterable[RouteInstaller] = ()) -> web.Application:
    """The application: /healthz, /metrics, and the routes each of `extra` adds."""
    app = web.Application()
    app[MONITOR] = monitor
    app[METRICS] = metrics
    app[ALLOWED] = tuple(allowed_networks)
    app[REFUSED] = set()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    for install in extra:
        install(app)
    return app


async def healthz(request: web.Request) -> web.Response:
    """200 when healthy, 503 otherwise; the body says which check failed and what it saw."""
    report = await request.app[MONITOR].report()
    return web.json_response(report.as_json(), status=200 if report.ok else 503,
                             headers={"Cache-Control": "no-store"})


async def metrics_page(request: web.Request) -> web.Response:
    """The metrics, in the format the scraper asks for; 403 outside METRICS_ALLOWED_NETWORKS."""
    if not is_allowed(request.remote, request.app[ALLOWED]):
        refused = request.app[REFUSED]
        if len(refused) < _REFUSALS_LOGGED and (request.remote or "") not in refused:
            refused.add(request.remote or "")
            log.warning("refused /metrics to %s: not in METRICS_ALLOWED_NETWORKS", request.remote)
        raise web.HTTPForbidden()
    metrics = request.app[METRICS]
    metrics.show(request.app[MONITOR].vitals())
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(body=encode(metrics.registry), headers={"Content-Type": content_type,
                                                                 "Cache-Control": "no-store"})


def is_allowed(remote: str | None, networks: Sequence[IPNetwork]) -> bool:
    """Whether a peer address is in one of `networks` (an IPv4 peer seen through an IPv6 socket counts as IPv4)."""
    if not remote:
        return False  # a Unix socket or an unknown peer: nothing to match
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])  # without an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


async def start_web_server(app: web.Application, *, host: str, port: int) -> web.AppRunner:
    """Listen on host:port; raises ConfigError saying what to do when that is impossible."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise ConfigError(f"cannot listen on {host}:{port} for HTTP_HOST/HTTP_PORT ({error.strerror or error}); "
                             "choose a free port, or an address of this machine") from None
    log.info("HTTP side door on %s:%d (/healthz, /metrics)", host, port)
    return runner
