"""The Discord client: owns the command tree, the publisher and the deliverer; syncs commands on start."""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import aiohttp
import discord
from discord import app_commands
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.commands import COMMAND_MODULES
from bot.health import DatabaseProbe, HealthMonitor, Shards
from bot.interactions import ANY_INSTALL, EVERYWHERE, NotManager, installed_guild, send_parts
from bot.metrics import BotMetrics
from bot.pacing import Pacer
from bot.posting import NO_MENTIONS, DiscordPublisher
from digests.delivery import Deliverer
from digests.errors import BriefbotError, Refusal
from digests.feed_poller import (
    TICK_WAIT_SECONDS,
    FeedPoller,
    announce_disabled_feeds,
    read_feeds_file,
    sync_deployment_feeds,
)
from digests.guilds import forget_guild, forget_member
from digests.scheduler import DeliveryScheduler, Kind, stops_quietly
from digests.services import Services
from digests.store import remember_member, session_scope
from digests.targets import remember_dm_channel

log = logging.getLogger(__name__)
T = TypeVar("T")
# How often due feeds are looked for; each feed has its own interval (15 min by default).
FEED_POLL_TICK_SECONDS = 60
# Where an interaction keeps the moment the bot started handling it (`Interaction.extras`), for its timing.
STARTED = "briefbot_started"
# discord.py waits out a 429 by itself up to this long; a longer one (a channel's hourly crosspost
# allowance) comes back as RateLimited, so the publisher postpones that work instead of blocking.
LONGEST_RATE_LIMIT_WAIT_SECONDS = 60.0


def utc_now() -> datetime:
    """The bot's clock; the domain gets `now` from here."""
    return datetime.now(UTC)


class BriefbotTree(app_commands.CommandTree):
    """The command tree, with the bot's one error path.

    Commands default to every context (servers, DMs with the bot, other DMs and group DMs) and both
    installs (server and user); manager groups narrow that to servers (see `ManagerGroup`).
    """

    def __init__(self, client: discord.Client) -> None:
        super().__init__(client, allowed_contexts=EVERYWHERE, allowed_installs=ANY_INSTALL)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Start the command's clock; remember where each user uses the bot: their digest then includes that
        guild's own stories.

        Only a guild that installed the bot counts: a user-installed command in another server
        says nothing about the guilds whose feeds the bot reads.
        """
        interaction.extras[STARTED] = time.perf_counter()
        guild_id = installed_guild(interaction)
        if guild_id is not None:
            client: BriefbotClient = interaction.client  # type: ignore[assignment]
            await client.remember_member(interaction.user.id, guild_id)
        return True

    async def sync(self, *, guild: discord.abc.Snowflake | None = None) -> list[app_commands.AppCommand]:
        """Bulk-overwrite the commands (global, or `guild`'s) with `command_payload`s.

        As `CommandTree.sync`, whose payloads also carry `dm_permission`, which Discord deprecated for
        `contexts`: sending both could only disagree.
        """
        if self.client.application_id is None:
            raise app_commands.MissingApplicationID
        commands = self._get_all_commands(guild=guild)
        payload = [await self.command_payload(command, scoped=guild is not None) for command in commands]
        try:
            if guild is None:
                data = await self._http.bulk_upsert_global_commands(self.client.application_id, payload=payload)
            else:
                data = await self._http.bulk_upsert_guild_commands(self.client.application_id, guild.id,
                                                                   payload=payload)
        except discord.HTTPException as error:
            if error.status == 400 and error.code == 50035:
                raise app_commands.CommandSyncFailure(error, commands) from None
            raise
        return [app_commands.AppCommand(data=entry, state=self._state) for entry in data]

    async def command_payload(self, command: app_commands.Command | app_commands.Group | app_commands.ContextMenu,
                              *, scoped: bool) -> dict:
        """A command as Discord's current API takes it: no `dm_permission`; `contexts` and `integration_types`
        only on global commands (a guild's commands live in that guild only)."""
        translator = self.translator
        payload = await command.get_translated_payload(self, translator) if translator else command.to_dict(self)
        payload.pop("dm_permission", None)
        if scoped:
            payload.pop("contexts", None)
            payload.pop("integration_types", None)
        return payload

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Turn any error of a command into an ephemeral reply.

        In order: a refusal shows its reply of the templates; another domain error (bad input, not
        found, …) shows its own message; a member without Manage Server is refused; a server-only
        command used in DMs says so; a command on cooldown says when to try again; anything else is
        logged with its traceback under a short reference that the user is shown.
        """
        client: BriefbotClient = interaction.client  # type: ignore[assignment]
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        renderer = client.services.renderer
        command = interaction.command.qualified_name if interaction.command else "?"
        outcome = "refused"
        if isinstance(original, Refusal):
            parts = renderer.reply(original.reply, **original.details)
        elif isinstance(original, BriefbotError):
            parts = renderer.reply("error", message=str(original))
        elif isinstance(original, NotManager):
            parts = renderer.reply("not_manager")
        elif isinstance(original, app_commands.NoPrivateMessage):
            parts = renderer.reply("guild_only")
        elif isinstance(original, app_commands.CommandOnCooldown):
            parts = renderer.reply("cooldown", command=command, seconds=math.ceil(original.retry_after))
        else:
            reference = secrets.token_hex(4)
            log.error("command /%s failed (ref %s)", command, reference, exc_info=original)
            parts = renderer.reply("unexpected", reference=reference)
            outcome = "error"
        try:
            await send_parts(interaction, parts, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the user about an error of /%s", interaction.command, exc_info=True)
        client.time_command(interaction, command, outcome)


class BriefbotClient(discord.AutoShardedClient):
    """The bot. Shared resources come in from `run_bot`; nothing here reads the environment.

    It connects the gateway shards of SHARD_IDS out of SHARD_COUNT (default: every shard Discord
    recommends), so several processes can split a large bot's guilds. Deliveries do not depend on
    shards: every process posts through REST whatever digests it claims.

    Discord sends member-leave events only with the privileged members intent, which is off unless
    DISCORD_MEMBERS_INTENT is set (it must then be enabled in the Developer Portal too); without it
    a member who left keeps the guild's stories in their DM digest until the bot leaves that guild.
    """

    def __init__(self, services: Services, *, webhook_session: aiohttp.ClientSession | None = None,
                 clock: Callable[[], datetime] = utc_now, metrics: BotMetrics | None = None) -> None:
        """`metrics` should also watch `webhook_session`'s responses (see `bot.app`); by default the bot has its own."""
        settings = services.settings
        intents = discord.Intents.default()
        intents.members = settings.members_intent
        pacer = Pacer(settings.discord_requests_per_second)
        self.metrics = metrics or BotMetrics()
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS,
                         shard_count=settings.shard_count,
                         shard_ids=list(settings.shard_ids) if settings.shard_ids else None,
                         http_trace=self.metrics.watch_responses(pacer.trace_config()),
                         max_ratelimit_timeout=LONGEST_RATE_LIMIT_WAIT_SECONDS)
        self.services = services
        self.clock = clock
        self.tree = BriefbotTree(self)
        self.publisher = DiscordPublisher(self, pacer, session=webhook_session, on_dm_channel=self._store_dm_channel)
        self.deliverer = Deliverer(engine=services.engine, taxonomy=services.taxonomy, renderer=services.renderer,
                                   publisher=self.publisher, clock=clock,
                                   lease=timedelta(seconds=services.settings.delivery_lease_seconds),
                                   telemetry=self.metrics)
        self.scheduler = DeliveryScheduler(engine=services.engine, deliverer=self.deliverer, clock=clock,
                                           grace=timedelta(minutes=services.settings.catchup_grace_minutes))
        self.poller = FeedPoller(engine=services.engine, taxonomy=services.taxonomy, clock=clock,
                                 allow_private=services.settings.allow_private_feeds,
                                 deadline=services.settings.feed_fetch_deadline_seconds,
                                 guild_daily_quota=services.settings.guild_daily_story_quota,
                                 telemetry=self.metrics)
        self._members: set[tuple[int, int]] = set()
        self._live_shards: set[int] = set()  # READY or RESUMED since they last dropped
        self.health = HealthMonitor(shards=self.gateway_shards, scheduler=self.scheduler,
                                    database=DatabaseProbe(services.engine), clock=clock,
                                    max_slot_lag=timedelta(minutes=settings.health_max_slot_lag_minutes))

    async def launch_shards(self) -> None:
        """Connect the shards; with DISCORD_GATEWAY_URL set, take only the shard count from Discord.

        Without SHARD_COUNT, discord.py connects to the URL `GET /gateway/bot` answers, which would
        bypass the configured gateway (a proxy, or the tests' fake).
        """
        if self.shard_count is None and self.services.settings.discord_gateway_url:
            self.shard_count, _, _ = await self.http.get_bot_gateway()
        await super().launch_shards()

    async def _store_dm_channel(self, user_id: int, channel_id: int | None) -> None:
        """Remember a user's DM channel for later processes; on a database error, this one's cache serves."""

        def store() -> None:
            with session_scope(self.services.engine) as session:
                remember_dm_channel(session=session, user_id=user_id, channel_id=channel_id)

        try:
            await asyncio.to_thread(store)
        except SQLAlchemyError as error:
            log.warning("could not store the DM channel of user %s: %s", user_id, type(error).__name__)

    async def setup_hook(self) -> None:
        """Register and sync the commands, then start the schedule (catching up on missed slots) and the feeds."""
        await self.sync_commands()
        feeds_file = self.services.settings.feeds_file
        if feeds_file is not None:
            urls = await asyncio.to_thread(read_feeds_file, feeds_file)
            added = await asyncio.to_thread(sync_deployment_feeds, engine=self.services.engine, urls=urls,
                                            now=self.clock())
            log.info("FEEDS_FILE: %d feed(s), %d new", len(urls), added)
        await self.scheduler.start()
        self.scheduler.every(FEED_POLL_TICK_SECONDS, self.poll_feeds, name="poll-feeds")

    @stops_quietly
    async def poll_feeds(self) -> None:
        """Poll the feeds that are due, then tell guilds about feeds that just got disabled."""
        reports = await self.poller.poll_due(wait=TICK_WAIT_SECONDS)  # a slow feed's report comes later
        if reports:
            log.info("polled %d feed(s): %d new stories, %d failed", len(reports), sum(r.new for r in reports),
                     sum(r.outcome in {"failed", "disabled"} for r in reports))
        await announce_disabled_feeds(engine=self.services.engine, publisher=self.publisher,
                                      renderer=self.services.renderer)

    async def close(self) -> None:
        """Stop scheduling before the connection goes; unfinished deliveries resume at the next start."""
        await self.scheduler.stop()
        await self.poller.aclose()
        await self.health.database.aclose()
        await super().close()

    def gateway_shards(self) -> Shards:
        """The shards this process runs, and those connected now (none are known before the shard count is)."""
        expected = self.shard_ids if self.shard_ids is not None else range(self.shard_count or 0)
        open_now = {shard_id for shard_id, shard in self.shards.items() if not shard.is_closed()}
        return Shards(connected=frozenset(self._live_shards & open_now), expected=frozenset(expected))

    async def on_shard_ready(self, shard_id: int) -> None:
        self._live_shards.add(shard_id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        log.info("gateway shard %s resumed", shard_id)
        self._live_shards.add(shard_id)

    async def on_shard_disconnect(self, shard_id: int) -> None:
        log.info("gateway shard %s disconnected", shard_id)
        self._live_shards.discard(shard_id)

    async def on_app_command_completion(self, interaction: discord.Interaction,
                                        command: app_commands.Command | app_commands.ContextMenu) -> None:
        self.time_command(interaction, command.qualified_name, "ok")

    def time_command(self, interaction: discord.Interaction, command: str, outcome: str) -> None:
        """Count how long a command took, from the tree's first look at it to its last reply."""
        started = interaction.extras.get(STARTED)
        if started is not None:
            self.metrics.command_handled(command, outcome, time.perf_counter() - started)

    async def remember_member(self, user_id: int, guild_id: int) -> None:
        """Record (once per run) that a user uses the bot in a guild."""
        if (user_id, guild_id) not in self._members:
            await self.db(lambda session: remember_member(session=session, user_id=user_id, guild_id=guild_id))
            self._members.add((user_id, guild_id))

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed from a guild (or it was deleted): forget its feeds, briefings and members."""
        forgotten = await self.db(lambda session: forget_guild(session=session, guild_id=guild.id))
        self._members = {pair for pair in self._members if pair[1] != guild.id}
        for briefing_id in forgotten.briefing_ids:
            await self.reschedule("channel", briefing_id)
        log.info("left guild %s: forgot %d feed(s), %d briefing(s), %d member(s), %d story(ies)", guild.id,
                 forgotten.feeds, len(forgotten.briefing_ids), forgotten.members, forgotten.stories)

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """A member left a guild (sent only with the members intent): their digest drops its stories."""
        user_id, guild_id = payload.user.id, payload.guild_id
        await self.db(lambda session: forget_member(session=session, user_id=user_id, guild_id=guild_id))
        self._members.discard((user_id, guild_id))

    async def reschedule(self, kind: Kind, key: int) -> None:
        """Bring one target's job in line with the database after a command changed it."""
        await self.scheduler.sync_target(kind, key)

    async def sync_commands(self) -> None:
        """Register every command group, then sync them (to DISCORD_GUILD_ID only, when set)."""
        for module in COMMAND_MODULES:
            module.register(self.tree)
        guild_id = self.services.settings.discord_guild_id
        if guild_id:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            self.tree.clear_commands(guild=None)
            await self.tree.sync()
            log.info("synced %d commands to guild %s (global commands cleared)", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands", len(synced))

    async def on_ready(self) -> None:
        log.info("connected as %s (id %s) to %d guild(s) on shard(s) %s of %s", self.user,
                 self.user.id if self.user else "?", len(self.guilds), sorted(self.shards), self.shard_count)

    async def db(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one session (one transaction) on a worker thread, off the event loop."""

        def unit_of_work() -> T:
            with session_scope(self.services.engine) as session:
                return work(session)

        return await asyncio.to_thread(unit_of_work)
