"""Read a CSV or Parquet file into typed columns, reporting every cell that will not parse."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from edgecraft.core.errors import Problem
from edgecraft.data.schemas import Schema

_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|\s*UTC)$", re.IGNORECASE)
# integer epoch timestamps are read as milliseconds (Binance's unit); plausible span 2009..2100
_EPOCH_MS_RANGE = (1_230_768_000_000, 4_102_444_800_000)
_MAX_CELL_PROBLEMS = 200  # per column: a wholly broken column is reported by its first cells


def read_raw(path: Path) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read the file as it is: Parquet with its own types, CSV as text (parsed later, per cell)."""
    name = str(path)
    if not path.exists():
        return None, [Problem(name, None, "file does not exist")]
    if path.stat().st_size == 0:
        return None, [Problem(name, None, "file is empty")]
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pq.read_table(path).to_pandas(), []
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[]), []
        if suffix == ".feather":
            return pd.read_feather(path), []
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        return None, [Problem(name, None, f"unreadable CSV: {_one_line(exc)}")]
    except Exception as exc:  # pyarrow raises several types for truncated or corrupt files
        return None, [Problem(name, None, f"unreadable or truncated file: {_one_line(exc)}")]
    return None, [
        Problem(
            name, None, f"unsupported file type {suffix!r}; expected .csv, .parquet or .feather"
        )
    ]


def typed_columns(
    raw: pd.DataFrame, schema: Schema, file: str, from_text: bool = False
) -> tuple[pd.DataFrame, list[Problem]]:
    """Convert each known column to its schema type; bad cells become NaN/NaT and are reported.

    `from_text`: the frame came from a text file (CSV), so every cell is parsed from its text;
    otherwise (Parquet, frames in memory) a column of the wrong type is itself the problem.
    """
    problems: list[Problem] = []
    out = {}
    for column in raw.columns:
        kind = schema.column_type(column)
        if kind is None:
            continue
        convert = _from_text if from_text else _from_typed
        values, found = convert(raw[column], kind, column, file)
        out[column] = values
        problems += found
    return pd.DataFrame(out, index=pd.RangeIndex(len(raw))), problems


def _from_typed(col: pd.Series, kind: str, name: str, file: str) -> tuple[pd.Series, list[Problem]]:
    dtype = col.dtype
    if kind == "time":
        if isinstance(dtype, pd.DatetimeTZDtype):
            return col.dt.tz_convert("UTC"), []
        if pd.api.types.is_datetime64_dtype(dtype):
            return col.dt.tz_localize("UTC"), [
                Problem(
                    file,
                    None,
                    f"column {name!r} holds naive timestamps (no timezone); expected UTC",
                )
            ]
        if pd.api.types.is_integer_dtype(dtype):
            return _epoch_ms(col.astype("int64"), name, file)
    elif kind == "float" and (
        pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)
    ):
        return col.astype("float64"), []
    elif kind == "int" and pd.api.types.is_integer_dtype(dtype):
        return col.astype("int64"), []
    elif kind == "bool" and pd.api.types.is_bool_dtype(dtype):
        return col.astype(bool), []
    elif kind == "str" and (dtype is np.dtype(object) or pd.api.types.is_string_dtype(dtype)):
        return col.astype(object), []
    expected = {
        "time": "a UTC timestamp",
        "float": "float",
        "int": "integer",
        "bool": "boolean",
        "str": "string",
    }[kind]
    return _empty(col, kind), [
        Problem(file, None, f"column {name!r} has type {dtype}, expected {expected}")
    ]


def _from_text(col: pd.Series, kind: str, name: str, file: str) -> tuple[pd.Series, list[Problem]]:
    text = col.str.strip()
    blank = text.eq("")
    # an empty numeric cell is a missing value, reported once by the value checks
    problems = (
        []
        if kind in ("float", "int")
        else [Problem(file, int(i) + 1, f"{name} is empty") for i in np.flatnonzero(blank)]
    )
    if kind == "str":
        return text.where(~blank, None), problems[:_MAX_CELL_PROBLEMS]
    if kind == "time":
        if text[~blank].str.fullmatch(r"-?\d+").all():
            values, found = _epoch_ms(
                pd.to_numeric(text.where(~blank), errors="coerce"), name, file
            )
            return values, (problems + found)[:_MAX_CELL_PROBLEMS]
        naive = ~blank & ~text.str.contains(_TZ_SUFFIX)
        problems += [
            Problem(
                file,
                int(i) + 1,
                f"{name} {text.iloc[i]!r} is a naive timestamp; "
                "expected an explicit UTC offset such as "
                "2024-01-01T00:00:00Z",
            )
            for i in np.flatnonzero(naive)
        ]
        values = pd.to_datetime(
            text.where(~blank & ~naive), utc=True, errors="coerce", format="ISO8601"
        )
        bad = ~blank & ~naive & values.isna()
    elif kind == "bool":
        mapped = text.str.lower().map({"true": True, "false": False, "1": True, "0": False})
        bad = ~blank & mapped.isna()
        values = mapped
    else:
        values = pd.to_numeric(text.where(~blank), errors="coerce")
        bad = ~blank & values.isna() & ~text.str.lower().isin(["nan", "inf", "-inf"])
        if kind == "int":
            frac = values.notna() & (values != np.floor(values))
            bad |= frac
    problems += [
        Problem(file, int(i) + 1, f"{name} {text.iloc[i]!r} is not a valid {kind}")
        for i in np.flatnonzero(bad)
    ]
    if kind in ("float", "int"):
        values = values.where(~bad).astype("float64")
    return values, sorted(problems, key=lambda p: p.row or 0)[:_MAX_CELL_PROBLEMS]


def _epoch_ms(values: pd.Series, name: str, file: str) -> tuple[pd.Series, list[Problem]]:
    low, high = _EPOCH_MS_RANGE
    out_of_range = values.notna() & ((values < low) | (values > high))
    problems = [
        Problem(
            file,
            int(i) + 1,
            f"{name} {int(values.iloc[i])} is not epoch milliseconds between 2009 and 2100",
        )
        for i in np.flatnonzero(out_of_range)[:_MAX_CELL_PROBLEMS]
    ]
    ms = values.where(~out_of_range)
    return pd.to_datetime(ms, unit="ms", utc=True), problems


def _empty(col: pd.Series, kind: str) -> pd.Series:
    if kind == "time":
        return pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns, UTC]")
    return pd.Series(np.nan, index=col.index, dtype="float64")


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
