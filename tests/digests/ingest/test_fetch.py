"""Fetching feeds over real HTTP from a server on 127.0.0.1."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from typing import ClassVar

import httpx
import pytest

from digests.errors import SourceError
from digests.ingest import read_source
from digests.ingest.fetch import USER_AGENT, fetch_url
from tests.local_http import QuietHandler, serving

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Local Wire</title>
<item><title>Tariffs rise again</title><link>/tariffs</link></item></channel></rss>"""


class FeedHandler(QuietHandler):
    """Serves one behaviour per path."""

    seen_agents: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        FeedHandler.seen_agents.append(self.headers.get("User-Agent", ""))
        if self.path == "/feed.xml":
            self._send(200, RSS, "application/rss+xml")
        elif self.path == "/to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif self.path == "/error":
            self._send(500, b"boom", "text/plain")
        elif self.path == "/huge":
            self._send(200, b"<rss>" + b"x" * (6 * 1024 * 1024), "application/rss+xml")
        elif self.path == "/gzip-bomb":
            body = gzip.compress(b"\0" * (20 * 1024 * 1024))
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/slow":
            time.sleep(3)
            self._send(200, RSS, "application/rss+xml")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_body(status, body, {"Content-Type": content_type})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(FeedHandler) as url:
        yield url


def test_a_feed_url_is_fetched_parsed_and_links_resolved(server):
    parsed = read_source(f"{server}/feed.xml")
    assert [(d.title, d.url, d.source) for d in parsed.drafts] == [
        ("Tariffs rise again", f"{server}/tariffs", "Local Wire")
    ]
    assert FeedHandler.seen_agents[-1] == USER_AGENT


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/to-file", "not http or https"),
        ("/loop", "redirects"),
        ("/error", "HTTP 500"),
        ("/huge", "larger than 5 MB"),
        ("/gzip-bomb", "larger than 5 MB"),
    ],
)
def test_bad_responses_fail_with_a_clear_reason(server, path, message):
    with pytest.raises(SourceError, match=message):
        fetch_url(server + path)


def test_a_slow_server_times_out(server):
    client = httpx.Client(timeout=0.5)
    with pytest.raises(SourceError, match="timed out"):
        fetch_url(f"{server}/slow", client=client)
    client.close()


def test_a_closed_port_is_a_network_error():
    with pytest.raises(SourceError, match="network error"):
        fetch_url("http://127.0.0.1:9/feed.xml")
