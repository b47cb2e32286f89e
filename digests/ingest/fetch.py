"""Fetching a feed over HTTP(S): timeouts, a body-size cap, redirects only to http/https, conditional GET.

httpx only speaks http and https, so a redirect to `file:` or any other scheme fails instead of
being followed. The size cap counts decompressed bytes, so a gzip bomb stops early. `fetch_url`
serves `briefbot ingest URL`; `fetch_feed` serves the poller, with ETag / Last-Modified.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from digests.errors import SourceError

USER_AGENT = "Briefbot/0.1 (self-hosted news briefing bot)"
MAX_BODY_BYTES = 5 * 1024 * 1024
TIMEOUT = httpx.Timeout(15.0, connect=10.0)
MAX_REDIRECTS = 5
CLIENT_OPTIONS = {"timeout": TIMEOUT, "follow_redirects": True, "max_redirects": MAX_REDIRECTS,
                  "headers": {"User-Agent": USER_AGENT}}


@dataclass(frozen=True)
class Fetched:
    """A conditional GET's answer: `body` is None when the server said 304 Not Modified."""

    body: bytes | None
    etag: str | None
    last_modified: str | None


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Turn httpx's exceptions into SourceErrors that say what went wrong in a few words."""
    try:
        yield
    except httpx.UnsupportedProtocol:
        raise SourceError("redirected to a URL that is not http or https; not followed") from None
    except httpx.TooManyRedirects:
        raise SourceError(f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.TimeoutException:
        raise SourceError("timed out") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"network error: {type(exc).__name__}") from None


def _check_status(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise SourceError(f"HTTP {response.status_code} {response.reason_phrase}".strip())


def _too_big(max_bytes: int) -> SourceError:
    return SourceError(f"body larger than {max_bytes // (1024 * 1024)} MB; not read")


def fetch_url(url: str, *, client: httpx.Client | None = None, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The body of `url`, or SourceError with a clear reason."""
    own_client = client is None
    client = client or httpx.Client(**CLIENT_OPTIONS)
    try:
        with _clear_errors(), client.stream("GET", url) as response:
            _check_status(response)
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_big(max_bytes)
                chunks.append(chunk)
            return b"".join(chunks)
    finally:
        if own_client:
            client.close()


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> Fetched:
    """GET `url` unless it is unchanged since `etag` / `last_modified`; SourceError on failure."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with _clear_errors():
        async with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return Fetched(None, etag, last_modified)
            _check_status(response)
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_big(max_bytes)
                chunks.append(chunk)
            return Fetched(b"".join(chunks), response.headers.get("ETag"), response.headers.get("Last-Modified"))
