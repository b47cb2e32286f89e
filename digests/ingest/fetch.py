"""Fetching a feed over HTTP(S): timeouts, a body-size cap, redirects only to http/https."""

from __future__ import annotations

import httpx

from digests.errors import SourceError

USER_AGENT = "Briefbot/0.1 (self-hosted news briefing bot)"
MAX_BODY_BYTES = 5 * 1024 * 1024
TIMEOUT = httpx.Timeout(15.0, connect=10.0)
MAX_REDIRECTS = 5


def fetch_url(url: str, *, client: httpx.Client | None = None, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The body of `url`, or SourceError with a clear reason.

    httpx only speaks http and https, so a redirect to `file:` or any other scheme fails here
    instead of being followed. The size cap counts decompressed bytes, so a gzip bomb stops early.
    """
    own_client = client is None
    client = client or httpx.Client(
        timeout=TIMEOUT, follow_redirects=True, max_redirects=MAX_REDIRECTS, headers={"User-Agent": USER_AGENT}
    )
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise SourceError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(f"body larger than {max_bytes // (1024 * 1024)} MB; not read")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.UnsupportedProtocol:
        raise SourceError("redirected to a URL that is not http or https; not followed") from None
    except httpx.TooManyRedirects:
        raise SourceError(f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.TimeoutException:
        raise SourceError("timed out") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"network error: {type(exc).__name__}") from None
    finally:
        if own_client:
            client.close()
