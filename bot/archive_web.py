"""The briefing archive's routes on the bot's HTTP side door (aiohttp): serving what `digests.archive_pages` renders.

    GET /archive/{token}/             the archive's index (?page=N for older ones)
    GET /archive/{token}/{key}        one briefing, e.g. /archive/…/2026-11-30-0800
    GET /archive/{token}/feed.atom    Atom feed of the newest briefings
    GET /archive/{token}/feed.json    JSON Feed 1.1 of the same

An unknown token, an archive turned off and an unknown entry all answer the same 404. Every answer
carries a Content-Security-Policy that lets nothing load or run, `nosniff` and no referrer; pages
revalidate on every view (ETag, Last-Modified), so turning an archive off takes effect at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from digests.archive_pages import ArchivePages, ArchiveSite, Page
from digests.services import Services

ARCHIVE_SITE = web.AppKey("archive_site", ArchiveSite)
_PAGE_MAX = 100_000


def add_archive_routes(app: web.Application, services: Services) -> None:
    """Serve every briefing archive from `app` (the side door wires it in)."""
    pages = ArchivePages(services.settings.templates_dir)
    app[ARCHIVE_SITE] = ArchiveSite(engine=services.engine, taxonomy=services.taxonomy, pages=pages,
                                    base_url=services.settings.archive_base_url)
    app.router.add_get(r"/archive/{token:[^/]+}", _to_index)
    app.router.add_get(r"/archive/{token:[^/]+}/", _index)
    app.router.add_get(r"/archive/{token:[^/]+}/feed.atom", _atom)
    app.router.add_get(r"/archive/{token:[^/]+}/feed.json", _json_feed)
    app.router.add_get(r"/archive/{token:[^/]+}/{key:[^/]+}", _entry)
    app.router.add_get(r"/archive/{rest:.*}", _nowhere)  # the archive's own 404, with its headers


async def _to_index(request: web.Request) -> web.StreamResponse:
    """`/archive/TOKEN` → `/archive/TOKEN/`, whatever the token: the pages' relative links need the slash.

    The redirect is relative, so it works behind a proxy that serves the bot under a path.
    """
    response = web.Response(status=308, headers={"Location": f"{request.match_info['token']}/"})
    _secure(response, request.app[ARCHIVE_SITE])
    return response


async def _index(request: web.Request) -> web.StreamResponse:
    site = request.app[ARCHIVE_SITE]
    page_number = request.query.get("page", "1")
    if not page_number.isdigit() or not 1 <= int(page_number) <= _PAGE_MAX:
        return _respond(request, site, None)
    return _respond(request, site, await asyncio.to_thread(site.index, request.match_info["token"],
                                                           int(page_number)))


async def _entry(request: web.Request) -> web.StreamResponse:
    site = request.app[ARCHIVE_SITE]
    return _respond(request, site, await asyncio.to_thread(site.entry, request.match_info["token"],
                                                           request.match_info["key"]))


async def _nowhere(request: web.Request) -> web.StreamResponse:
    return _respond(request, request.app[ARCHIVE_SITE], None)


def _feed(render: Callable[[ArchiveSite], Callable[[str, str], Page | None]]
          ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        site = request.app[ARCHIVE_SITE]
        origin = str(request.url.origin())
        return _respond(request, site, await asyncio.to_thread(render(site), request.match_info["token"], origin))

    return handler


_atom = _feed(lambda site: site.atom)
_json_feed = _feed(lambda site: site.json_feed)


def _respond(request: web.Request, site: ArchiveSite, page: Page | None) -> web.StreamResponse:
    """The page with its validators (304 when the reader has it already), or the 404 page."""
    if page is None:
        missing = site.missing()
        response = web.Response(status=404, body=missing.body, headers={"Content-Type": missing.content_type})
        _secure(response, site)
        response.headers["Cache-Control"] = "no-store"
        return response
    etag = page.etag
    response = web.Response(body=page.body, headers={"Content-Type": page.content_type})
    if _not_modified(request, etag, page):
        response = web.Response(status=304)
    response.headers["ETag"] = etag
    if page.last_modified is not None:
        response.last_modified = page.last_modified
    response.headers["Cache-Control"] = "no-cache"
    _secure(response, site)
    return response


def _not_modified(request: web.Request, etag: str, page: Page) -> bool:
    """RFC 9110: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags or "*" in tags
    since = request.if_modified_since
    return since is not None and page.last_modified is not None and page.last_modified.replace(microsecond=0) <= since


def _secure(response: web.StreamResponse, site: ArchiveSite) -> None:
    response.headers["Content-Security-Policy"] = site.pages.content_security_policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
