import logging
import sys

import pytest

from digests.errors import ConfigError, InputError
from digests.logs import RedactingFormatter
from digests.settings import DEFAULT_DATABASE_URL, Settings


def test_defaults_match_the_spec():
    settings = Settings.from_mapping({})
    assert settings.discord_token is None
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///briefbot.db"
    assert settings.default_timezone == "UTC"
    assert settings.catchup_grace_minutes == 120
    assert settings.allow_private_feeds is False
    assert settings.log_level == "INFO"


def test_the_real_environment_wins_over_dotenv(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEFAULT_TIMEZONE=Europe/Brussels\nLOG_LEVEL=debug\nCATCHUP_GRACE_MINUTES=0\n")
    settings = Settings.load({"DEFAULT_TIMEZONE": "America/New_York"}, env_file=env_file)
    assert settings.default_timezone == "America/New_York"
    assert settings.log_level == "DEBUG"
    assert settings.catchup_grace_minutes == 0


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, InputError, "Mars/Olympus"),
        ({"ALLOW_PRIVATE_FEEDS": "maybe"}, ConfigError, "ALLOW_PRIVATE_FEEDS"),
        ({"CATCHUP_GRACE_MINUTES": "-5"}, ConfigError, "at least 0"),
        ({"DISCORD_GUILD_ID": "abc"}, ConfigError, "whole number"),
        ({"LOG_LEVEL": "LOUD"}, ConfigError, "LOG_LEVEL"),
        ({"SHARD_IDS": "0"}, ConfigError, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,2"}, ConfigError, "from 0 to SHARD_COUNT - 1"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,,1"}, ConfigError, "shard numbers separated by commas"),
        ({"SHARD_COUNT": "0"}, ConfigError, "SHARD_COUNT must be at least 1"),
        ({"HTTP_PORT": "http"}, ConfigError, "HTTP_PORT must be a whole number"),
        ({"HTTP_PORT": "0"}, ConfigError, "HTTP_PORT must be at least 1"),
        ({"HTTP_PORT": "70000"}, ConfigError, "HTTP_PORT must be a TCP port from 1 to 65535"),
        ({"METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,intranet"}, ConfigError, "'intranet' is not one"),
        ({"METRICS_ALLOWED_NETWORKS": "10.0.0.0/33"}, ConfigError, "METRICS_ALLOWED_NETWORKS must be networks"),
        ({"METRICS_ALLOWED_NETWORKS": " , "}, ConfigError, "lists no network"),
        ({"HEALTH_MAX_SLOT_LAG_MINUTES": "0"}, ConfigError, "HEALTH_MAX_SLOT_LAG_MINUTES must be at least 1"),
    ],
)
def test_bad_settings_fail_with_a_message_naming_them(values, error, message):
    with pytest.raises(error, match=message):
        Settings.from_mapping(values)


def test_shards_are_all_by_default_or_the_listed_ones_of_the_count():
    assert (Settings.from_mapping({}).shard_count, Settings.from_mapping({}).shard_ids) == (None, None)
    settings = Settings.from_mapping({"SHARD_COUNT": "4", "SHARD_IDS": " 3, 1,1"})
    assert (settings.shard_count, settings.shard_ids) == (4, (1, 3))


def test_the_token_never_shows_in_repr():
    settings = Settings.from_mapping({"DISCORD_TOKEN": "super.secret.token"})
    assert settings.discord_token == "super.secret.token"
    assert "super.secret.token" not in repr(settings)


def test_log_lines_redact_the_token_even_in_tracebacks():
    formatter = RedactingFormatter(["tok.en.value"])
    try:
        raise RuntimeError("login failed for tok.en.value")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s", ("tok.en.value",), sys.exc_info())
    line = formatter.format(record)
    assert "RuntimeError: login failed for ********" in line
    assert line.startswith("20") and "token ********" in line
    assert "tok.en.value" not in line


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://news.example.org", "https://news.example.org"),
        ("https://News.Example.org/", "https://news.example.org"),
        ("HTTP://news.example.org:8080/briefbot/", "http://news.example.org:8080/briefbot"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_the_archive_base_url_is_kept_without_its_trailing_slash(value, expected):
    assert Settings.from_mapping({"ARCHIVE_BASE_URL": value}).archive_base_url == expected
    assert Settings.from_mapping({}).archive_base_url is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("news.example.org", "must be an http:// or https:// URL"),
        ("ftp://news.example.org", "must be an http:// or https:// URL"),
        ("https://", "must be an http:// or https:// URL"),
        ("https://news.example.org:port", "must be a URL"),
        ("https://news.example.org/?a=1", "must not hold a user name, password, query or fragment"),
        ("https://news.example.org/#top", "must not hold a user name, password, query or fragment"),
    ],
)
def test_a_bad_archive_base_url_is_refused_naming_the_setting(value, message):
    with pytest.raises(ConfigError, match=f"ARCHIVE_BASE_URL {message}"):
        Settings.from_mapping({"ARCHIVE_BASE_URL": value})


def test_a_refused_archive_base_url_never_repeats_its_password():
    with pytest.raises(ConfigError) as refused:
        Settings.from_mapping({"ARCHIVE_BASE_URL": "https://admin:hunter2@news.example.org"})
    assert "hunter2" not in str(refused.value) and "ARCHIVE_BASE_URL" in str(refused.value)


def test_the_http_side_door_is_off_by_default_and_metrics_are_for_loopback_only():
    settings = Settings.from_mapping({})
    assert (settings.http_port, settings.http_host) == (None, "127.0.0.1")
    assert [str(n) for n in settings.metrics_allowed_networks] == ["127.0.0.0/8", "::1/128"]
    assert settings.health_max_slot_lag_minutes == 30


def test_http_settings_are_read_and_networks_accept_bare_addresses_and_host_bits():
    settings = Settings.from_mapping({"HTTP_PORT": "9464", "HTTP_HOST": "192.0.2.10",
                                      "METRICS_ALLOWED_NETWORKS": "10.1.2.3/8, 192.168.1.7,fd00::/8,",
                                      "HEALTH_MAX_SLOT_LAG_MINUTES": "45"})
    assert (settings.http_port, settings.http_host, settings.health_max_slot_lag_minutes) == (9464, "192.0.2.10", 45)
    assert [str(n) for n in settings.metrics_allowed_networks] == ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]
