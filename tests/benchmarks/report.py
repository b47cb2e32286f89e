"""Figures: what each benchmark measured, the table printed at the end, and the JSON file of results."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Figure:
    """One row of the table: a measured value against the target of issue 6.

    `met` is None when the figure has no pass/fail target (an informational row) or could not be
    measured; `text` is the figure as shown in the table, `value`/`unit` the number behind it.
    """

    id: str
    what: str
    text: str
    target: str
    met: bool | None
    value: float | None = None
    unit: str = ""
    details: dict[str, object] = field(default_factory=dict)


def failed(figure_id: str, what: str, target: str, error: BaseException) -> Figure:
    """The row of a benchmark that raised instead of measuring."""
    return Figure(figure_id, what, f"not measured: {type(error).__name__}: {error}"[:200], target, None,
                  details={"error": repr(error)})


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The `fraction` percentile of `samples` (nearest rank, as latency reports usually use)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def table(figures: Sequence[Figure]) -> str:
    """The figures as one fixed-width text table: id, what, figure, target, met?"""
    headers = ("id", "what", "figure", "target", "met?")
    rows = [(f.id, f.what, f.text, f.target, {True: "yes", False: "NO", None: "–"}[f.met]) for f in figures]
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    line = "  ".join("{:<" + str(width) + "}" for width in widths)
    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line.format(*headers), rule, *(line.format(*row) for row in rows)])


def markdown_table(figures: Sequence[Figure]) -> str:
    """The same table in Markdown, for the README and issue notes."""
    lines = ["| id | what | figure | target | met? |", "|---|---|---|---|---|"]
    lines += [f"| {f.id} | {f.what} | {f.text} | {f.target} | {({True: 'yes', False: '**no**', None: '–'})[f.met]} |"
              for f in figures]
    return "\n".join(lines)


def write_json(path: Path, figures: Sequence[Figure], *, mode: str, store: str, seconds: float) -> None:
    """Write the figures with the machine and run they come from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "store": store,
        "run_seconds": round(seconds, 1),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "figures": [asdict(figure) for figure in figures],
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
