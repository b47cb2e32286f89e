"""The settings, checked one variable at a time so that every bad one is named, not just the first.

`Settings.from_mapping` stops at the first bad value. Here each variable is added in the order
settings.py reads them to those already found good, so a variable that needs another (SHARD_IDS
needs SHARD_COUNT) is checked with it, and a bad one is reported and left at its default for the
checks that follow.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from digests import settings as settings_module
from digests.doctor.report import Check, failure, ok
from digests.errors import BriefbotError
from digests.settings import Settings

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@cache
def setting_names() -> tuple[str, ...]:
    """Every variable settings.py reads, in the order it reads them: each `get("NAME")` of its source.

    Derived from the code, so the docs test and the doctor never miss a setting someone adds.
    """
    tree = ast.parse(Path(settings_module.__file__).read_text(encoding="utf-8"))
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
            continue
        function = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        name = node.args[0].value
        if function == "get" and isinstance(name, str) and name and set(name) <= _NAME_CHARS and name[0].isalpha():
            found.append((node.lineno, node.col_offset, name))
    return tuple(dict.fromkeys(name for _, _, name in sorted(found)))


def check_settings(values: Mapping[str, str]) -> tuple[Settings, list[Check]]:
    """The settings built from the good variables of `values`, and a check for each bad one (or one ✓)."""
    good: dict[str, str] = {}
    checks: list[Check] = []
    configured = [name for name in setting_names() if values.get(name, "").strip()]
    for name in configured:
        try:
            Settings.from_mapping({**good, name: values[name]})
        except BriefbotError as error:
            checks.append(failure(name, _naming(name, str(error)), f"fix {name} in .env or the environment "
                                  "(see docs/settings.md), or remove it to use the default"))
            continue
        good[name] = values[name]
    if "DATABASE_URL" in good and not _parses(good["DATABASE_URL"]):
        del good["DATABASE_URL"]  # never shown: it may hold a password
        checks.append(failure("DATABASE_URL", "is not a valid database URL",
                              "use e.g. sqlite:///briefbot.db or postgresql+psycopg://user:password@host:5432/briefbot"))
    if not checks:
        checks.append(ok("settings", f"{len(configured)} set in .env or the environment, all valid; "
                                     "the others at their defaults"))
    return Settings.from_mapping(good), checks


def _naming(name: str, message: str) -> str:
    """The error without the variable's name when it starts with it (the check is named after it)."""
    return message[len(name):].lstrip(" :") if message.startswith(name) else message


def _parses(url: str) -> bool:
    try:
        sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return False
    return True
