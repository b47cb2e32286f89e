"""What a check found, and how `briefbot doctor` shows it: ✓ ok, ⚠ a warning, ✗ a failure that stops the start."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """How a check went; only a failure stops the bot from starting."""

    OK = "✓"
    WARNING = "⚠"
    FAILURE = "✗"


@dataclass(frozen=True)
class Check:
    """One check's outcome: what it looked at, what it found, and what to do about it.

    `transient` marks a failure that may clear by itself (a database still starting, a port held by a
    process that is stopping), so a supervisor restarting `briefbot run` is right to try again.
    Nothing here may hold a secret: the token and database passwords are never put in a check.
    """

    name: str
    status: Status
    detail: str
    advice: str = ""
    transient: bool = False


def ok(name: str, detail: str) -> Check:
    """A check that passed."""
    return Check(name, Status.OK, detail)


def warning(name: str, detail: str, advice: str = "") -> Check:
    """Something that deserves attention but does not stop the bot from starting."""
    return Check(name, Status.WARNING, detail, advice)


def failure(name: str, detail: str, advice: str = "", *, transient: bool = False) -> Check:
    """Something that stops the bot from starting."""
    return Check(name, Status.FAILURE, detail, advice, transient)


@dataclass(frozen=True)
class Report:
    """Every check of one doctor run, in order."""

    checks: tuple[Check, ...]

    @property
    def failures(self) -> list[Check]:
        """The checks that stop the bot from starting."""
        return [check for check in self.checks if check.status is Status.FAILURE]

    @property
    def warnings(self) -> list[Check]:
        """The checks that deserve attention."""
        return [check for check in self.checks if check.status is Status.WARNING]

    @property
    def can_start(self) -> bool:
        """Whether `briefbot run` would start with this configuration."""
        return not self.failures

    @property
    def only_transient_failures(self) -> bool:
        """Whether every failure may clear by itself (the bot can be started again later as configured)."""
        return all(check.transient for check in self.failures)

    def lines(self, checks: list[Check] | None = None) -> list[str]:
        """`checks` (default: all), one line each, advice indented on the line below."""
        chosen = self.checks if checks is None else checks
        width = max((len(check.name) for check in chosen), default=0)
        lines = []
        for check in chosen:
            lines.append(f"{check.status.value} {check.name.ljust(width)}  {check.detail}")
            if check.advice and check.status is not Status.OK:
                lines.append(f"  {' ' * width}  → {check.advice}")
        return lines

    def summary(self) -> str:
        """One sentence: can the bot start, and how many problems and warnings there are."""
        warned = f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}"
        if self.can_start:
            return "The bot can start." + (f" ({warned})" if self.warnings else "")
        failed = f"{len(self.failures)} problem{'s' if len(self.failures) != 1 else ''}"
        return f"The bot cannot start: {failed} to fix" + (f", {warned}." if self.warnings else ".")
