"""A hostile feed server on 127.0.0.1, and stand-ins for DNS and the Internet, for tests of fetching.

Paths of `HostileHandler` (query parameters as shown):
- `/secret`: an RSS feed titled "INTERNAL SECRET reachable" (what must stay out of reach)
- `/feed`: a healthy RSS feed; `/many?n=N`: one with N items
- `/redirect?to=URL`: a 302 to URL
- `/status?code=N&reason=R`: an empty answer with that status line
- `/trickle?every=S`: headers, then one byte every S seconds for as long as the client reads
- `/gzip2`: gzip(gzip(100 MB of zeros)) sent as `Content-Encoding: gzip, gzip` (a few hundred bytes)
- `/gzip-bomb`: gzip(50 MB of zeros), one coding
- `/etag`: a feed with the header `ETag: "café"` (not ASCII)
- `/atom-dates`: an Atom feed with one good entry and one dated in the year 10000 (UTC)

Every request is logged in `HostileHandler.hits` as (path, Host header).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import httpcore

from tests.local_http import QuietHandler, serving

PUBLIC_IP = "93.184.216.34"


def rss(*titles: str, prefix: str = "https://hostile.example/") -> bytes:
    items = "".join(f"<item><title>{t}</title><link>{prefix}{i}</link></item>" for i, t in enumerate(titles))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>H</title>{items}</channel></rss>'.encode()


ATOM_DATES = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Dates</title>
<entry><title>Harbour reopens</title><link href="https://dates.example/good"/><id>good</id>
<updated>2026-11-30T06:00:00Z</updated></entry>
<entry><title>Far future</title><link href="https://dates.example/future"/><id>future</id>
<updated>9999-12-31T23:59:59-23:59</updated></entry></feed>"""


def _gzip(chunks: Iterator[bytes]) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return b"".join(packer.compress(chunk) for chunk in chunks) + packer.flush()


def _zeros(megabytes: int) -> Iterator[bytes]:
    block = b"\0" * (1024 * 1024)
    return (block for _ in range(megabytes))


@cache
def gzip_bomb() -> bytes:
    """gzip of 50 MB of zeros: about 50 KB."""
    return _gzip(_zeros(50))


@cache
def stacked_gzip_bomb() -> bytes:
    """gzip(gzip(100 MB of zeros)): a few hundred bytes."""
    return _gzip(iter([_gzip(_zeros(100))]))


class HostileHandler(QuietHandler):
    """Serves the paths of the module docstring."""

    protocol_version = "HTTP/1.1"
    hits: ClassVar[list[tuple[str, str]]] = []
    trickling: ClassVar[int] = 0  # trickle answers being sent right now

    def do_GET(self) -> None:
        HostileHandler.hits.append((self.path, self.headers.get("Host", "")))
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        route = self.ROUTES.get(parts.path)
        if route is None:
            self.send_body(404, b"")
        else:
            route(self, query)

    def _secret(self, query: dict[str, str]) -> None:
        self.send_body(200, rss("INTERNAL SECRET reachable", prefix="https://internal.example/"))

    def _feed(self, query: dict[str, str]) -> None:
        self.send_body(200, rss("Tariffs rise on steel", "Harbour reopens"))

    def _many(self, query: dict[str, str]) -> None:
        self.send_body(200, rss(*(f"Story {n}" for n in range(int(query["n"])))))

    def _redirect(self, query: dict[str, str]) -> None:
        self.send_body(302, b"", {"Location": query["to"]})

    def _status(self, query: dict[str, str]) -> None:
        self.send_response(int(query["code"]), query.get("reason"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _trickle(self, query: dict[str, str]) -> None:
        every = float(query.get("every", "0.2"))
        self.send_response(200)
        self.send_header("Content-Length", str(10_000_000))
        self.end_headers()
        HostileHandler.trickling += 1
        try:
            while True:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(every)
        except OSError:  # the client gave up: what the test waits for
            pass
        finally:
            HostileHandler.trickling -= 1
            self.close_connection = True

    def _gzip2(self, query: dict[str, str]) -> None:
        self.send_body(200, stacked_gzip_bomb(), {"Content-Encoding": "gzip, gzip"})

    def _gzip_bomb(self, query: dict[str, str]) -> None:
        self.send_body(200, gzip_bomb(), {"Content-Encoding": "gzip"})

    def _etag(self, query: dict[str, str]) -> None:
        self.send_body(200, rss("Ferry strike ends"), {"ETag": '"caf\xe9"'})  # sent as Latin-1

    def _atom_dates(self, query: dict[str, str]) -> None:
        self.send_body(200, ATOM_DATES)

    ROUTES: ClassVar[dict[str, Callable[[HostileHandler, dict[str, str]], None]]] = {
        "/secret": _secret, "/feed": _feed, "/many": _many, "/redirect": _redirect, "/status": _status,
        "/trickle": _trickle, "/gzip2": _gzip2, "/gzip-bomb": _gzip_bomb, "/etag": _etag,
        "/atom-dates": _atom_dates,
    }


@contextmanager
def hostile_server() -> Iterator[str]:
    """Serve `HostileHandler` on 127.0.0.1; yields the base URL (with its port)."""
    HostileHandler.hits.clear()
    with serving(HostileHandler) as url:
        yield url


class Internet(httpcore.AsyncNetworkBackend):
    """The Internet, as far as the tests are concerned: the public address `PUBLIC_IP` is the local server.

    Connections to `PUBLIC_IP` port 80 go to the hostile server's port on 127.0.0.1; every other
    address and port is closed. `connects` records every (address, port) asked for.
    """

    def __init__(self, server_url: str) -> None:
        self.port = urlsplit(server_url).port
        self.connects: list[tuple[str, int]] = []
        self._local = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connects.append((host, port))
        if (host, port) != (PUBLIC_IP, 80):
            raise httpcore.ConnectError(f"connection to {host} port {port} refused")
        return await self._local.connect_tcp("127.0.0.1", self.port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await self._local.sleep(seconds)


class FakeDns:
    """`socket.getaddrinfo` answering from a table, as an attacker's DNS server would; counts lookups.

    Names are matched as they reach getaddrinfo (a str is encoded with Python's IDNA 2003 codec,
    as the C library is given it). Each answer is a callable, so a name can answer differently
    each time (DNS rebinding). Names not in the table do not exist.
    """

    def __init__(self, table: dict[str, Callable[[], str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    def __call__(self, host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host.encode("idna").decode()
        self.lookups.append(name)
        try:
            literal = ipaddress.ip_address(name)
        except ValueError:
            if name not in self.table:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            literal = ipaddress.ip_address(self.table[name]())
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (str(literal), int(port or 0)))]


def answers(*addresses: str) -> Callable[[], str]:
    """A DNS answer that is each of `addresses` in turn, then the last one forever."""
    remaining = list(addresses)
    lock = threading.Lock()

    def answer() -> str:
        with lock:
            return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return answer
