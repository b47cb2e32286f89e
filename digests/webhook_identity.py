"""How a webhook presents its messages: display name, avatar, and the thread it posts into (or starts).

Every value is checked here, before it is stored, so Discord never refuses a digest for one of them
at delivery time. The rules are Discord's (names: its Usernames and Nicknames rules plus the webhook
ones; sizes: its API description); an avatar must be an http(s) URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from digests.errors import InputError
from digests.models import AVATAR_URL_MAX, THREAD_NAME_MAX, WEBHOOK_USERNAME_MAX

CLEAR = "none"
_FORBIDDEN_IN_NAMES = ("@", "#", ":", "```", "discord", "clyde")
_RESERVED_NAMES = ("everyone", "here")
_THREAD_RE = re.compile(r"^(?:<#)?(\d{15,21})>?$")
_UNPRINTABLE_RE = re.compile(r"[\x00-\x1f\x7f\s]")


@dataclass(frozen=True)
class WebhookIdentity:
    """A webhook's display name, avatar URL, thread to post into, and name of the post to start (each optional)."""

    username: str | None = None
    avatar_url: str | None = None
    thread_id: int | None = None
    thread_name: str | None = None


def parse_username(value: str) -> str:
    """A display name Discord accepts for a webhook message, or InputError."""
    name = " ".join(value.split())
    if not 1 <= len(name) <= WEBHOOK_USERNAME_MAX:
        raise InputError(f"A webhook name must be 1 to {WEBHOOK_USERNAME_MAX} characters.")
    lowered = name.lower()
    if lowered in _RESERVED_NAMES or any(part in lowered for part in _FORBIDDEN_IN_NAMES):
        raise InputError("Discord does not allow that webhook name: it may not contain @, #, :, ```, “discord” "
                         "or “clyde”, nor be “everyone” or “here”.")
    return name


def parse_avatar_url(value: str) -> str:
    """An http(s) URL of an image for the webhook's avatar, or InputError (which does not repeat the URL)."""
    url = value.strip()
    if len(url) > AVATAR_URL_MAX:
        raise InputError(f"An avatar URL can be at most {AVATAR_URL_MAX} characters.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host or _UNPRINTABLE_RE.search(url):
        raise InputError("The avatar must be an http:// or https:// URL of an image.")
    if parts.username is not None or parts.password is not None:
        raise InputError("The avatar URL may not hold a user name or password.")
    return url


def parse_thread_id(value: str) -> int:
    """A thread's id, as typed (`123…` or `<#123…>`), or InputError."""
    match = _THREAD_RE.match(value.strip())
    if match is None:
        raise InputError("A thread is given by its id (right-click it, Copy Channel ID) or as <#id>.")
    return int(match[1])


def parse_thread_name(value: str) -> str:
    """The name that starts each digest's post in a forum, or InputError."""
    name = " ".join(value.split())
    if not 1 <= len(name) <= THREAD_NAME_MAX:
        raise InputError(f"A post name must be 1 to {THREAD_NAME_MAX} characters.")
    return name


def parse_identity(*, username: str | None, avatar_url: str | None, thread_id: str | None,
                   thread_name: str | None = None) -> WebhookIdentity:
    """Every given value checked; empty ones are None. A webhook posts into a thread or starts posts, not both."""
    identity = WebhookIdentity(
        username=parse_username(username) if username else None,
        avatar_url=parse_avatar_url(avatar_url) if avatar_url else None,
        thread_id=parse_thread_id(thread_id) if thread_id else None,
        thread_name=parse_thread_name(thread_name) if thread_name else None,
    )
    if identity.thread_id is not None and identity.thread_name is not None:
        raise InputError("Give a thread to post into or a name for new forum posts, not both.")
    return identity
