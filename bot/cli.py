"""The `briefbot` console script: the domain's subcommands plus `run`, which starts the bot."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from digests import cli as domain_cli
from digests.services import Services
from digests.webhook_identity import parse_identity


def cmd_run(args: argparse.Namespace, services: Services) -> int:
    """Start the Discord bot (imported here so the other commands never load discord.py)."""
    from bot.app import run_bot

    return run_bot(services)


def cmd_post(args: argparse.Namespace, services: Services) -> int:
    """Post one digest through a webhook."""
    from bot.webhook_post import post_digest

    identity = parse_identity(username=args.username, avatar_url=args.avatar_url, thread_id=args.thread_id,
                              thread_name=args.thread_name)
    rules = [("exclude", "word", pattern) for pattern in args.exclude or ()] + \
        [("exclude", "regex", pattern) for pattern in args.exclude_regex or ()] + \
        [("include", "word", pattern) for pattern in args.include or ()] + \
        [("include", "regex", pattern) for pattern in args.include_regex or ()]
    return post_digest(services, url=args.webhook, topics=args.topics, timezone=args.tz, identity=identity,
                       filters=rules)


def add_bot_commands(commands: argparse._SubParsersAction) -> None:
    """Add the subcommands that need Discord."""
    run = commands.add_parser("run", help="start the Discord bot (needs DISCORD_TOKEN)")
    run.set_defaults(handler=cmd_run)
    post = commands.add_parser(
        "post", help="post one digest through a Discord webhook (no bot needed; each story is posted once)"
    )
    post.add_argument("--webhook", required=True, metavar="URL", help="https://discord.com/api/webhooks/ID/TOKEN")
    post.add_argument("--topics", default="", help="comma-separated topic slugs (default: all topics)")
    post.add_argument("--tz", help="timezone for dates (default: DEFAULT_TIMEZONE)")
    post.add_argument("--username", metavar="NAME", help="the name to post under (default: the webhook's own)")
    post.add_argument("--avatar-url", metavar="URL", help="an http(s) image URL as the avatar (default: its own)")
    post.add_argument("--thread-id", metavar="ID", help="post into this thread (or forum post) of its channel")
    post.add_argument("--thread-name", metavar="NAME",
                      help="a forum's webhook: start a new post per digest, titled NAME and the date")
    rules = post.add_argument_group(
        "filter rules", "the webhook's digest keeps exactly the rules of this run (none: every story on its topics); "
        "each matches the title, summary or source, and a story is left out when an exclude rule matches it or, "
        "if there are include rules, when none does")
    rules.add_argument("--exclude", action="append", metavar="WORDS", help="leave out stories with these words")
    rules.add_argument("--include", action="append", metavar="WORDS", help="keep only stories with these words")
    rules.add_argument("--exclude-regex", action="append", metavar="RE2",
                       help="leave out stories matching this regular expression (RE2 syntax)")
    rules.add_argument("--include-regex", action="append", metavar="RE2",
                       help="keep only stories matching this regular expression (RE2 syntax)")
    post.set_defaults(handler=cmd_post)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `briefbot` command."""
    return domain_cli.main(argv, parser=domain_cli.build_parser(add_bot_commands))
