"""Checks of this machine's side of the set-up: the topics file, the feeds file, the HTTP port, the Discord URLs."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from digests.doctor.report import Check, failure, ok, warning
from digests.errors import BriefbotError
from digests.feed_poller import read_feeds_file
from digests.topics import Taxonomy, load_taxonomy


def check_topics(topics_file: Path | None, tagger: str) -> tuple[Taxonomy | None, list[Check]]:
    """Load the taxonomy as the bot does (the semantic head is fitted or read from its cache)."""
    where = str(topics_file) if topics_file else "the built-in taxonomy"
    try:
        taxonomy = load_taxonomy(topics_file, tagger=tagger)
    except BriefbotError as error:
        return None, [failure("topics", str(error), "fix TOPICS_FILE (format: docs/topics.md), or unset it to use "
                                                    "the built-in taxonomy")]
    return taxonomy, [check_tagger(taxonomy, where, tagger)]


def check_tagger(taxonomy: Taxonomy, where: str, tagger: str) -> Check:
    """Which tagger tags stories: keywords alone is a warning when TOPIC_TAGGER=auto wanted the model too."""
    if taxonomy.uses_semantic:
        return ok("topics", f"{len(taxonomy)} topics from {where}; tagged by keywords and the semantic model")
    if tagger == "keywords":
        return ok("topics", f"{len(taxonomy)} topics from {where}; tagged by keywords (TOPIC_TAGGER=keywords)")
    return warning("topics", f"{len(taxonomy)} topics from {where}; tagged by keywords alone",
                   "install the semantic extra (pip install 'briefbot[semantic]') to tag stories that name no "
                   "keyword of their topic, and give topics examples (docs/topics.md)")


def check_feeds_file(feeds_file: Path | None) -> Check:
    """FEEDS_FILE readable, every line a feed URL (as the bot reads it at start)."""
    if feeds_file is None:
        return ok("FEEDS_FILE", "not set: deployment-wide feeds come from `briefbot feeds add` only")
    try:
        urls = read_feeds_file(feeds_file)
    except BriefbotError as error:
        return failure("FEEDS_FILE", str(error), "make the file readable by this user and fix the line named; "
                                                 "one http(s) URL a line, # for comments")
    if not urls:
        return warning("FEEDS_FILE", f"{feeds_file} holds no feed URL", "one http(s) URL a line, # for comments")
    return ok("FEEDS_FILE", f"{feeds_file}: {len(urls)} feed URL(s)")


def check_http_port(host: str, port: int | None) -> Check | None:
    """Whether HTTP_HOST:HTTP_PORT can be listened on (as aiohttp does, reusing a port in TIME_WAIT); None when off."""
    if port is None:
        return None
    name = f"HTTP {host}:{port}"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return failure(name, f"HTTP_HOST {host!r} does not resolve: {error.strerror}",
                       "set HTTP_HOST to an address of this machine (127.0.0.1, 0.0.0.0, ::)")
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind(address)
            except OSError as error:
                return _bind_failure(name, host, port, error)
    return ok(name, "free: the health and metrics endpoints can listen there")


def _bind_failure(name: str, host: str, port: int, error: OSError) -> Check:
    if error.errno == errno.EADDRINUSE:
        return failure(name, "already in use by another program (or another Briefbot process)",
                       "stop it, or give each process its own HTTP_PORT", transient=True)
    if error.errno == errno.EACCES:
        return failure(name, f"this user may not listen on port {port}", "use a port above 1023")
    if error.errno == errno.EADDRNOTAVAIL:
        return failure(name, f"{host} is not an address of this machine",
                       "set HTTP_HOST to one of its addresses (127.0.0.1, 0.0.0.0, ::)")
    return failure(name, f"cannot listen there: {error.strerror}", "choose another HTTP_HOST or HTTP_PORT")


def check_discord_urls(api_base: str | None, gateway_url: str | None) -> Check:
    """DISCORD_API_BASE and DISCORD_GATEWAY_URL, when set, have the schemes discord.py can use."""
    if api_base and not api_base.startswith(("http://", "https://")):
        return failure("Discord URLs", "DISCORD_API_BASE must be an http(s) URL", "e.g. http://proxy:8080/api/v10")
    if gateway_url and not gateway_url.startswith(("ws://", "wss://")):
        return failure("Discord URLs", "DISCORD_GATEWAY_URL must be a ws(s) URL", "e.g. ws://127.0.0.1:8080/gateway")
    if api_base or gateway_url:
        shown = ", ".join(f"{label} {url}" for label, url in (("REST", api_base), ("gateway", gateway_url)) if url)
        return ok("Discord URLs", f"not Discord's own: {shown}")
    return ok("Discord URLs", "Discord's own")
