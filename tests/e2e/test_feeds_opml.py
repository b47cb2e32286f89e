"""/feeds import and /feeds export through the real bot: attachments in, OPML files out, and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from digests.opml import MAX_OPML_BYTES, read_opml
from tests.e2e.conftest import MANAGE_GUILD, start_bot, stop_bot
from tests.e2e.discord_shapes import ATTACHMENT, check_exchanges, problems
from tests.e2e.fake_discord import FakeDiscord
from tests.local_http import QuietHandler, serving

FEEDLY = (Path(__file__).parent.parent / "data" / "opml" / "feedly.opml").read_bytes()
MANY = ('<?xml version="1.0"?><opml version="2.0"><head><title>big</title></head><body>'
        + "".join(f'<outline text="Wire {i} &amp; co" xmlUrl="https://wire{i}.example/rss"/>' for i in range(60))
        + "</body></opml>").encode()
BOMB = (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b'<opml version="2.0"><body><outline text="&b;" xmlUrl="https://bomb.example/"/></body></opml>')
FILES = {"/feedly.opml": FEEDLY, "/many.opml": MANY, "/bomb.opml": BOMB, "/photo.png": b"\x89PNG\r\n\x1a\n" * 100,
         "/huge.opml": b" " * (MAX_OPML_BYTES + 10)}


class Attachments(QuietHandler):
    """The test's own "CDN": serves the files a user attached, and records what the bot downloaded."""

    downloads: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Attachments.downloads.append(self.path)
        self.send_body(200, FILES[self.path], {"Content-Type": "application/octet-stream"})


@pytest.fixture
def cdn() -> Iterator[str]:
    Attachments.downloads = []
    with serving(Attachments) as url:
        yield url


def attachment(cdn: str, path: str, size: int | None = None) -> dict:
    return {"filename": path.lstrip("/"), "url": cdn + path, "size": len(FILES[path]) if size is None else size,
            "content_type": "application/octet-stream"}


def exported(fake: FakeDiscord, guild) -> tuple[str, bytes]:
    result = fake.invoke("feeds export", guild_id=guild.id, permissions=MANAGE_GUILD)
    [file] = result.attachments
    assert result.ephemeral and file["filename"] == "briefbot-feeds.opml" and not problems(ATTACHMENT, file)
    return result.content, httpx.get(file["url"]).content


def test_import_then_export_round_trips_into_a_fresh_guild(tmp_path, cdn, database_url):
    with FakeDiscord() as fake:
        port_city = fake.add_guild(name="Port City & Co", channels=["news"])
        fresh = fake.add_guild(name="Fresh", channels=["news"])
        bot = start_bot(fake, tmp_path, database_url, ALLOW_PRIVATE_FEEDS="true")
        fake.wait_until_ready(timeout=60)
        fake.wait_for_commands(timeout=60)

        imported = fake.invoke("feeds import", {"file": attachment(cdn, "/feedly.opml")}, guild_id=port_city.id,
                               permissions=MANAGE_GUILD)
        assert imported.deferred and imported.ephemeral and imported.completed_by == "edit"
        assert Attachments.downloads == ["/feedly.opml"]
        [sent] = imported.payload["data"]["resolved"]["attachments"].values()
        assert not problems(ATTACHMENT, sent)  # the interaction carried the file as Discord documents it
        assert "Imported **4** feeds: 4 added, 0 enabled again, 0 already present, 0 refused." in imported.content
        assert "✅ #1 <https://feeds.arstechnica.com/arstechnica/index> · Ars Technica" in imported.content
        assert "Reuters & AP – Wire" in imported.content and "spread over the next 15 minutes" in imported.content
        again = fake.invoke("feeds import", {"file": attachment(cdn, "/feedly.opml")}, guild_id=port_city.id,
                            permissions=MANAGE_GUILD)
        assert "0 added, 0 enabled again, 4 already present" in again.content
        listed = fake.invoke("feeds list", guild_id=port_city.id, permissions=MANAGE_GUILD)
        assert "#2 **Quanta Magazine** <https://api.quantamagazine.org/feed/>" in listed.content

        content, document = exported(fake, port_city)
        assert "4 feeds of this server" in content
        assert b"<title>Port City &amp; Co: feeds (Briefbot)</title>" in document
        assert b'text="Reuters &amp; AP \xe2\x80\x93 Wire"' in document
        FILES["/export.opml"] = document
        copied = fake.invoke("feeds import", {"file": attachment(cdn, "/export.opml")}, guild_id=fresh.id,
                             permissions=MANAGE_GUILD)
        assert "4 added" in copied.content
        assert read_opml(exported(fake, fresh)[1]).outlines == read_opml(document).outlines
        check_exchanges(list(fake.requests))  # the multipart edit and answers have Discord's shapes
        stop_bot(fake, bot)


def test_a_long_report_comes_as_a_file_and_refusals_are_clear(tmp_path, cdn, database_url):
    with FakeDiscord() as fake:
        guild = fake.add_guild(name="Newsroom", channels=["news"])
        other = fake.add_guild(name="Other", channels=["news"])
        member = fake.add_user(username="reader")
        bot = start_bot(fake, tmp_path, database_url, ALLOW_PRIVATE_FEEDS="true")
        fake.wait_until_ready(timeout=60)
        fake.wait_for_commands(timeout=60)

        def import_as_manager(path: str, size: int | None = None, where=guild):
            return fake.invoke("feeds import", {"file": attachment(cdn, path, size)}, guild_id=where.id,
                               permissions=MANAGE_GUILD)

        assert "no feeds of its own to export" in fake.invoke("feeds export", guild_id=guild.id,
                                                              permissions=MANAGE_GUILD).content
        refused = fake.invoke("feeds import", {"file": attachment(cdn, "/feedly.opml")}, guild_id=guild.id,
                              user_id=member, permissions=0)
        assert "Manage Server" in refused.content and refused.ephemeral
        oversized = import_as_manager("/huge.opml")
        assert "may be at most 1 MB" in oversized.content and not oversized.deferred
        lying = import_as_manager("/huge.opml", size=1_000)  # Discord's size is checked, then the download
        assert "could not be downloaded" in lying.content and "larger than 1 MB" in lying.content
        assert "not text in UTF-8: is it really an OPML file?" in import_as_manager("/photo.png").content
        assert "used too often in this server" in import_as_manager("/bomb.opml").content  # 3 a minute
        assert "DOCTYPE or entities" in import_as_manager("/bomb.opml", where=other).content
        assert Attachments.downloads == ["/huge.opml", "/photo.png", "/bomb.opml"]  # not for the refused sizes

        long = import_as_manager("/many.opml", where=other)
        assert "25 added, 0 enabled again, 0 already present, 35 refused." in long.content
        assert "⛔ 35 refused: A server can have at most 25 feeds; remove one first." in long.content
        assert "The full report, one line per feed, is attached." in long.content
        [report] = long.attachments
        assert report["filename"] == "feeds-import-report.txt"
        lines = httpx.get(report["url"]).text.splitlines()
        assert lines[0] == "Import of many.opml: 25 added, 0 enabled again, 0 already present, 35 refused."
        assert "+ added    #1 <https://wire0.example/rss> (Wire 0 & co)" in lines
        assert lines[-1] == ("✗ refused  <https://wire59.example/rss> — A server can have at most 25 feeds; "
                             "remove one first. (Wire 59 & co)")
        check_exchanges(list(fake.requests))
        stop_bot(fake, bot)
