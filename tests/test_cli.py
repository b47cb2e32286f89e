"""The `briefbot` command, run as a real subprocess in an empty directory.

The demo runs as on a fresh machine (the default SQLite file); the other commands run on each
store (`database_url`: a SQLite file, or a new PostgreSQL schema).
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from digests.opml import read_opml
from tests.local_http import QuietHandler, serving

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>Fed holds interest rates</title><link>https://wire.example/fed</link></item>
</channel></rss>"""


def briefbot(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_URL", "TOPICS"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd, env={**clean_env, **(env or {})}, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`briefbot` in `tmp_path` on the test's store, with extra settings as keyword arguments."""

    def run(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
        return briefbot(*args, cwd=tmp_path, env={"DATABASE_URL": database_url, **settings})

    return run


def parts_of(output: str) -> list[str]:
    """The message parts the demo printed, without their separator lines."""
    return [part.strip() for part in re.split(r"^──── .* ────$", output, flags=re.MULTILINE)[1:]]


def test_demo_prints_a_briefing_and_topic_lists_on_a_fresh_machine(tmp_path):
    result = briefbot("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "18 new, 0 duplicate" in result.stdout
    assert "Daily briefing" in result.stdout
    assert "channel briefing (/briefing post-now)" in result.stdout
    assert "/stories topic:defense" in result.stdout
    assert "/stories topic:immigration" in result.stdout
    assert all(0 < len(part) <= 2000 for part in parts_of(result.stdout))
    assert "Traceback" not in result.stderr
    assert (tmp_path / "briefbot.db").exists()
    again = briefbot("demo", cwd=tmp_path)
    assert "0 new, 18 duplicate" in again.stdout


def test_ingest_reports_new_duplicate_failed_and_exits_1_on_any_failure(tmp_path, cli):
    (tmp_path / "wire.xml").write_text(RSS, encoding="utf-8")
    (tmp_path / "bad.xml").write_text("<rss><channel><item><title>broken", encoding="utf-8")
    result = cli("ingest", "wire.xml", "missing.jsonl", "bad.xml")
    assert result.returncode == 1
    assert "✓ wire.xml: 1 new, 0 duplicate" in result.stdout
    assert "✗ missing.jsonl: no such file" in result.stdout
    assert "1 new, 0 duplicate, 2 failed" in result.stdout
    assert "Traceback" not in result.stderr
    ok = cli("ingest", "wire.xml")
    assert ok.returncode == 0
    assert "0 new, 1 duplicate, 0 failed" in ok.stdout


def test_preview_and_topics_show_what_is_stored(tmp_path, cli):
    (tmp_path / "wire.xml").write_text(RSS, encoding="utf-8")
    cli("ingest", "wire.xml")
    preview = cli("preview", "--topics", "Economy & Markets", "--hours", "48", "--tz", "europe/brussels")
    assert preview.returncode == 0, preview.stderr
    assert "Fed holds interest rates" in preview.stdout
    topics = cli("topics")
    assert re.search(r"`economy` — 1$", topics.stdout, flags=re.MULTILINE)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("preview", "--tz", "Mars/Base"), "not a known IANA timezone"),
        (("preview", "--topics", "knitting"), "unknown topic “knitting”"),
        (("preview", "--hours", "500"), "--hours must be between 1 and 168"),
    ],
)
def test_bad_input_is_one_clear_line_not_a_traceback(tmp_path, args, message):
    result = briefbot(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_settings_exit_2(tmp_path):
    result = briefbot("topics", cwd=tmp_path, env={"TOPICS_FILE": str(tmp_path / "nope.toml")})
    assert result.returncode == 2
    assert "nope.toml" in result.stderr and "Traceback" not in result.stderr


def test_retag_and_db_upgrade(tmp_path, cli):
    cli("demo")
    upgrade = cli("db", "upgrade")
    assert upgrade.returncode == 0 and "is up to date" in upgrade.stdout
    retag = cli("retag")
    assert retag.returncode == 0
    assert re.match(r"Re-tagged 18 stories: \d+ topic links\.", retag.stdout)


class WireHandler(QuietHandler):
    def do_GET(self) -> None:
        if self.path == "/wire.xml":
            self.send_body(200, RSS.encode())
        else:
            self.send_body(500, b"nope")


@pytest.fixture
def feed_server():
    with serving(WireHandler) as url:
        yield url


def test_feeds_add_poll_list_remove(tmp_path, feed_server, cli):
    feeds_file = tmp_path / "feeds.txt"
    feeds_file.write_text(f"# deployment feeds\n{feed_server}/broken.xml\n")
    feeds = {"FEEDS_FILE": str(feeds_file)}
    added = cli("feeds", "add", f"{feed_server}/wire.xml", "--topic", "economy", **feeds)
    assert added.returncode == 0 and added.stdout.startswith("Added feed #1")
    polled = cli("feeds", "poll", **feeds)
    assert polled.returncode == 1  # the broken feed failed
    assert f"#1 {feed_server}/wire.xml: new (1 new, 0 duplicate)" in polled.stdout
    assert "#2" in polled.stdout and "HTTP 500" in polled.stdout
    listed = cli("feeds", "list", **feeds)
    assert "[ok]" in listed.stdout and "[failing]" in listed.stdout and "last error: HTTP 500" in listed.stdout
    removed = cli("feeds", "remove", "2")
    assert removed.returncode == 0 and "Removed feed #2" in removed.stdout
    missing = cli("feeds", "remove", "99")
    assert missing.returncode == 1 and "No such feed" in missing.stderr


def one_clear_error(result: subprocess.CompletedProcess[str]) -> bool:
    """A failed command said what went wrong on one line (its own, or a source's ✗ line), with no traceback."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("briefbot: error: ")]
    return "Traceback" not in result.stderr and (len(errors) == 1 or "✗" in result.stdout)


def test_a_locked_database_is_one_line_and_loses_nothing(tmp_path):
    database = tmp_path / "locked.db"
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    (tmp_path / "wire.xml").write_text(RSS, encoding="utf-8")
    assert briefbot("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
        locked = briefbot("ingest", "wire.xml", cwd=tmp_path, env=env)
    finally:
        holder.close()
    assert locked.returncode == 1
    assert locked.stderr.strip().splitlines()[-1] == "briefbot: error: database error: database is locked"
    assert one_clear_error(locked)
    again = briefbot("ingest", "wire.xml", cwd=tmp_path, env=env)
    assert again.returncode == 0 and "1 new, 0 duplicate, 0 failed" in again.stdout


@pytest.mark.parametrize(
    "database_url",
    ["postgresql+psycopg://postgres:s3cr3t-pass@127.0.0.1:notaport/test", "s3cr3t-pass is not a URL"],
)
def test_an_unparsable_database_url_is_a_setting_error_that_never_shows_the_password(tmp_path, database_url):
    result = briefbot("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": database_url})
    assert result.returncode == 2
    assert result.stderr.startswith("briefbot: error: DATABASE_URL is not a valid database URL")
    assert one_clear_error(result)
    assert "s3cr3t-pass" not in result.stdout + result.stderr


def test_feed_urls_httpx_refuses_are_one_line_not_a_traceback(tmp_path, cli):
    ingest = cli("ingest", "http://[::1/feed.xml")
    assert ingest.returncode == 1 and one_clear_error(ingest)
    add = cli("feeds", "add", "http://feeds\tinternal.example/rss")  # httpx would refuse it when polled
    assert add.returncode == 1 and one_clear_error(add) and "control character" in add.stderr


DOCTOR_TOKEN = "MTExMjIyMzMzNDQ0NTU1NjY2.GhIjKl.bot-token-secret-part-0123456789abc"


def test_doctor_on_the_readme_setup_is_all_ok(tmp_path):
    """The quick start: `briefbot demo`, then DISCORD_TOKEN in .env."""
    assert briefbot("demo", cwd=tmp_path).returncode == 0
    (tmp_path / ".env").write_text(f"DISCORD_TOKEN={DOCTOR_TOKEN}\n", encoding="utf-8")
    result = briefbot("doctor", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = [line for line in result.stdout.splitlines() if line and not line.startswith(" ")][:-1]
    assert len(checks) >= 8 and all(line.startswith("✓ ") for line in checks), result.stdout
    assert "✓ database" in result.stdout and "latest revision" in result.stdout
    assert result.stdout.rstrip().endswith("The bot can start.")
    assert DOCTOR_TOKEN[:12] not in result.stdout + result.stderr


def test_doctor_and_run_on_a_broken_configuration(tmp_path):
    overrides = tmp_path / "overrides"  # not "templates": `python -m` would import it as the templates package
    overrides.mkdir()
    (overrides / "topics.md.j2").write_text("{% for topic, count in counts %}{{ topic.label }\n", encoding="utf-8")
    env = {"DISCORD_TOKEN": DOCTOR_TOKEN[:-4], "TEMPLATES_DIR": str(overrides), "DEFAULT_TIMEZONE": "Utopia/Capital",
           "FEEDS_FILE": str(tmp_path / "missing-feeds.txt")}
    doctor = briefbot("doctor", cwd=tmp_path, env=env)
    assert doctor.returncode == 1
    failed = [line for line in doctor.stdout.splitlines() if line.startswith("✗ ")]
    assert [line.split()[1] for line in failed] == ["DEFAULT_TIMEZONE", "templates", "FEEDS_FILE"]
    assert "topics.md.j2, line 1" in doctor.stdout and "Utopia/Capital" in doctor.stdout
    assert "Traceback" not in doctor.stderr
    # A bad setting stops `run` before anything else, as before (exit 2, one line).
    run = briefbot("run", cwd=tmp_path, env=env)
    assert run.returncode == 2 and "Utopia/Capital" in run.stderr and "Traceback" not in run.stderr
    del env["DEFAULT_TIMEZONE"]
    run = briefbot("run", cwd=tmp_path, env=env)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert re.search(rf"^✗ templates +{re.escape(str(overrides / 'topics.md.j2'))}, line 1: unexpected '}}'$",
                     run.stderr, flags=re.MULTILINE), run.stderr
    assert re.search(r"^✗ FEEDS_FILE +cannot read FEEDS_FILE .*missing-feeds.txt", run.stderr, flags=re.MULTILINE)
    assert run.stderr.rstrip().endswith("The bot cannot start: 2 problems to fix. "
                                        "Run `briefbot doctor` to see every check.")
    assert DOCTOR_TOKEN[:12] not in doctor.stdout + doctor.stderr + run.stderr


def test_run_waits_for_nobody_when_postgresql_is_down(tmp_path):
    """An unreachable database may come back: `run` exits 1 (a supervisor restarts it), not 2."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"DISCORD_TOKEN": DOCTOR_TOKEN, "DATABASE_URL": f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{port}/x"}
    run = briefbot("run", cwd=tmp_path, env=env)
    assert run.returncode == 1, run.stderr
    assert f"✗ database  cannot connect to postgresql+psycopg://postgres:***@127.0.0.1:{port}/x" in run.stderr
    assert "hunter2" not in run.stderr and "Traceback" not in run.stderr


def test_run_without_a_token_still_exits_2(tmp_path):
    run = briefbot("run", cwd=tmp_path)
    assert run.returncode == 2 and "DISCORD_TOKEN is not set" in run.stderr


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>Reader</title></head><body>
<outline text="News"><outline type="rss" text="Wire &amp; Co" xmlUrl="{server}/wire.xml"/>
<outline type="rss" text="Gopher" xmlUrl="gopher://old.example/feed"/></outline>
</body></opml>"""


def test_feeds_import_and_export_deployment_wide_feeds(tmp_path, feed_server, cli):
    (tmp_path / "reader.opml").write_text(OPML.format(server=feed_server), encoding="utf-8")
    imported = cli("feeds", "import", "reader.opml")
    assert imported.returncode == 1, imported.stderr  # one outline was refused
    assert imported.stdout.splitlines()[0] == ("Import of reader.opml: 1 added, 0 enabled again, "
                                               "0 already present, 1 refused.")
    assert f"+ added    #1 <{feed_server}/wire.xml> (Wire & Co)" in imported.stdout
    assert "✗ refused  <gopher://old.example/feed> — A feed URL must start with http:// or https://." in imported.stdout
    assert "1 already present" in cli("feeds", "import", "reader.opml").stdout
    polled = cli("feeds", "poll")
    assert f"#1 {feed_server}/wire.xml: new (1 new, 0 duplicate)" in polled.stdout  # registered for the poller

    exported = cli("feeds", "export")
    assert exported.returncode == 0 and exported.stdout.startswith("<?xml")
    assert f'text="Wire &amp; Co" title="Wire &amp; Co" xmlUrl="{feed_server}/wire.xml"' in exported.stdout
    written = cli("feeds", "export", "feeds.opml")
    assert written.returncode == 0 and "Wrote 1 feed(s) to feeds.opml" in written.stderr
    assert read_opml((tmp_path / "feeds.opml").read_bytes()) == read_opml(exported.stdout.encode())


# A bad file is refused before anything reaches the store, so one store is enough; one test keeps it
# to one command process per file.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bad_opml_file_is_one_clear_error(tmp_path, cli):
    bad_files = [
        (None, "cannot read missing.opml"),
        (b" " * 1_048_577, "larger than 1 MB"),
        (b"\x89PNG\r\n\x1a\n", "not text in UTF-8"),
        (b'<!DOCTYPE opml [<!ENTITY a "a">]><opml version="2.0"><body/></opml>', "DOCTYPE"),
    ]
    for content, message in bad_files:
        if content is not None:
            (tmp_path / "missing.opml").write_bytes(content)
        result = cli("feeds", "import", "missing.opml")
        assert result.returncode == 1 and one_clear_error(result) and message in result.stderr, message
    unwritable = cli("feeds", "export", "no/such/dir/feeds.opml")
    assert unwritable.returncode == 1 and one_clear_error(unwritable) and "cannot write" in unwritable.stderr
