"""Logging set-up: one format, and secrets redacted from every line at every level."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
REDACTED = "********"
# Secrets the bot does not know in advance. At DEBUG, discord.py logs every request URL, and a
# webhook's or an interaction's URL carries its token (/webhooks/<id>/<token>,
# /interactions/<id>/<token>/callback); it also logs each gateway event whole, and an interaction
# event has a "token" field. Stored webhook URLs have the same shape.
_TOKEN_PATTERNS = (
    re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/?#\s'\"<>]+"),
    re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+"""),
)


class RedactingFormatter(logging.Formatter):
    """Formats a record (message, traceback and all), then masks each secret and each token of a URL or payload."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(LOG_FORMAT)
        self.secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _TOKEN_PATTERNS:
            text = pattern.sub(rf"\g<1>{REDACTED}", text)
        return text


def configure_logging(level: str, *, secrets: Iterable[str] = ()) -> None:
    """Log to stderr at `level` through one handler that redacts `secrets`."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic announces every migration check and APScheduler every job it adds (10,000 lines for
    # 10,000 schedules) at INFO; only a DEBUG run needs that.
    for chatty in ("alembic", "apscheduler"):
        logging.getLogger(chatty).setLevel(level if level == "DEBUG" else "WARNING")
