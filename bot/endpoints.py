"""Point discord.py at a non-default Discord REST API and gateway (used by the offline fake Discord).

discord.py 2.7 has no public option for this, so :func:`configure_endpoints` patches the two
class-level defaults that every connection path goes through:

* REST: every request -- bot HTTP calls *and* interaction callbacks / followup webhooks (the
  webhook adapter imports the same class) -- builds its URL as ``discord.http.Route.BASE + path``.
  ``Route.BASE`` is a class attribute (``'https://discord.com/api/v10'``), read when each ``Route``
  is created, so replacing it redirects all later requests.
* Gateway: a plain ``discord.Client`` never asks ``GET /gateway/bot``; the first IDENTIFY connects
  to ``DiscordWebSocket.DEFAULT_GATEWAY``. After READY, reconnects that RESUME use the READY
  payload's ``resume_gateway_url`` (which the server -- here the fake -- chooses), and an
  INVALID_SESSION resets the target back to ``DEFAULT_GATEWAY``. ``AutoShardedClient`` does
  call ``GET /gateway/bot`` (which goes through ``Route.BASE``). Patching ``DEFAULT_GATEWAY``
  therefore covers the first connect and re-IDENTIFY; RESUME follows the server's answer.

Both patches are process-wide (class attributes), so call this once at start-up, *before* the
client logs in, and after any ``discord.http._set_api_version`` call (which rewrites
``Route.BASE``). CDN/asset URLs are left alone: they are only built, never fetched, by the bot.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

__all__ = ["configure_endpoints"]


def configure_endpoints(*, api_base: str | None, gateway_url: str | None) -> None:
    """Make discord.py use ``api_base`` for REST and ``gateway_url`` for the gateway websocket.

    ``api_base`` is the versioned API root, e.g. ``"http://127.0.0.1:8080/api/v10"`` (a trailing
    slash is ignored). ``gateway_url`` is the websocket URL without query string, e.g.
    ``"ws://127.0.0.1:8080/gateway"``; discord.py appends ``?v=10&encoding=json&compress=...``.
    Either argument may be ``None`` to keep discord.py's default; both ``None`` is a no-op.

    Raises :class:`ValueError` for URLs with the wrong scheme, so a misconfigured setting fails at
    start-up instead of silently talking to the real Discord.
    """
    if api_base is not None:
        if not api_base.startswith(("http://", "https://")):
            raise ValueError(f"Discord API base must be an http(s) URL, got {api_base!r}")
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway_url is not None:
        if not gateway_url.startswith(("ws://", "wss://")):
            raise ValueError(f"Discord gateway URL must be a ws(s) URL, got {gateway_url!r}")
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
