"""The archive pages in a real browser: Debian's Chromium, headless, driven by Playwright.

Each page is opened at a phone's width and a desktop's, in light and dark: every story link must be
there and clickable (clicking one leaves for the story's page, here served by the test, and sends no
referrer), nothing may overflow sideways, dark mode must really change the colours (which also shows
that the Content-Security-Policy lets the page's one style through), and the pages must work with
JavaScript turned off. Screenshots are saved in the test's tmp_path (their paths are printed; `pytest
-s` shows them, e.g. /tmp/pytest-of-root/pytest-N/test_an_archived_briefing_read0/entry-phone-dark.png).

Chromium comes from the system (`apt-get install -y chromium`; `.ci/run` does it): Playwright's own
browser downloads are never used. Without it these tests fail, saying so; they are never skipped.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from digests.archive import recent_entries
from digests.ingest.draft import StoryDraft
from digests.store import session_scope
from tests.archive_server import archived_briefing_setup, deliver_with, services_for, serving

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"phone": {"width": 375, "height": 740}, "desktop": {"width": 1280, "height": 900}}
LONG_WORD = "Supercalifragilistic" * 12  # 240 characters without a space: a title that could push the page wide


@pytest.fixture
async def browser():
    """System Chromium, launched by Playwright; a clear failure when it is missing."""
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if chromium is None:
        pytest.fail("Chromium is not installed: `apt-get install -y chromium` (.ci/run installs it). "
                    "The archive's browser tests need it and are not skipped without it.")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


class StoryPages:
    """The stories' own pages, served beside the archive: what a click on a story link reaches."""

    def __init__(self) -> None:
        self.visits: list[tuple[str, str | None]] = []  # (path, Referer header)

    def install(self, app: web.Application) -> None:
        app.router.add_get("/story/{name:.+}", self.page)

    async def page(self, request: web.Request) -> web.Response:
        self.visits.append((request.path, request.headers.get("Referer")))
        return web.Response(text=f"<!DOCTYPE html><title>story</title><h1 id='story'>{request.path}</h1>",
                            content_type="text/html")


def drafts(base: str) -> list[StoryDraft]:
    """Stories on several topics linking to the test server, one with a long unbroken title and a long URL."""
    stories = [StoryDraft(title=f"Tariffs round {n} w{n}a w{n}b w{n}c", source=f"Outlet {n}",
                          url=f"{base}/story/trade-{n}") for n in range(4)]
    stories += [StoryDraft(title=f"NATO allies meet {n} v{n}a v{n}b v{n}c", source="Wire",
                           url=f"{base}/story/defense-{n}") for n in range(3)]
    stories.append(StoryDraft(title=f"Tariffs {LONG_WORD}", source="Long Wire", body="Ministers met. " * 20,
                              url=f"{base}/story/long-{'x' * 600}"))
    stories.append(StoryDraft(title="A headline with no topic at all q1 q2 q3", source="Desk",
                              url=f"{base}/story/other"))
    return stories


async def check_page(page, *, url: str, width: int) -> None:
    """Loaded, styled, not wider than the screen."""
    response = await page.goto(url)
    assert response.status == 200
    assert await page.locator("script").count() == 0
    overflow = await page.evaluate("""() => {
        const root = document.scrollingElement;
        return {scroll: root.scrollWidth, client: root.clientWidth, body: document.body.scrollWidth};
    }""")
    assert overflow["scroll"] <= overflow["client"] == width, overflow
    assert overflow["body"] <= width, overflow


async def colours(page) -> dict[str, str]:
    return await page.evaluate("""() => {
        const style = (selector) => getComputedStyle(document.querySelector(selector));
        return {background: style('body').backgroundColor, text: style('body').color,
                link: style('main a[href]').color};
    }""")


async def test_an_archived_briefing_reads_well_on_a_phone_and_a_desktop_in_light_and_dark(
        browser, engine, taxonomy, renderer, now, tmp_path):
    briefing = archived_briefing_setup(engine, taxonomy, now=now)
    stories = StoryPages()
    async with serving(services_for(engine, taxonomy, renderer), extra=stories.install) as base:
        posted = await deliver_with(engine, taxonomy, renderer, briefing, drafts=drafts(base), slot_at=now)
        with session_scope(engine) as session:
            [entry] = recent_entries(session=session, briefing_id=briefing.id, limit=5)
        content = entry.content
        expected = [content["top"]["url"]] + [item["url"] for s in content["sections"] for item in s["items"]]
        assert len(expected) == 9 and all(url.startswith(f"{base}/story/") for url in expected)
        page_url = f"{base}/archive/{briefing.archive_token}/{entry.key}"

        seen: dict[tuple[str, str], dict[str, str]] = {}
        for name, viewport in VIEWPORTS.items():
            for scheme in ("light", "dark"):
                context = await browser.new_context(viewport=viewport, color_scheme=scheme,
                                                    is_mobile=name == "phone", has_touch=name == "phone")
                page = await context.new_page()
                problems: list[str] = []
                page.on("console", lambda message, problems=problems: problems.append(message.text)
                        if message.type == "error" else None)
                await check_page(page, url=page_url, width=viewport["width"])
                links = page.locator("main a[href]")
                assert [await link.get_attribute("href") for link in await links.all()] == expected
                for link in await links.all():
                    await link.scroll_into_view_if_needed()
                    await link.click(trial=True, timeout=5_000)  # visible, enabled, not covered: clickable
                    box = await link.bounding_box()
                    assert box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5
                seen[name, scheme] = await colours(page)
                shot = tmp_path / f"entry-{name}-{scheme}.png"
                await page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 5_000
                print(f"screenshot: {shot}")
                assert problems == []  # no blocked style, no failed load
                await context.close()

        for name in VIEWPORTS:
            light, dark = seen[name, "light"], seen[name, "dark"]
            assert light["background"] == "rgb(255, 255, 255)" and dark["background"] == "rgb(21, 24, 28)"
            assert light["text"] != dark["text"] and light["link"] != dark["link"]
        assert "Tariffs round 0" in "\n".join(posted)


async def test_story_links_and_the_index_work_with_javascript_off(browser, engine, taxonomy, renderer, now,
                                                                   tmp_path):
    briefing = archived_briefing_setup(engine, taxonomy, now=now)
    stories = StoryPages()
    async with serving(services_for(engine, taxonomy, renderer), extra=stories.install) as base:
        for day in range(3):
            day_drafts = [StoryDraft(title=f"Tariffs day {day} item {n} d{day}x{n} d{day}y{n} d{day}z{n}",
                                     source="Wire", url=f"{base}/story/day{day}-{n}") for n in range(3)]
            await deliver_with(engine, taxonomy, renderer, briefing, drafts=day_drafts,
                               slot_at=now + timedelta(days=day))
        for name, viewport in VIEWPORTS.items():
            context = await browser.new_context(viewport=viewport, java_script_enabled=False)
            page = await context.new_page()
            index = f"{base}/archive/{briefing.archive_token}/"
            response = await page.goto(index)
            assert response.status == 200
            entries = page.locator("ol.entries a")
            assert await entries.count() == 3
            await page.screenshot(path=str(tmp_path / f"index-{name}.png"), full_page=True)
            print(f"screenshot: {tmp_path / f'index-{name}.png'}")
            await entries.nth(0).click()  # the newest briefing
            await page.wait_for_url(f"{index}2026-11-30-0800")
            assert "Monday 30 November 2026" in await page.locator("h1").inner_text()
            await page.locator("main a[href]").first.click()
            await page.wait_for_url(f"{base}/story/day2-*")
            assert (await page.locator("#story").inner_text()).startswith("/story/day2-")
            await page.go_back()
            await page.locator("nav a", has_text="All briefings").click()
            await page.wait_for_url(index)
            await context.close()
    assert len(stories.visits) == 2
    assert all(referer is None for _, referer in stories.visits)  # Referrer-Policy: no-referrer
