"""The log formats (text and JSON lines) and their redactor: tokens are masked wherever they appear."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from digests.errors import ConfigError
from digests.logs import JsonFormatter, RedactingFormatter, configure_logging
from digests.settings import Settings

WEBHOOK_TOKEN = "Zk3x_9-abc.DEFghiJKLmnoPQRstuVWXyz0123456789abcdefghijklmnopqrstuv"
INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"
BOT_TOKEN = "MTExMjIyMzMzNDQ0NTU1.GhIjKl.bot-token-secret-part-0123456789"
FORMATTERS = {"text": RedactingFormatter, "json": JsonFormatter}


def record(message: str, *args: object, exc: BaseException | None = None, extra: dict | None = None,
           level: int = logging.DEBUG) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc else None
    made = logging.LogRecord("discord.webhook", level, __file__, 1, message, args, info)
    made.__dict__.update(extra or {})
    return made


def formatted(message: str, *args: object, exc: BaseException | None = None, log_format: str = "text",
              extra: dict | None = None) -> str:
    return FORMATTERS[log_format]([BOT_TOKEN]).format(record(message, *args, exc=exc, extra=extra))


def raised(message: str) -> ValueError:
    try:
        raise ValueError(message)
    except ValueError as error:
        return error


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize(
    ("message", "args", "kept"),
    [
        ("Webhook ID %s with %s %s has returned status code %s",
         (42, "POST", f"https://discord.com/api/v10/webhooks/42/{WEBHOOK_TOKEN}?wait=1", 500),
         "/webhooks/42/********?wait=1"),
        ("%s %s with %s has returned %s",
         ("POST", f"http://127.0.0.1:8080/api/v10/interactions/77/{INTERACTION_TOKEN}/callback", None, 204),
         "/interactions/77/********/callback"),
        ("For Shard ID %s: WebSocket Event: %s",
         (0, {"t": "INTERACTION_CREATE", "d": {"id": "77", "token": INTERACTION_TOKEN, "version": 1}}),
         "'token': '********'"),
        ("payload %s", (f'{{"id": "77", "token" : "{INTERACTION_TOKEN}"}}',), '"token" : "********"'),
        ("stored route %s", (f"https://discordapp.com/api/webhooks/42/{WEBHOOK_TOKEN}",),
         "https://discordapp.com/api/webhooks/42/********"),
        ("logging in using static token %s", (BOT_TOKEN,), "static token ********"),
    ],
)
def test_webhook_interaction_and_bot_tokens_are_masked_and_the_ids_kept(message, args, kept, log_format):
    line = formatted(message, *args, log_format=log_format)
    shown = json.loads(line)["message"] if log_format == "json" else line
    assert kept in shown
    assert WEBHOOK_TOKEN not in line and INTERACTION_TOKEN not in line and BOT_TOKEN not in line


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_stored_webhook_url_in_a_traceback_is_masked(log_format):
    error = raised(f"cannot post to https://discord.com/api/webhooks/42/{WEBHOOK_TOKEN} as {BOT_TOKEN}")
    line = formatted("delivery failed", exc=error, log_format=log_format)
    traceback = json.loads(line)["exception"] if log_format == "json" else line
    assert "ValueError: cannot post to https://discord.com/api/webhooks/42/******** as ********" in traceback
    assert "Traceback (most recent call last)" in traceback
    assert WEBHOOK_TOKEN not in line and BOT_TOKEN not in line


def test_a_json_line_is_one_object_with_time_level_logger_message_and_exception():
    error = raised("first line\nsecond line")
    made = record("delivered %d part(s) to %s", 3, "channel 9", exc=error, level=logging.WARNING)
    line = JsonFormatter([]).format(made)
    assert "\n" not in line  # a multi-line traceback stays on one line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "discord.webhook"
    assert entry["message"] == "delivered 3 part(s) to channel 9"
    assert entry["exception"].endswith("ValueError: first line\nsecond line")
    assert entry["time"].endswith("Z")
    moment = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    assert moment.utcoffset() == timedelta(0)
    assert abs(moment - datetime.fromtimestamp(made.created, UTC)) < timedelta(milliseconds=1)


def test_a_json_line_without_an_exception_has_no_exception_field():
    entry = json.loads(JsonFormatter([]).format(record("started")))
    assert set(entry) == {"time", "level", "logger", "message"}


class Opaque:
    """An `extra` value JSON cannot hold: it is shown as its str, masked too."""

    def __str__(self) -> str:
        return f"<route https://discord.com/api/webhooks/42/{WEBHOOK_TOKEN}>"


def test_extra_fields_are_kept_and_masked_like_the_message():
    extra = {
        "guild_id": 123,
        "paused": False,
        "target": f"https://discord.com/api/webhooks/42/{WEBHOOK_TOKEN}",
        "payload": {"id": "77", "token": INTERACTION_TOKEN, "nested": [BOT_TOKEN, 1.5, None]},
        "token": "anything-at-all",
        "route": Opaque(),
        "level": "an extra may not replace a standard field",
    }
    line = formatted("posted", log_format="json", extra=extra)
    entry = json.loads(line)
    assert entry["guild_id"] == 123 and entry["paused"] is False
    assert entry["target"] == "https://discord.com/api/webhooks/42/********"
    assert entry["payload"] == {"id": "77", "token": "********", "nested": ["********", 1.5, None]}
    assert entry["token"] == "********"
    assert entry["route"] == "<route https://discord.com/api/webhooks/42/********>"
    assert entry["level"] == "DEBUG"
    for secret in (WEBHOOK_TOKEN, INTERACTION_TOKEN, BOT_TOKEN, "anything-at-all"):
        assert secret not in line


def test_the_text_format_keeps_its_layout():
    line = formatted("polled %d feed(s)", 4)
    assert line.endswith(" DEBUG   discord.webhook: polled 4 feed(s)")


@pytest.mark.parametrize(("value", "expected"), [(None, "text"), ("json", "json"), ("JSON", "json"), ("text", "text")])
def test_log_format_setting(value, expected):
    assert Settings.from_mapping({"LOG_FORMAT": value} if value else {}).log_format == expected


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of text, json; got 'yaml'"):
        Settings.from_mapping({"LOG_FORMAT": "yaml"})


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(("log_format", "formatter"), list(FORMATTERS.items()))
def test_configure_logging_installs_one_redacting_handler_of_the_format(log_format, formatter, restore_logging):
    configure_logging("INFO", secrets=[BOT_TOKEN], log_format=log_format)
    (handler,) = logging.getLogger().handlers
    assert type(handler.formatter) is formatter
    assert BOT_TOKEN not in handler.format(record("token %s", BOT_TOKEN))


def test_the_cli_logs_json_lines(tmp_path):
    """A real command at DEBUG: every line on stderr is one JSON object."""
    env = {"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG", "PATH": "/usr/bin:/bin",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    entries = [json.loads(line) for line in lines]
    assert any(entry["logger"].startswith("alembic") for entry in entries)  # DEBUG really logged
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
