"""The `briefbot` console script: the domain's subcommands plus `run`, which starts the bot."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from digests import cli as domain_cli
from digests.services import Services


def cmd_run(args: argparse.Namespace, services: Services) -> int:
    """Start the Discord bot (imported here so the other commands never load discord.py)."""
    from bot.app import run_bot

    return run_bot(services)


def add_bot_commands(commands: argparse._SubParsersAction) -> None:
    """Add the subcommands that need Discord."""
    run = commands.add_parser("run", help="start the Discord bot (needs DISCORD_TOKEN)")
    run.set_defaults(handler=cmd_run)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `briefbot` command."""
    return domain_cli.main(argv, parser=domain_cli.build_parser(add_bot_commands))
