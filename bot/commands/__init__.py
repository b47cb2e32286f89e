"""Slash commands, one module per thing a user does; each module has `register(tree)`."""

from bot.commands import briefing, feeds, stories, subscriptions

COMMAND_MODULES = (stories, subscriptions, briefing, feeds)
