"""The URLs of the briefing archive: its tokens, its paths, its public base URL, and which story links it shows.

An archive's URLs are `/archive/<token>/` (the index), `/archive/<token>/<key>` (one briefing, see
`ArchiveEntry.key`), `/archive/<token>/feed.atom` and `/archive/<token>/feed.json`. The token is the
only secret: 16 random bytes (128 bits), so an archive cannot be found by guessing.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

ARCHIVE_PREFIX = "/archive/"
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{22}")  # what token_urlsafe(16) makes
KEY_RE = re.compile(r"\d{4}-\d{2}-\d{2}-\d{4}(?:-\d{1,3})?")
WEB_SCHEMES = frozenset({"http", "https"})


def new_token() -> str:
    """A new archive token: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def base_url(value: str) -> str:
    """`value` as the archive's public base URL, without a trailing slash; ValueError says what is wrong.

    It may carry a path (https://example.org/briefbot) for a reverse proxy that serves the bot under
    one; the error never repeats the value, which could hold a password.
    """
    try:
        parts = urlsplit(value.strip())
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        raise ValueError("must be a URL such as https://news.example.org") from None
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host, such as https://news.example.org")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ValueError("must not hold a user name, password, query or fragment")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


def index_path(token: str) -> str:
    """The path of an archive's index page."""
    return f"{ARCHIVE_PREFIX}{token}/"


def index_url(base: str, token: str) -> str:
    """The absolute URL of an archive's index page under `base` (a `base_url`)."""
    return f"{base}{index_path(token)}"


def web_link(url: str | None) -> str | None:
    """`url` if a browser may follow it from an archive page (http or https, with a host), else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.netloc:
        return None
    return url
