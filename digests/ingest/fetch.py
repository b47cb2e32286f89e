"""Fetching a feed over HTTP(S) within bounds that a hostile server cannot stretch.

- Size: the body is read raw and decoded here, with at most one content coding (gzip or deflate),
  each step asked for no more than the bytes left under the cap. httpx's own decoders inflate a
  whole network read, through every coding the server stacks, before anything can be counted: a
  495-byte `gzip, gzip` answer became hundreds of MB. Stacked or unknown codings are refused.
- Time: besides httpx's per-operation timeouts, a whole fetch (redirects included) has a deadline,
  so a server trickling a byte at a time cannot hold a poll for hours.
- Redirects: only to http and https. The poller follows them itself, one checked hop at a time.
- Guarded fetches (guild feeds, unless ALLOW_PRIVATE_FEEDS): the client connects through
  `digests.ingest.guard.GuardedNetwork`; each hop must also have no user name or password and a
  usual web port; and errors do not repeat the server's status line or httpx's exception names.
- Conditional GET, with only visible-ASCII ETag / Last-Modified values (httpx refuses to send others).

`fetch_url` serves `briefbot ingest URL`; `fetch_feed` serves the poller.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpcore
import httpx

from digests.errors import SourceError
from digests.ingest.guard import GUARDED_PORTS, GUARDED_PORTS_TEXT, port_of

USER_AGENT = "Briefbot/0.1 (self-hosted news briefing bot)"
MAX_BODY_BYTES = 5 * 1024 * 1024
TIMEOUT = httpx.Timeout(15.0, connect=10.0)
# The longest one fetch may take, redirects included (FEED_FETCH_DEADLINE_SECONDS for the bot).
FETCH_DEADLINE = 60.0
MAX_REDIRECTS = 5
HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
_DECODED = {"gzip", "x-gzip", "deflate"}
_CODING_SHOWN = 20


@dataclass(frozen=True)
class Fetched:
    """A conditional GET's answer: `body` is None when the server said 304 Not Modified."""

    body: bytes | None
    etag: str | None
    last_modified: str | None


def feed_client(*, network: httpcore.AsyncNetworkBackend | None = None, timeout: httpx.Timeout = TIMEOUT,
                limits: httpx.Limits | None = None) -> httpx.AsyncClient:
    """An HTTP client for feeds: redirects left to `fetch_feed`, and no proxy or .netrc from the environment.

    `network`, when given, opens its connections (`GuardedNetwork` for guild feeds).
    """
    transport = httpx.AsyncHTTPTransport(limits=limits or httpx.Limits(), trust_env=False)
    if network is not None:
        _use_network(transport, network)
    return httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False, headers=HEADERS,
                             trust_env=False)


def _use_network(transport: httpx.AsyncHTTPTransport, network: httpcore.AsyncNetworkBackend) -> None:
    """Make `transport` connect through `network`.

    httpx has no public way to choose its transport's network backend; its httpcore pool keeps it
    in `_network_backend`. This is checked, so an httpx upgrade that moves it stops the bot at
    start-up instead of fetching guild feeds unguarded.
    """
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx/httpcore version cannot pin feed connections to checked addresses")
    pool._network_backend = network


@contextmanager
def _clear_errors(*, guarded: bool) -> Iterator[None]:
    """Turn httpx's exceptions into SourceErrors that say what went wrong in a few words."""
    try:
        yield
    except httpx.UnsupportedProtocol:
        raise SourceError("redirected to a URL that is not http or https; not followed") from None
    except httpx.TooManyRedirects:
        raise SourceError(f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.TimeoutException:
        raise SourceError("timed out") from None
    except httpx.InvalidURL:
        raise SourceError("not a valid URL") from None
    except httpx.HTTPError as exc:
        raise SourceError("could not connect to the feed's server or read its answer" if guarded
                          else f"network error: {type(exc).__name__}") from None
    except MemoryError:
        raise SourceError("ran out of memory reading the feed") from None


def _check_status(response: httpx.Response, *, guarded: bool) -> None:
    if response.status_code < 400:
        return
    if guarded:  # the class is enough to act on; the exact line would describe whatever answered
        raise SourceError("the feed could not be read: the server answered with an error "
                          f"(HTTP {response.status_code // 100}xx)")
    raise SourceError(f"HTTP {response.status_code} {response.reason_phrase}".strip())


def _too_big(max_bytes: int) -> SourceError:
    return SourceError(f"body larger than {max_bytes // (1024 * 1024)} MB; not read")


def _too_slow(deadline: float) -> SourceError:
    return SourceError(f"took longer than {deadline:g} seconds; stopped")


class _Body:
    """A response body decoded here, never to more than `max_bytes`, whatever it is compressed with."""

    def __init__(self, headers: httpx.Headers, max_bytes: int) -> None:
        self._decoder = _decoder_for(headers)
        self._max = max_bytes
        self._raw = self._size = 0
        self._chunks: list[bytes] = []

    def add(self, raw: bytes) -> None:
        """Take the next raw chunk from the wire; SourceError once the body is over the cap."""
        self._raw += len(raw)
        if self._raw > self._max:
            raise _too_big(self._max)
        if self._decoder is None:
            data = raw
        else:
            try:  # one byte more than is left is enough to know the body is too big
                data = self._decoder.decompress(raw, self._max - self._size + 1)
            except zlib.error:
                raise SourceError("the body's compressed data is corrupt") from None
        self._size += len(data)
        if self._size > self._max:
            raise _too_big(self._max)
        self._chunks.append(data)

    def data(self) -> bytes:
        """The whole decoded body."""
        return b"".join(self._chunks)


def _decoder_for(headers: httpx.Headers):
    """A decompressor for the body's content coding, None for none; SourceError for stacked or unknown ones."""
    codings = [c.strip().lower() for c in headers.get_list("Content-Encoding", split_commas=True)]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) > 1:
        shown = ", ".join(c[:_CODING_SHOWN] for c in codings[:3])
        raise SourceError(f"the server stacked content codings ({shown}); at most one is read")
    if codings[0] not in _DECODED:
        raise SourceError(f"the server used content coding “{codings[0][:_CODING_SHOWN]}”, which is not read")
    return zlib.decompressobj(zlib.MAX_WBITS | 32)  # a gzip or zlib header, whichever the body has


def _visible_ascii(value: str | None) -> str | None:
    """`value` if it is visible ASCII, as a validator must be to be sent back; else None."""
    return value if value and value.isascii() and value.isprintable() else None


def fetch_url(url: str, *, client: httpx.Client | None = None, max_bytes: int = MAX_BODY_BYTES,
              deadline: float = FETCH_DEADLINE) -> bytes:
    """The body of `url`, or SourceError with a clear reason."""
    own_client = client is None
    client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True, max_redirects=MAX_REDIRECTS,
                                    headers=HEADERS, trust_env=False)
    ends = time.monotonic() + deadline
    try:
        with _clear_errors(guarded=False), client.stream("GET", url) as response:
            _check_status(response, guarded=False)
            body = _Body(response.headers, max_bytes)
            for chunk in response.iter_raw():
                body.add(chunk)
                if time.monotonic() > ends:
                    raise _too_slow(deadline)
            return body.data()
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
    deadline: float = FETCH_DEADLINE,
    guarded: bool = False,
) -> Fetched:
    """GET `url` unless it is unchanged since `etag` / `last_modified`; SourceError on failure.

    Redirects are followed here, each hop checked. With `guarded`, `client` must connect through
    `GuardedNetwork` (see `feed_client`).
    """
    headers = {}
    if _visible_ascii(etag):
        headers["If-None-Match"] = etag
    if _visible_ascii(last_modified):
        headers["If-Modified-Since"] = last_modified
    try:
        async with asyncio.timeout(deadline):
            return await _follow(client, url, headers, max_bytes=max_bytes, guarded=guarded)
    except TimeoutError:
        raise _too_slow(deadline) from None


async def _follow(client: httpx.AsyncClient, url: str, headers: dict[str, str], *, max_bytes: int,
                  guarded: bool) -> Fetched:
    target: str | httpx.URL = url
    for _hop in range(MAX_REDIRECTS + 1):
        with _clear_errors(guarded=guarded):
            checked = _checked_hop(target, guarded=guarded)
            async with client.stream("GET", checked, headers=headers) as response:
                if response.next_request is not None:
                    target = response.next_request.url
                    continue
                if response.status_code == 304:
                    return Fetched(None, headers.get("If-None-Match"), headers.get("If-Modified-Since"))
                _check_status(response, guarded=guarded)
                body = _Body(response.headers, max_bytes)
                async for chunk in response.aiter_raw():
                    body.add(chunk)
                return Fetched(body.data(), _visible_ascii(response.headers.get("ETag")),
                               _visible_ascii(response.headers.get("Last-Modified")))
    raise SourceError(f"more than {MAX_REDIRECTS} redirects")


def _checked_hop(target: str | httpx.URL, *, guarded: bool) -> httpx.URL:
    """`target` as httpx will request it, if it is an http(s) URL this fetch may follow."""
    url = httpx.URL(target)
    if url.scheme not in {"http", "https"}:
        raise SourceError("redirected to a URL that is not http or https; not followed")
    if guarded and url.userinfo:
        raise SourceError("the URL (or a redirect) holds a user name or password, which is not allowed here")
    if guarded and port_of(url) not in GUARDED_PORTS:
        raise SourceError(f"the URL (or a redirect) uses a port other than {GUARDED_PORTS_TEXT}, "
                          "which is not allowed here")
    return url
