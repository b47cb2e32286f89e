"""The log redactor: tokens nobody configured (webhooks', interactions') are masked wherever discord.py logs them."""

from __future__ import annotations

import logging

import pytest

from digests.logs import RedactingFormatter

WEBHOOK_TOKEN = "Zk3x_9-abc.DEFghiJKLmnoPQRstuVWXyz0123456789abcdefghijklmnopqrstuv"
INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"


def formatted(message: str, *args: object, exc: BaseException | None = None) -> str:
    info = (type(exc), exc, exc.__traceback__) if exc else None
    record = logging.LogRecord("discord.webhook", logging.DEBUG, __file__, 1, message, args, info)
    return RedactingFormatter([]).format(record)


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
    ],
)
def test_webhook_and_interaction_tokens_are_masked_and_the_ids_kept(message, args, kept):
    line = formatted(message, *args)
    assert kept in line
    assert WEBHOOK_TOKEN not in line and INTERACTION_TOKEN not in line


def test_a_stored_webhook_url_in_a_traceback_is_masked():
    try:
        raise ValueError(f"cannot post to https://discord.com/api/webhooks/42/{WEBHOOK_TOKEN}")
    except ValueError as error:
        line = formatted("delivery failed", exc=error)
    assert "ValueError: cannot post to https://discord.com/api/webhooks/42/********" in line
    assert WEBHOOK_TOKEN not in line
