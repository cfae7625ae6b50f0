"""Files whose pair comes from their name: `edgecraft validate` and the loaders read the same
names and refuse the same files, naming them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.core.errors import DataError
from edgecraft.data.layout import DataLayout
from edgecraft.data.validate import validate_paths


def _folder(tmp_path, layout, taker_name: str | None, extra_bar: str | None = None):
    root = tmp_path / "data"
    bars = root / "ohlcv" / "spot_1h"
    bars.mkdir(parents=True)
    source = layout.bar_files("spot", "1h")["BTC/USDT"]
    frame = pd.read_parquet(source).iloc[-500:].reset_index(drop=True)
    frame.to_parquet(bars / source.name, index=False)
    if extra_bar is not None:
        frame.to_parquet(bars / extra_bar, index=False)
    if taker_name is not None:
        (root / "taker_flow").mkdir()
        # a kline export with its taker-buy column, as `edgecraft validate` accepts it
        export = frame.assign(taker_buy_volume=frame["volume"] * 0.4)
        export.to_parquet(root / "taker_flow" / taker_name, index=False)
    return root


def _refusals(root) -> dict[str, str]:
    return {r.file: r.problems[0].message for r in validate_paths([root]) if not r.ok}


def test_a_kline_export_in_taker_flow_is_read_by_its_name(tmp_path, layout):
    root = _folder(tmp_path, layout, "binance_spot_BTCUSDT_1h_klines_full.parquet")
    assert _refusals(root) == {}
    bars = DataLayout(root).load_bars("spot", "1h", ["BTC/USDT"])
    np.testing.assert_allclose(bars["taker_buy_volume"], bars["volume"] * 0.4)


@pytest.mark.parametrize(
    ("taker_name", "extra_bar", "refused"),
    [
        ("klines_full.parquet", None, "taker_flow/klines_full.parquet"),
        (None, "mystery.parquet", "spot_1h/mystery.parquet"),
    ],
)
def test_a_file_whose_pair_cannot_be_read_is_refused_alike(
    tmp_path, layout, taker_name, extra_bar, refused
):
    root = _folder(tmp_path, layout, taker_name, extra_bar)
    refusals = _refusals(root)
    (file,) = refusals
    assert file.endswith(refused) and "which pair" in refusals[file]
    with pytest.raises(DataError) as caught:
        DataLayout(root).load_bars("spot", "1h", ["BTC/USDT"])
    assert refused in str(caught.value) and "which pair" in str(caught.value)
