"""The `briefbot` console script (the Discord bot's `run` joins the domain's subcommands here)."""

from __future__ import annotations

from collections.abc import Sequence

from digests import cli as domain_cli


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `briefbot` command."""
    return domain_cli.main(argv)
