"""A webhook's name, avatar, thread and post name: what Discord would refuse is refused before it is stored."""

from __future__ import annotations

import pytest

from digests.errors import InputError
from digests.webhook_identity import WebhookIdentity, parse_avatar_url, parse_identity, parse_thread_id, parse_username


@pytest.mark.parametrize("name", ["", " ", "x" * 81, "Discord News", "clyde", "everyone", "a@b", "a#b", "News: AM",
                                  "```"])
def test_names_discord_refuses_are_refused(name):
    with pytest.raises(InputError):
        parse_username(name)


def test_a_name_is_kept_with_its_spaces_collapsed():
    assert parse_username("  Morning   Desk ") == "Morning Desk"
    assert parse_username("x" * 80) == "x" * 80


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "javascript:alert(1)", "example.com/a.png", "https://",
                                 "https://exa mple.com/a.png", "https://example.com/" + "a" * 2040,
                                 "https://[::1/a.png", "data:image/png;base64,AAAA"])
def test_avatar_urls_that_are_not_http_urls_are_refused(url):
    with pytest.raises(InputError) as refused:
        parse_avatar_url(url)
    assert "example" not in str(refused.value)  # the URL is not repeated


def test_an_avatar_url_with_credentials_is_refused_without_repeating_them():
    with pytest.raises(InputError) as refused:
        parse_avatar_url("https://user:hunter2@example.com/a.png")
    assert "hunter2" not in str(refused.value)


def test_http_and_https_avatars_are_kept():
    assert parse_avatar_url(" https://cdn.example.com/desk.png?v=2 ") == "https://cdn.example.com/desk.png?v=2"
    assert parse_avatar_url("HTTP://example.com/a.png") == "HTTP://example.com/a.png"


def test_a_thread_is_an_id_or_a_channel_mention():
    assert parse_thread_id("1234567890123456789") == 1234567890123456789
    assert parse_thread_id("<#1234567890123456789>") == 1234567890123456789
    for bad in ("general", "12", "<#abc>", "-1234567890123456789"):
        with pytest.raises(InputError):
            parse_thread_id(bad)


def test_a_thread_and_a_post_name_together_are_refused():
    with pytest.raises(InputError, match="not both"):
        parse_identity(username=None, avatar_url=None, thread_id="1234567890123456789", thread_name="Digest")
    assert parse_identity(username="Desk", avatar_url=None, thread_id=None, thread_name="Digest") == WebhookIdentity(
        username="Desk", thread_name="Digest")
