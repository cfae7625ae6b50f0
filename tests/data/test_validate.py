"""`validate` rejects each kind of bad input by file, row and problem; it accepts the real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from edgecraft.cli.main import app
from edgecraft.core.errors import DataError
from edgecraft.data.bars import load_bar_file
from edgecraft.data.validate import data_files, validate_file
from tests.factories import make_bars, to_file_frame


@pytest.fixture
def good() -> pd.DataFrame:
    return to_file_frame(make_bars(50, seed=3))


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        out = frame.copy()
        if "timestamp" in out and isinstance(out["timestamp"].dtype, pd.DatetimeTZDtype):
            out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        out.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _set(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    out = frame.copy()
    out.loc[row, column] = value
    return out


MUTATIONS = {
    "nan": (lambda f: _set(f, 7, "close", np.nan), 8, "close is missing \\(NaN\\)"),
    "non_positive_price": (
        lambda f: _set(_set(f, 4, "low", -1.0), 4, "open", -1.0),
        5,
        "low must be > 0, was -1.0",
    ),
    "negative_volume": (lambda f: _set(f, 9, "volume", -3.0), 10, "volume must be >= 0, was -3.0"),
    "high_below_low": (lambda f: _set(f, 11, "high", f.loc[11, "low"] * 0.5), 12, "is below low"),
    "open_outside_range": (
        lambda f: _set(f, 12, "open", f.loc[12, "high"] * 1.1),
        13,
        "open .* is outside \\[low",
    ),
    "close_outside_range": (
        lambda f: _set(f, 13, "close", f.loc[13, "low"] * 0.9),
        14,
        "close .* is outside \\[low",
    ),
    "duplicate_timestamp": (
        lambda f: _set(f, 20, "timestamp", f.loc[19, "timestamp"]),
        21,
        "duplicate timestamp .* \\(same as row 20\\)",
    ),
    "out_of_order": (
        lambda f: _set(f, 30, "timestamp", f.loc[2, "timestamp"]),
        31,
        "out of order: earlier than row 30",
    ),
    "off_grid": (
        lambda f: _set(f, 40, "timestamp", f.loc[40, "timestamp"] + pd.Timedelta("17min")),
        41,
        "is not on the 1h grid",
    ),
}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_validate_reports_file_row_and_problem(kind, suffix, good, tmp_path):
    mutate, row, pattern = MUTATIONS[kind]
    path = _write(mutate(good), tmp_path / f"BTCUSDT-1h{suffix}")
    report = validate_file(path)
    assert not report.ok
    hits = [
        p
        for p in report.problems
        if p.row == row and pd.Series([p.message]).str.contains(pattern).iloc[0]
    ]
    assert hits, [str(p) for p in report.problems]
    assert str(hits[0]).startswith(f"{path}: row {row}: ")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_good_file_passes_and_gaps_are_notes(good, tmp_path, suffix):
    path = _write(good.drop(index=[10, 11, 30]), tmp_path / f"BTCUSDT-1h{suffix}")
    report = validate_file(path)
    assert report.ok, [str(p) for p in report.problems]
    assert len([n for n in report.notes if n.startswith("gap: 2 missing 1h")]) == 1
    assert len([n for n in report.notes if n.startswith("gap: 1 missing 1h")]) == 1


def test_missing_extra_and_mistyped_columns(good, tmp_path):
    frame = good.drop(columns=["high"]).assign(foo=1.0, close=good["close"].astype(str))
    report = validate_file(_write(frame, tmp_path / "BTCUSDT-1h.parquet"))
    messages = [p.message for p in report.problems]
    assert any(m.startswith("missing column 'high'") for m in messages)
    assert any(m.startswith("unexpected column 'foo'") for m in messages)
    assert any("column 'close' has type object, expected float" in m for m in messages)


def test_csv_cells_that_do_not_parse_are_reported_by_row(good, tmp_path):
    path = _write(good, tmp_path / "BTCUSDT-1h.csv")
    lines = path.read_text().splitlines()
    cells = lines[6].split(",")
    cells[4] = "abc"
    lines[6] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    report = validate_file(path)
    assert any(
        p.row == 6 and "close 'abc' is not a valid float" in p.message for p in report.problems
    ), [str(p) for p in report.problems]


def test_naive_timestamps_are_rejected(good, tmp_path):
    naive = good.assign(timestamp=good["timestamp"].dt.tz_localize(None))
    parquet = validate_file(_write(naive, tmp_path / "BTCUSDT-1h.parquet"))
    assert any("naive timestamps" in p.message for p in parquet.problems)
    csv = tmp_path / "ETHUSDT-1h.csv"
    naive.assign(timestamp=naive["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(
        csv, index=False
    )
    report = validate_file(csv)
    assert any(p.row == 1 and "is a naive timestamp" in p.message for p in report.problems)


def test_epoch_millisecond_timestamps_are_accepted(good, tmp_path):
    frame = good.assign(timestamp=good["timestamp"].astype("int64") // 1_000_000)
    assert validate_file(_write(frame, tmp_path / "BTCUSDT-1h.csv")).ok


def test_truncated_and_unreadable_files(good, tmp_path):
    whole = _write(good, tmp_path / "BTCUSDT-1h.parquet")
    cut = tmp_path / "cut-1h.parquet"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert validate_file(cut).problems[0].message.startswith("unreadable or truncated file")
    empty = tmp_path / "empty-1h.csv"
    empty.write_text("")
    assert validate_file(empty).problems[0].message == "file is empty"
    csv = _write(good, tmp_path / "BTCUSDT-1h.csv")
    text = csv.read_text()
    csv.write_text(text[: text.rindex(",")])  # the last row loses its volume
    report = validate_file(csv)
    assert any(p.row == 50 and "volume" in p.message for p in report.problems), report.problems


def test_header_only_and_epoch_seconds_are_rejected(good, tmp_path):
    header = tmp_path / "BTCUSDT-1h.csv"
    header.write_text("timestamp,open,high,low,close,volume\n")
    assert [p.message for p in validate_file(header).problems] == ["no data rows (only a header)"]
    seconds = good.assign(timestamp=good["timestamp"].astype("int64") // 1_000_000_000)
    report = validate_file(_write(seconds, tmp_path / "ETHUSDT-1h.csv"))
    assert any(p.row == 1 and "is not epoch milliseconds" in p.message for p in report.problems)


def test_unknown_schema_is_an_error(tmp_path):
    path = tmp_path / "x.csv"
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(path, index=False)
    assert "match no known schema" in validate_file(path).problems[0].message


def test_loading_refuses_a_bad_file_and_converts_open_to_close_time(good, tmp_path):
    path = _write(good, tmp_path / "BTC_USDT-1h.csv")
    bars = load_bar_file(path)
    assert bars.index.names == ["ts", "symbol"]
    assert bars.index[0] == (good["timestamp"][0] + pd.Timedelta("1h"), "BTC/USDT")
    bad = _write(_set(good, 3, "close", np.nan), tmp_path / "BTC_USDT-4h.csv")
    with pytest.raises(DataError, match=r"row 4: close is missing \(NaN\)"):
        load_bar_file(bad, timeframe="1h")


def test_long_file_with_symbol_column_is_checked_per_symbol(good, tmp_path):
    frame = pd.concat([good.assign(symbol="BTCUSDT"), good.assign(symbol="ETHUSDT")])
    path = _write(frame, tmp_path / "pairs-1h.parquet")
    bars = load_bar_file(path)
    assert sorted(bars.index.get_level_values("symbol").unique()) == ["BTC/USDT", "ETH/USDT"]


def test_cli_validate_exit_codes(good, tmp_path):
    runner = CliRunner()
    bad = _write(_set(good, 7, "close", np.nan), tmp_path / "BTCUSDT-1h.csv")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert f"FAIL {bad}: row 8: close is missing (NaN)" in result.output
    ok = _write(good, tmp_path / "ETHUSDT-1h.parquet")
    assert runner.invoke(app, ["validate", str(ok)]).exit_code == 0


def test_cli_validate_accepts_every_file_of_the_real_data(layout):
    result = CliRunner().invoke(app, ["validate", str(layout.root)])
    assert result.exit_code == 0, result.output[-2000:]
    count = len(data_files([layout.root]))
    assert count >= 70 and f"{count} of {count} file(s) valid" in result.output
