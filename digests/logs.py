"""Logging set-up: text or JSON lines (LOG_FORMAT), with secrets redacted from every line at every level."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")
REDACTED = "********"
# Secrets the bot does not know in advance. At DEBUG, discord.py logs every request URL, and a
# webhook's or an interaction's URL carries its token (/webhooks/<id>/<token>,
# /interactions/<id>/<token>/callback); it also logs each gateway event whole, and an interaction
# event has a "token" field. Stored webhook URLs have the same shape.
_TOKEN_PATTERNS = (
    re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/?#\s'\"<>]+"),
    re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+"""),
)
# An `extra` field or a nested key of this name holds a token whatever its value looks like.
_SECRET_KEYS = frozenset({"token"})
# The attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class Redactor:
    """Masks the configured secrets and every token of a webhook/interaction URL or payload."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = [secret for secret in secrets if secret]

    def text(self, text: str) -> str:
        """`text` with every secret masked."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _TOKEN_PATTERNS:
            text = pattern.sub(rf"\g<1>{REDACTED}", text)
        return text

    def value(self, value: object) -> object:
        """A JSON-ready copy of `value` (strings, numbers, lists, dicts) with every secret masked.

        Anything JSON cannot hold is shown as its `str`, then masked like any text.
        """
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict):
            return {self.text(str(key)): REDACTED if str(key).lower() in _SECRET_KEYS else self.value(item)
                    for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(item) for item in value]
        return self.text(str(value))


class RedactingFormatter(logging.Formatter):
    """Formats a record as one text line (message, traceback and all), then masks each secret."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(LOG_FORMAT)
        self.redactor = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.text(super().format(record))


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line, every string masked as the text format masks it.

    Fields: `time` (ISO 8601, UTC), `level`, `logger`, `message`, `exception` and `stack` when the
    record has them, then each `extra=` field (a field may not replace one of those).
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.redactor = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        entry: dict[str, object] = {
            "time": moment.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = REDACTED if key.lower() in _SECRET_KEYS else value
        return json.dumps(self.redactor.value(entry), ensure_ascii=False)


def configure_logging(level: str, *, secrets: Iterable[str] = (), log_format: str = "text") -> None:
    """Log to stderr at `level` through one handler that redacts `secrets`, as text lines or JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(secrets) if log_format == "json" else RedactingFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic announces every migration check and APScheduler every job it adds (10,000 lines for
    # 10,000 schedules) at INFO; only a DEBUG run needs that.
    for chatty in ("alembic", "apscheduler"):
        logging.getLogger(chatty).setLevel(level if level == "DEBUG" else "WARNING")
