"""Keeping guild feeds off the bot's own network: which addresses and ports they may reach.

A feed added through Discord is fetched by the bot's machine, so it must not reach loopback,
private, link-local or otherwise non-public addresses. The check is made where the socket is
opened (`GuardedNetwork`, an httpcore network backend): the host is resolved once, every address
it gives must be public, and the connection goes to one of those checked addresses. So DNS cannot
answer differently between the check and the connect (rebinding), and every redirect hop and every
new connection is checked the same way. TLS still verifies the certificate for the host name
(httpcore sends the URL's host as SNI), and the Host header is the URL's.

The name resolved is the one httpx puts on the wire (IDNA 2008, `httpx.URL(url).raw_host`), not
Python's own IDNA 2003 encoding of it, which can name a different host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import httpx

from digests.errors import SourceError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# `is_global` lets these through, yet each can reach an IPv4 address chosen by whoever writes it:
# IPv4-compatible (deprecated), site-local (deprecated), NAT64 (two prefixes), 6to4 and Teredo.
_DENIED = tuple(ipaddress.ip_network(net) for net in
                ("::/96", "fec0::/10", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32"))
# The web's usual ports. Any other port on a public host is more likely a service the bot has no
# business talking to (SMTP, Redis, a database) than a feed.
GUARDED_PORTS = frozenset({80, 443, *range(8080, 8444)})
GUARDED_PORTS_TEXT = "80, 443 or 8080–8443"
PRIVATE_ADDRESS = "the feed's host resolves to a private or local address, which is not allowed here"


def is_public(address: Address) -> bool:
    """True when a guild feed may connect to `address`."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if any(address in network for network in _DENIED):
            return False
    return address.is_global


def port_of(url: httpx.URL) -> int:
    """The port an http(s) URL connects to (port 0 stays 0: it is no usual port)."""
    if url.port is not None:
        return url.port
    return 443 if url.scheme == "https" else 80


def literal_address(host: str) -> Address | None:
    """`host` as an IP address, if it is one (brackets of an IPv6 literal allowed)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def addresses_of(infos: Iterable[tuple]) -> list[Address]:
    """The distinct addresses of `getaddrinfo` answers (an IPv6 zone id dropped), in order."""
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


async def public_addresses(host: str, port: int) -> list[str]:
    """The addresses of `host` (an ASCII name, as httpx sends it), if every one is public; else SourceError."""
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise SourceError("cannot find the feed's host") from None
        addresses = addresses_of(infos)
    if not addresses or not all(is_public(address) for address in addresses):
        raise SourceError(PRIVATE_ADDRESS)
    return [str(address) for address in addresses]


class GuardedNetwork(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to checked public addresses.

    `inner` opens the sockets (httpcore's anyio backend by default); tests give one that stands in
    for the Internet.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve `host` once, check every address, and connect to the first checked one that answers."""
        error: Exception | None = None
        for address in await public_addresses(host, port):
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError("no address to connect to")

    async def sleep(self, seconds: float) -> None:
        """Wait between connection retries, as the inner backend does."""
        await self._inner.sleep(seconds)
