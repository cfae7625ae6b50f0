"""Errors raised across layers; each message says what was expected and what was found."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in an input file: where it is and what is wrong."""

    file: str
    row: int | None  # 1-based data row (header not counted); None when it concerns the whole file
    message: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}: row {self.row}"
        return f"{where}: {self.message}"


class EdgecraftError(Exception):
    """Base class of edgecraft's own errors."""


class DataError(EdgecraftError):
    """Input data failed validation; `problems` lists every finding."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in input data:\n{shown}{more}")


class ConfigError(EdgecraftError, ValueError):
    """A setting is invalid or names something unknown."""
