"""A tiny real discord.py bot used by the fake-Discord smoke tests.

Run as ``python -m tests.e2e.minimal_client`` (cwd = repository root) with ``DISCORD_TOKEN``,
``DISCORD_API_BASE``, ``DISCORD_GATEWAY_URL`` (see ``FakeDiscord.env``) and ``MINIMAL_GUILD_ID``.
It points discord.py at the fake with :func:`bot.endpoints.configure_endpoints`, syncs

* global ``/echo text`` (string option with autocomplete; ephemeral reply) and
  ``/count n [loud]`` (integer range + boolean; public reply),
* guild-only group ``/notify post channel text [repeat]`` (defers ephemerally, posts to the
  channel with ``allowed_mentions`` none and a nonce, then edits the original response, or
  reports a failure by followup) and ``/notify me`` (DMs the invoker).

It logs ``AVAILABLE``/``JOINED <guild id> <text channel names>`` on ``on_guild_available`` /
``on_guild_join``, so tests can check what the client cached from GUILD_CREATE.
"""

from __future__ import annotations

import logging
import os

import discord
from discord import app_commands

from bot.endpoints import configure_endpoints

WORDS = ("alpha", "beta", "gamma", "delta", "epsilon")
log = logging.getLogger("minimal_client")


class MinimalClient(discord.Client):
    """discord.Client with a CommandTree holding the smoke-test commands."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=discord.Intents.default())
        self.tree = app_commands.CommandTree(self)
        self.guild = discord.Object(guild_id)

    async def setup_hook(self) -> None:
        """Register and sync commands (global and guild) before connecting to the gateway."""
        self.tree.add_command(echo)
        self.tree.add_command(count)
        self.tree.add_command(notify, guild=self.guild)
        await self.tree.sync()
        await self.tree.sync(guild=self.guild)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        """Log what was cached from a GUILD_CREATE for a guild announced in READY."""
        log.info("AVAILABLE %s %s", guild.id, sorted(c.name for c in guild.text_channels))

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Log what was cached from a GUILD_CREATE for a guild joined after READY."""
        log.info("JOINED %s %s", guild.id, sorted(c.name for c in guild.text_channels))


@app_commands.command(description="Repeat some text back to you")
@app_commands.describe(text="What to repeat")
async def echo(interaction: discord.Interaction, text: str) -> None:
    """Reply ephemerally with the text."""
    await interaction.response.send_message(f"echo: {text}", ephemeral=True)


@echo.autocomplete("text")
async def echo_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Suggest the words containing what was typed so far."""
    return [app_commands.Choice(name=w.title(), value=w) for w in WORDS if current.lower() in w]


@app_commands.command(description="Count to n")
async def count(
    interaction: discord.Interaction, n: app_commands.Range[int, 1, 5], loud: bool = False
) -> None:
    """Reply publicly with the numbers 1..n."""
    text = " ".join(str(i) for i in range(1, n + 1))
    await interaction.response.send_message(text.upper() + "!" if loud else text)


notify = app_commands.Group(name="notify", description="Send notifications")


@notify.command(name="post", description="Post text to a channel")
@app_commands.describe(
    channel="Where to post", text="What to post", repeat="Send this many times (same nonce)"
)
async def notify_post(
    interaction: discord.Interaction,
    channel: discord.TextChannel,
    text: str,
    repeat: app_commands.Range[int, 1, 3] = 1,
) -> None:
    """Defer, post ``text`` to ``channel`` ``repeat`` times with one nonce, then edit the response."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    nonce = f"p{interaction.id}"
    try:
        ids = [
            (await channel.send(text, allowed_mentions=discord.AllowedMentions.none(), nonce=nonce)).id
            for _ in range(repeat)
        ]
    except discord.HTTPException as exc:
        await interaction.followup.send(f"failed: {exc.status} {exc.code}", ephemeral=True)
        return
    await interaction.edit_original_response(content=f"posted {' '.join(map(str, ids))} to #{channel.name}")


@notify.command(name="me", description="Send yourself a DM")
async def notify_me(interaction: discord.Interaction) -> None:
    """DM the invoker, then confirm ephemerally."""
    try:
        await interaction.user.send("hello from the bot", allowed_mentions=discord.AllowedMentions.none())
    except discord.Forbidden as exc:
        await interaction.response.send_message(f"cannot DM you ({exc.code})", ephemeral=True)
        return
    await interaction.response.send_message("check your DMs", ephemeral=True)


def main() -> None:
    """Configure endpoints from the environment and run the client until killed."""
    configure_endpoints(
        api_base=os.environ.get("DISCORD_API_BASE"), gateway_url=os.environ.get("DISCORD_GATEWAY_URL")
    )
    client = MinimalClient(int(os.environ["MINIMAL_GUILD_ID"]))
    client.run(os.environ["DISCORD_TOKEN"], log_level=logging.INFO, root_logger=True)


if __name__ == "__main__":
    main()
