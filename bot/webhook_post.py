"""`briefbot post --webhook URL`: one digest through a Discord webhook, no bot and no gateway.

The webhook keeps a watermark in the store (a `WebhookDigest`), so a daily cron job posts each
story once; rendering, size limits, pacing and error handling are the bot's own. It can post under
another name and avatar, into a thread, or (a forum's webhook) start a new post per digest. A run
cut short is resumed by the next one (within a day) from its next unsent part, in the post it
started; a webhook takes no nonce, so the part in flight when a run died may be posted twice.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import aiohttp

from bot.endpoints import configure_endpoints
from bot.pacing import Pacer
from bot.posting import DiscordPublisher
from digests.delivery import Deliverer, DeliveryReport, unfinished_slot
from digests.errors import DeliveryError
from digests.filters import replace_filters
from digests.models import WebhookDigest
from digests.services import Services
from digests.store import session_scope
from digests.targets import upsert_webhook_digest
from digests.webhook_identity import WebhookIdentity


def post_digest(services: Services, *, url: str, topics: str | None, timezone: str | None,
                identity: WebhookIdentity | None = None, filters: Sequence[tuple[str, str, str]] = ()) -> int:
    """Post the webhook's digest now (under `identity`'s name, avatar and thread, with exactly the filter rules
    `filters`: (action, kind, pattern) each); returns the exit status."""
    settings = services.settings
    configure_endpoints(api_base=settings.discord_api_base, gateway_url=None)
    now = datetime.now(UTC)
    with session_scope(services.engine) as session:
        target = upsert_webhook_digest(session=session, taxonomy=services.taxonomy, url=url, topics=topics,
                                       timezone=timezone or settings.default_timezone, now=now, identity=identity)
        replace_filters(session=session, target_id=target.id, rules=filters, now=now)
        # A run cut short (Discord down, the process killed) is finished first, from its next unsent part.
        slot_at = unfinished_slot(session=session, target=target, now=now) or now
    try:
        report = asyncio.run(_deliver(services, target, slot_at, now))
    except DeliveryError as error:
        print(f"briefbot: error: {error.reason}; run the command again to resume.", file=sys.stderr)
        return 1
    if report.status == "sending":  # another run holds it (its lease has not expired)
        print("briefbot: error: another `briefbot post` is sending this webhook's digest; try again in a few "
              "minutes.", file=sys.stderr)
        return 1
    if report.status == "empty":
        print("Nothing new since the last post: nothing was sent.")
        return 0
    if report.status == "failed":
        print(f"briefbot: error: {report.error}", file=sys.stderr)
        return 1
    print(f"Posted {report.parts_sent} message(s) through the webhook.")
    return 0


async def _deliver(services: Services, target: WebhookDigest, slot_at: datetime, now: datetime) -> DeliveryReport:
    async with aiohttp.ClientSession() as session:
        publisher = DiscordPublisher(None, Pacer(services.settings.discord_requests_per_second), session=session)
        deliverer = Deliverer(engine=services.engine, taxonomy=services.taxonomy, renderer=services.renderer,
                              publisher=publisher, clock=lambda: now)
        return await deliverer.deliver(target, slot_at=slot_at)
