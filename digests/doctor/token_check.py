"""DISCORD_TOKEN: present and shaped like a bot token. Nothing here ever shows the token, or any part of it.

A bot token is three base64url segments separated by dots: the bot's user id (a snowflake) in
base64, a timestamp, and a signature. What people paste instead is recognisable: the application
id (digits), the OAuth2 client secret (32 characters, no dots), the public key (64 hex digits), or
the token with a `Bot ` prefix or quotes around it.
"""

from __future__ import annotations

import base64
import binascii
import re

from digests.doctor.report import Check, failure, ok, warning

NAME = "DISCORD_TOKEN"
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_PORTAL = "copy the bot's token from https://discord.com/developers/applications → your app → Bot → Reset Token"


def check_token(token: str | None, *, custom_api: bool) -> Check:
    """The token check; a malformed token only warns when DISCORD_API_BASE points at another server.

    Discord refuses a malformed token, but a test server or a proxy given in DISCORD_API_BASE may
    accept anything, so the bot could still start.
    """
    if not token:
        return failure(NAME, "is not set", f"{_PORTAL}, then put DISCORD_TOKEN=… in .env (see .env.example)")
    problem = token_problem(token)
    if problem is None:
        return ok(NAME, "set, and shaped like a bot token (not shown)")
    if custom_api:
        return warning(NAME, f"{problem} (not shown)",
                       "Discord would refuse it; DISCORD_API_BASE is set, so a test server may accept it")
    return failure(NAME, f"{problem} (not shown)", _PORTAL)


def token_problem(token: str) -> str | None:
    """What is wrong with the shape of `token`, in words that quote none of it; None when it looks right."""
    if token[:1] in "\"'" or token[-1:] in "\"'":
        return "is wrapped in quotes: leave them out"
    if re.match(r"(?i)bot\s+\S", token):
        return "starts with a “Bot ” prefix: give the token alone"
    if any(character.isspace() for character in token):
        return "holds spaces or line breaks: a bot token has none"
    if token.isdigit():
        return "is a number: that is the application (client) id, not the bot token"
    if re.fullmatch(r"[0-9a-fA-F]{64}", token):
        return "is 64 hex digits: that is the application's public key, not the bot token"
    segments = token.split(".")
    if len(segments) != 3:
        if len(segments) == 1 and re.fullmatch(r"[A-Za-z0-9_-]{32}", token):
            return "is 32 characters without dots: that looks like the OAuth2 client secret, not the bot token"
        return f"has {len(segments)} part(s) separated by dots: a bot token has 3"
    if not all(_SEGMENT_RE.match(segment) for segment in segments):
        return "holds characters a bot token never has (only letters, digits, - and _ between the dots)"
    if not _is_user_id(segments[0]):
        return "does not start with a bot's user id (its first part should be a base64-encoded number)"
    return None


def _is_user_id(segment: str) -> bool:
    try:
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return False
    return decoded.isdigit()
