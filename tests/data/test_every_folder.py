"""Every folder of the data layout: a file whose columns its loader cannot use is refused by
`edgecraft validate` and by the loader alike, with the file named; the two never disagree."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from edgecraft.core.errors import DataError
from edgecraft.data.layout import DataLayout
from edgecraft.data.validate import validate_file

# folder/file under the data root, the column taken out, and how the system reads that file
CASES = [
    ("ohlcv/spot_1h", "BTCUSDT", "close", lambda d: d.load_bars("spot", "1h", ["BTC/USDT"])),
    ("ohlcv/perp_1h", "BTCUSDT", "high", lambda d: d.load_bars("perp", "1h", ["BTC/USDT"])),
    ("funding", "BTCUSDT", "funding_rate", lambda d: d.load_funding("BTC/USDT")),
    ("sentiment", "alternative_me", "value", lambda d: d.load_fear_greed()),
    ("onchain", "coinmetrics_btc", "date", lambda d: d.external.series("chain_active", "BTC")),
    ("microstructure", "spot_BTCUSDT_trades", "price", lambda d: d.recordings("spot", "BTC/USDT")),
]


@pytest.mark.parametrize(("folder", "match", "column", "load"), CASES, ids=[c[0] for c in CASES])
def test_a_file_its_loader_cannot_use_is_refused_by_both_naming_it(
    tmp_path, layout, folder, match, column, load
):
    source = next(p for p in sorted((layout.root / folder).glob("*")) if match in p.name)
    root = tmp_path / "data"
    (root / folder).mkdir(parents=True)
    if folder.startswith("ohlcv"):  # the loaders read the spot folder's pairs for references
        spot = root / "ohlcv" / "spot_1h"
        spot.mkdir(parents=True, exist_ok=True)
    target = root / folder / source.name
    shutil.copy(source, target)
    assert validate_file(target).ok, "the untouched copy is valid"
    load(DataLayout(root))  # and readable

    frame = pd.read_parquet(target)
    assert column in frame, (column, list(frame.columns))
    frame.drop(columns=[column]).to_parquet(target, index=False)
    report = validate_file(target)
    assert not report.ok and report.file == str(target)
    with pytest.raises(DataError) as caught:
        load(DataLayout(root))
    assert source.name in str(caught.value), str(caught.value)
