"""`briefbot doctor`'s checks on real files, a real SQLite file and the real PostgreSQL, a real socket."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from digests.doctor import Report, Status, diagnose, setting_names
from digests.doctor.database_check import check_database
from digests.doctor.local_checks import check_feeds_file, check_http_port
from digests.doctor.template_check import check_templates
from digests.doctor.token_check import check_token, token_problem
from digests.store import alembic_config, create_engine, session_scope, upgrade_database
from digests.targets import set_paused, setup_briefing, subscribe

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
TOKEN = "MTExMjIyMzMzNDQ0NTU1NjY2.GhIjKl.bot-token-secret-part-0123456789abc"


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def named(report: Report, name: str) -> list[str]:
    """The details of the failed checks called `name`."""
    return [check.detail for check in report.failures if check.name == name]


def test_a_broken_configuration_names_each_problem(tmp_path, now):
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "briefing.md.j2").write_text("## {{ now | local(tz) }}\n{% if digest.top %}\nno end\n")
    (tmp_path / "feeds-dir").mkdir()  # a directory stands for a file nobody can read (even as root)
    port = closed_port()
    values = {
        "DISCORD_TOKEN": f"Bot {TOKEN}",
        "DATABASE_URL": f"postgresql+psycopg://briefbot:pa55word@127.0.0.1:{port}/briefbot",
        "TEMPLATES_DIR": str(overrides),
        "DEFAULT_TIMEZONE": "Mars/Olympus_Mons",
        "FEEDS_FILE": str(tmp_path / "feeds-dir"),
        "LOG_LEVEL": "chatty",
        "TOPIC_TAGGER": "keywords",
    }
    report = diagnose(values, now=now)
    assert not report.can_start
    assert named(report, "DISCORD_TOKEN") == ["starts with a “Bot ” prefix: give the token alone (not shown)"]
    (database,) = named(report, "database")
    assert f"cannot connect to postgresql+psycopg://briefbot:***@127.0.0.1:{port}/briefbot" in database
    assert "refused" in database.lower()
    (template,) = named(report, "templates")
    assert template.startswith(f"{overrides / 'briefing.md.j2'}, line 3: Unexpected end of template")
    assert named(report, "DEFAULT_TIMEZONE") == ["“Mars/Olympus_Mons” is not a known IANA timezone, "
                                                 "e.g. Europe/Brussels or America/New_York."]
    assert named(report, "FEEDS_FILE")[0].startswith(f"cannot read FEEDS_FILE {tmp_path / 'feeds-dir'}")
    assert named(report, "LOG_LEVEL") == ["must be one of DEBUG, INFO, WARNING, ERROR; got 'CHATTY'"]
    assert len(report.failures) == 6
    assert not report.only_transient_failures  # only the database could come back by itself
    text = "\n".join(report.lines())
    assert TOKEN[:10] not in text and "pa55word" not in text
    # A bad variable is checked at its default, but no ✓ contradicts its ✗.
    assert all(check.status is not Status.OK for check in report.checks if check.name == "DEFAULT_TIMEZONE")


def test_the_default_setup_with_a_token_is_all_ok(tmp_path, monkeypatch, now):
    monkeypatch.chdir(tmp_path)
    report = diagnose({"DISCORD_TOKEN": TOKEN, "TOPIC_TAGGER": "keywords"}, now=now)
    assert [check for check in report.checks if check.status is not Status.OK] == []
    assert {"settings", "DISCORD_TOKEN", "database", "templates", "topics", "FEEDS_FILE"} <= {
        check.name for check in report.checks}
    assert not (tmp_path / "briefbot.db").exists()  # the doctor only reads: the first start creates it
    assert report.summary() == "The bot can start."


def test_every_bad_setting_is_named_not_only_the_first(now, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = diagnose({"DISCORD_TOKEN": TOKEN, "CATCHUP_GRACE_MINUTES": "-1", "SHARD_COUNT": "2", "SHARD_IDS": "1",
                       "HTTP_PORT": "70000", "LOG_FORMAT": "xml", "TOPIC_TAGGER": "keywords"}, now=now)
    assert {check.name for check in report.failures} == {"CATCHUP_GRACE_MINUTES", "HTTP_PORT", "LOG_FORMAT"}


def test_an_unparsable_database_url_is_named_without_showing_it(now, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = diagnose({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": "postgresql://u:s3cret@host:port/x",
                       "TOPIC_TAGGER": "keywords"}, now=now)
    assert named(report, "DATABASE_URL") == ["is not a valid database URL"]
    assert [check for check in report.checks if check.name == "database"] == []  # not checked at the default
    assert "s3cret" not in "\n".join(report.lines())


def test_setting_names_are_read_from_the_code_in_order():
    names = setting_names()
    assert names[:3] == ("DISCORD_TOKEN", "DEFAULT_TIMEZONE", "LOG_LEVEL")
    assert {"DATABASE_URL", "SHARD_COUNT", "SHARD_IDS", "LOG_FORMAT", "HTTP_PORT", "HTTP_HOST"} <= set(names)
    assert names.index("SHARD_COUNT") < names.index("SHARD_IDS")  # SHARD_IDS is checked with SHARD_COUNT


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        (TOKEN, None),
        ("MTEx.dummy-token.for-the-fake-discord", None),
        (f"Bot {TOKEN}", "“Bot ” prefix"),
        (f'"{TOKEN}"', "wrapped in quotes"),
        (TOKEN.replace(".", ". ", 1), "spaces or line breaks"),
        ("1112223334445556667", "application (client) id"),
        ("a" * 64, "public key"),
        ("abcdefghijklmnopqrstuvwxyzABCDEF", "client secret"),
        ("MTEx.abc", "2 part(s)"),
        ("MTEx.ab+c.def", "characters a bot token never has"),
        ("bm90LWFuLWlk.abc.def", "user id"),
    ],
)
def test_token_shapes(token, problem):
    found = token_problem(token)
    if problem is None:
        assert found is None
    else:
        assert problem in found
        assert token not in found and token.strip('"')[:8] not in found


def test_a_malformed_token_only_warns_when_another_server_stands_in_for_discord():
    assert check_token("not-a-token", custom_api=False).status is Status.FAILURE
    assert check_token("not-a-token", custom_api=True).status is Status.WARNING
    missing = check_token(None, custom_api=True)
    assert missing.status is Status.FAILURE and missing.detail == "is not set"


def test_the_database_at_each_stage(database_url, taxonomy, now):
    (fresh,) = check_database(database_url)
    assert fresh.status is Status.OK and "first start creates" in fresh.detail
    engine = create_engine(database_url)
    try:
        upgrade_database(engine, "0010")
        (behind,) = check_database(database_url)
        assert behind.status is Status.WARNING and f"schema at revision 0010, the latest is {HEAD}" in behind.detail
        upgrade_database(engine)
        current, schedules = check_database(database_url)
        assert current.status is Status.OK and f"latest revision ({HEAD})" in current.detail
        assert schedules.status is Status.OK and schedules.detail.startswith("0 stored schedule(s)")
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
        (newer,) = check_database(database_url)
        assert newer.status is Status.FAILURE and "revision 0099 is unknown" in newer.detail
    finally:
        engine.dispose()


def test_stored_timezones_this_machine_does_not_know(engine, taxonomy, now):
    with session_scope(engine) as session:
        for channel in (1, 2, 3):
            briefing, _ = setup_briefing(session=session, taxonomy=taxonomy, guild_id=7, channel_id=channel,
                                         time_of_day="08:00", timezone="Europe/Brussels", topics=None, days=None,
                                         mention_role_id=None, quiet_day_notice=None, now=now)
        set_paused(briefing, paused=True, reason="test")
        session.add(briefing)
        subscribe(session=session, taxonomy=taxonomy, user_id=5, topic="economy", default_timezone="Asia/Tokyo",
                  now=now)
    url = engine.url.render_as_string(hide_password=False)
    assert check_database(url)[1].detail == "4 stored schedule(s) in 2 timezone(s), all valid"
    with engine.begin() as connection:  # a zone a later tzdata dropped, say
        connection.execute(sa.text("UPDATE target SET timezone = 'Europe/Atlantis' WHERE id = "
                                   "(SELECT id FROM channel_briefing WHERE channel_id = 3)"))
    paused = check_database(url)[1]
    assert paused.status is Status.WARNING and "1 channel briefing(s): “Europe/Atlantis”" in paused.detail
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE target SET timezone = 'Asia/Nowhere' WHERE kind = 'user'"))
    scheduled = check_database(url)[1]
    assert scheduled.status is Status.FAILURE
    assert "1 personal digest(s): “Asia/Nowhere” is not a known IANA timezone" in scheduled.detail


def test_a_missing_sqlite_directory_is_a_failure_and_nothing_is_created(tmp_path):
    (check,) = check_database(f"sqlite:///{tmp_path / 'nowhere' / 'b.db'}")
    assert check.status is Status.FAILURE and "does not exist" in check.detail
    assert not (tmp_path / "nowhere").exists()


def test_a_file_that_is_not_a_database(tmp_path):
    (tmp_path / "b.db").write_text("hello")
    (check,) = check_database(f"sqlite:///{tmp_path / 'b.db'}")
    assert check.status is Status.FAILURE and "cannot be read" in check.detail


def test_an_unreachable_postgresql_is_a_transient_failure():
    port = closed_port()
    (check,) = check_database(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    assert check.status is Status.FAILURE and check.transient
    assert f"127.0.0.1:{port}" in check.detail


def test_an_embed_template_override_must_define_every_field_and_render(tmp_path, taxonomy, now):
    (tmp_path / "top_story_embed.md.j2").write_text("{% macro title(item) %}{{ item.headline }}{% endmacro %}\n")
    failures = [check.detail for check in check_templates(tmp_path, taxonomy, now) if check.status is Status.FAILURE]
    assert any(detail.startswith(f"{tmp_path / 'top_story_embed.md.j2'} lacks the macro(s) author, description, "
                                 "footer") for detail in failures)


def test_template_overrides(tmp_path, taxonomy, now):
    overrides = tmp_path / "t"
    overrides.mkdir()
    (overrides / "personal_digest.md.j2").write_text("## {{ digest.headline_count }}\n")  # no such attribute
    (overrides / "replies.md.j2").write_text("{% macro error(message) %}{{ message }}{% endmacro %}\n")
    (overrides / "briefng.md.j2").write_text("typo\n")
    checks = check_templates(overrides, taxonomy, now)
    failures = [check.detail for check in checks if check.status is Status.FAILURE]
    assert any(detail.startswith(f"{overrides / 'personal_digest.md.j2'}: ") and "headline_count" in detail
               for detail in failures)
    assert any(detail.startswith(f"{overrides / 'replies.md.j2'} lacks the macro(s) ") and "briefing_saved" in detail
               for detail in failures)
    (unused,) = [check for check in checks if check.status is Status.WARNING]
    assert unused.detail.startswith("briefng.md.j2 in TEMPLATES_DIR replace(s) no built-in template")


def test_good_template_overrides_and_a_missing_directory(tmp_path, taxonomy, now):
    overrides = tmp_path / "t"
    overrides.mkdir()
    (overrides / "quiet_day.md.j2").write_text("Nothing new today ({{ now | local(tz) }}).\n")
    (check,) = check_templates(overrides, taxonomy, now)
    assert check.status is Status.OK and f"1 overridden from {overrides}" in check.detail
    (missing,) = check_templates(tmp_path / "absent", taxonomy, now)
    assert missing.status is Status.FAILURE and "is not a directory" in missing.detail


def test_the_feeds_file(tmp_path):
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("# wires\nhttps://wire.example/rss\n\nhttp://localhost:8080/feed.xml\n")
    assert check_feeds_file(feeds).detail == f"{feeds}: 2 feed URL(s)"
    feeds.write_text("https://wire.example/rss\nftp://wire.example/rss\n")
    bad = check_feeds_file(feeds)
    assert bad.status is Status.FAILURE and f"FEEDS_FILE {feeds}, line 2" in bad.detail
    feeds.write_text("# nothing yet\n")
    assert check_feeds_file(feeds).status is Status.WARNING
    assert check_feeds_file(tmp_path / "absent.txt").status is Status.FAILURE
    feeds.write_bytes(b"\xff\xfe\x00h")
    assert check_feeds_file(feeds).status is Status.FAILURE


def test_the_http_port():
    assert check_http_port("127.0.0.1", None) is None  # the side door is off: nothing to check
    free = check_http_port("127.0.0.1", closed_port())
    assert free is not None and free.status is Status.OK
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = check_http_port("127.0.0.1", listener.getsockname()[1])
    assert taken is not None and taken.status is Status.FAILURE and taken.transient
    assert "already in use" in taken.detail
    elsewhere = check_http_port("192.0.2.1", closed_port())  # TEST-NET-1: not an address of this machine
    assert elsewhere is not None and elsewhere.status is Status.FAILURE
    assert "not an address of this machine" in elsewhere.detail


def test_report_lines_and_summary(tmp_path, monkeypatch, now):
    monkeypatch.chdir(tmp_path)
    Path(".env").write_text(f"DISCORD_TOKEN={TOKEN}\n")  # .env is not read here: the values are given
    report = diagnose({"TOPIC_TAGGER": "keywords", "FEEDS_FILE": str(tmp_path / "empty.txt")}, now=now)
    lines = report.lines()
    assert lines[0].startswith("✓ settings")
    assert any(line.startswith("✗ DISCORD_TOKEN") for line in lines)
    assert any(line.strip().startswith("→ copy the bot's token") for line in lines)
    assert report.summary() == "The bot cannot start: 2 problems to fix."
