"""Check market-data files against their schema: a Problem per bad row or column, gaps as notes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from edgecraft.core.errors import Problem
from edgecraft.core.timeframes import timeframe_seconds
from edgecraft.data.reading import read_raw, typed_columns
from edgecraft.data.schemas import Schema, detect_schema, schema_of_path
from edgecraft.data.symbols import parse_bar_file_name

_TIMEFRAME_IN_NAME = re.compile(r"[_-](\d+[mhd])(?=[._-])")
_SKIPPED_NAMES = {"MANIFEST.csv"}  # index files that sit beside the data
_DATA_SUFFIXES = {".csv", ".parquet", ".feather"}


@dataclass
class Report:
    """What validating one file found; `frame` holds its typed columns when it was readable."""

    file: str
    kind: str | None = None
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    frame: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def data_files(paths: list[Path]) -> list[Path]:
    """Expand folders into the data files under them (sorted); files are kept as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in _DATA_SUFFIXES and p.name not in _SKIPPED_NAMES
            )
        else:
            found.append(path)
    return found


def validate_file(path: Path, schema: Schema | None = None, timeframe: str | None = None) -> Report:
    """Read and check one file; `schema` and `timeframe` are detected when not given."""
    report = Report(file=str(path))
    raw, problems = read_raw(path)
    if raw is None:
        report.problems = problems
        return report
    named = pair_problem(path, list(raw.columns))
    if named is not None:
        report.problems = [named]
        return report
    schema = schema or schema_of_path(path) or detect_schema(list(raw.columns))
    if schema is None:
        report.problems = [
            Problem(
                str(path),
                None,
                f"columns {list(raw.columns)} match no known "
                "schema (OHLCV bars need timestamp, open, high, "
                "low, close, volume)",
            )
        ]
        return report
    return validate_frame(
        raw,
        schema,
        str(path),
        timeframe or _timeframe_from_name(path.name),
        from_text=path.suffix.lower() == ".csv",
    )


def pair_problem(path: Path, columns: list[str]) -> Problem | None:
    """A file whose pair the loaders read from its name (bars under ``ohlcv/<market>_<tf>/``,
    taker flow under ``taker_flow/`` without a ``symbol`` column) but cannot: the same refusal
    for `edgecraft validate` and for the loaders, naming the file."""
    folder = path.parent
    by_name = folder.parent.name == "ohlcv" or (
        folder.name == "taker_flow" and "symbol" not in columns
    )
    if not by_name or parse_bar_file_name(path)[0] is not None:
        return None
    return Problem(
        str(path),
        None,
        "cannot tell which pair this file holds from its name: name it like "
        "binance_spot_BTCUSDT_1h.parquet"
        + (" or give it a symbol column" if folder.name == "taker_flow" else ""),
    )


def validate_frame(
    raw: pd.DataFrame,
    schema: Schema,
    name: str,
    timeframe: str | None = None,
    from_text: bool = False,
) -> Report:
    """Check a frame (as read from a file, or about to be written) against `schema`."""
    report = Report(file=name, kind=schema.kind, rows=len(raw))
    report.problems = _column_problems(list(raw.columns), schema, name)
    if raw.empty:
        report.problems.append(Problem(name, None, "no data rows (only a header)"))
    frame, cell_problems = typed_columns(raw, schema, name, from_text)
    report.problems += cell_problems
    report.problems += value_problems(frame, schema, name)
    report.notes += [
        f"{c}: {n} missing value(s), allowed for this column"
        for c in frame.columns
        if schema.is_nullable(c) and (n := frame[c].isna().sum())
    ]
    if schema.time in frame:
        tf = timeframe or schema.grid
        grid_problems, notes = _time_problems(frame, schema, name, tf)
        report.problems += grid_problems
        report.notes += notes
    report.problems = _dedupe(report.problems)
    report.frame = frame
    return report


def _timeframe_from_name(name: str) -> str | None:
    match = _TIMEFRAME_IN_NAME.search(name)
    return match.group(1) if match else None


def _column_problems(columns: list[str], schema: Schema, file: str) -> list[Problem]:
    problems = []
    expected = [schema.time, *schema.required]
    for column in expected:
        if column not in columns:
            problems.append(
                Problem(
                    file,
                    None,
                    f"missing column {column!r} ({schema.kind} files need {', '.join(expected)})",
                )
            )
    duplicated = {c for c in columns if columns.count(c) > 1}
    problems += [Problem(file, None, f"column {c!r} appears more than once") for c in duplicated]
    for column in columns:
        if schema.column_type(column) is None:
            allowed = ", ".join([*expected, *schema.optional]) or "-"
            problems.append(
                Problem(
                    file,
                    None,
                    f"unexpected column {column!r} ({schema.kind} files may have {allowed})",
                )
            )
    return problems


def value_problems(
    frame: pd.DataFrame | Mapping[str, np.ndarray], schema: Schema, file: str
) -> list[Problem]:
    """Missing, infinite, non-positive and broken-OHLC values, by row (1-based); `frame` is a
    file's frame or, for a few bars, columns of numpy arrays (no DataFrame to build)."""
    problems: list[Problem] = []
    names = list(frame.columns) if isinstance(frame, pd.DataFrame) else list(frame)
    checked = set(schema.positive) | set(schema.non_negative)
    if schema.ohlc:
        checked |= {"open", "high", "low", "close"}
    values = {
        c: np.asarray(frame[c], dtype="float64")
        for c in names
        if c in checked or schema.column_type(c) in ("float", "int")
    }
    for column in names:
        if schema.column_type(column) in ("float", "int"):
            v = values[column]
            for i in np.flatnonzero(np.isnan(v) & (not schema.is_nullable(column))):
                problems.append(Problem(file, int(i) + 1, f"{column} is missing (NaN)"))
            for i in np.flatnonzero(np.isinf(v)):
                problems.append(Problem(file, int(i) + 1, f"{column} is infinite ({v[i]})"))
    for column in schema.positive:
        if column in values:
            for i in np.flatnonzero(values[column] <= 0):
                problems.append(
                    Problem(file, int(i) + 1, f"{column} must be > 0, was {values[column][i]}")
                )
    for column in schema.non_negative:
        if column in values:
            for i in np.flatnonzero(values[column] < 0):
                problems.append(
                    Problem(file, int(i) + 1, f"{column} must be >= 0, was {values[column][i]}")
                )
    if schema.ohlc and {"open", "high", "low", "close"} <= set(values):
        problems += _ohlc_problems(values, file)
    return problems


def _ohlc_problems(values: Mapping[str, np.ndarray], file: str) -> list[Problem]:
    o, h, lo, c = (values[k] for k in ("open", "high", "low", "close"))
    problems = [
        Problem(file, int(i) + 1, f"high {h[i]} is below low {lo[i]}")
        for i in np.flatnonzero(h < lo)
    ]
    for name, v in (("open", o), ("close", c)):
        outside = (h >= lo) & ((v < lo) | (v > h))
        problems += [
            Problem(file, int(i) + 1, f"{name} {v[i]} is outside [low {lo[i]}, high {h[i]}]")
            for i in np.flatnonzero(outside)
        ]
    return problems


def _time_problems(
    frame: pd.DataFrame, schema: Schema, file: str, timeframe: str | None
) -> tuple[list[Problem], list[str]]:
    problems: list[Problem] = []
    notes: list[str] = []
    time = frame[schema.time]
    problems += [
        Problem(file, int(i) + 1, f"{schema.time} is missing")
        for i in np.flatnonzero(time.isna())[:1]
        if not time.isna().all()
    ]
    groups = (
        frame.groupby(schema.group, sort=False).indices
        if schema.group in frame
        else {None: np.arange(len(frame))}
    )
    step = timeframe_seconds(timeframe) * 1_000_000_000 if timeframe else None
    for key, rows in groups.items():
        ns = time.iloc[rows].to_numpy(dtype="datetime64[ns]").astype("int64")
        valid = ~np.isnat(time.iloc[rows].to_numpy(dtype="datetime64[ns]"))
        rows, ns = rows[valid], ns[valid]
        label = f" ({schema.group} {key})" if key is not None else ""
        diff = np.diff(ns)
        stamps = time.iloc[rows]
        for j in np.flatnonzero(diff < 0):
            problems.append(
                Problem(
                    file,
                    int(rows[j + 1]) + 1,
                    f"{schema.time} {stamps.iloc[j + 1]} is out of order: earlier "
                    f"than row {rows[j] + 1} ({stamps.iloc[j]}){label}",
                )
            )
        if schema.unique_time:
            for j in np.flatnonzero(diff == 0):
                problems.append(
                    Problem(
                        file,
                        int(rows[j + 1]) + 1,
                        f"duplicate {schema.time} {stamps.iloc[j + 1]} (same as "
                        f"row {rows[j] + 1}){label}",
                    )
                )
        if step:
            for j in np.flatnonzero(ns % step != 0):
                problems.append(
                    Problem(
                        file,
                        int(rows[j]) + 1,
                        f"{schema.time} {stamps.iloc[j]} is not on the {timeframe} grid",
                    )
                )
            for j in np.flatnonzero(diff > step):
                missing = int(diff[j] // step) - 1
                notes.append(
                    f"gap: {missing} missing {timeframe} bar(s) after {stamps.iloc[j]} "
                    f"(next {stamps.iloc[j + 1]}){label}"
                )
    if schema.sequence and schema.sequence in frame:
        seq = frame[schema.sequence].to_numpy(dtype="float64")
        for j in np.flatnonzero(np.diff(seq) <= 0):
            problems.append(
                Problem(
                    file,
                    int(j) + 2,
                    f"{schema.sequence} {seq[j + 1]:.0f} does not "
                    f"increase (row {j + 1} has {seq[j]:.0f})",
                )
            )
    return problems, notes


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[int | None, str]] = set()
    out = []
    for p in problems:
        if (p.row, p.message) not in seen:
            seen.add((p.row, p.message))
            out.append(p)
    return sorted(out, key=lambda p: (p.row is not None, p.row or 0))


def validate_paths(paths: list[Path], timeframe: str | None = None) -> list[Report]:
    """Validate every data file at or under `paths` (`edgecraft validate`); a path that does not
    exist is a problem."""
    return [validate_file(path, timeframe=timeframe) for path in data_files(paths)]
