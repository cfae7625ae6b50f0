"""The run report's feature-family ablation, end to end on a slice of the real data."""

from __future__ import annotations

import json

import pandas as pd
import yaml
from typer.testing import CliRunner

from edgecraft.cli.main import app
from edgecraft.research.ablation import ablation_markdown
from tests.conftest import SMALL_RUN


def test_ablation_reports_each_family_where_it_has_history(tmp_path):
    config = {
        **SMALL_RUN,
        "name": "ablation",
        "label": {"horizons": ["4h"]},
        "features": {
            "timeframes": ["1h", "4h"],
            "features": [
                {"name": n}
                for n in ("logret", "rsi", "atr", "versus_reference", "funding", "fear_greed")
                + ("onchain_active", "stablecoin_dominance", "taker_flow")
            ],
        },
        "ablation": True,
    }
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(
        app, ["run", "--config", str(path), "--out", str(tmp_path / "runs"), "--no-track"]
    )
    assert result.exit_code == 0, result.output
    folder = next((tmp_path / "runs").iterdir())
    metrics = json.loads((folder / "metrics.json").read_text())
    ablation = metrics["horizons"]["4h"]["ablation"]
    rows = {r["family"]: r for r in ablation["families"]}
    assert set(rows) == {"tech", "cross", "funding", "sentiment", "onchain", "market", "micro"}
    # on-chain history ends 2020-07: no row of 2022-2024 has it, so it cannot be judged there
    assert rows["onchain"]["rows_with_family"] == 0
    assert rows["onchain"]["gain_on_family_rows"]["rank_ic"] is None
    # stablecoin dominance is covered to 2023-02 only: judged on those rows
    market = rows["market"]
    assert 0 < market["rows_with_family"] < market["rows"]
    last_known = pd.Timestamp("2023-02-01", tz="UTC") + pd.Timedelta("26h") + pd.Timedelta("72h")
    assert pd.Timestamp(market["span_with_family"][1]) == last_known
    # the technical family is what the model mostly reads: without it the IC must change
    tech = rows["tech"]
    assert tech["with"]["rank_ic"] != tech["without"]["rank_ic"]
    assert tech["gain"]["rank_ic"] == tech["with"]["rank_ic"] - tech["without"]["rank_ic"]
    assert "Feature-family ablation" in (folder / "report.html").read_text()
    table = ablation_markdown(ablation)
    assert table.count("\n| ") == len(rows) + 1
    spec = json.loads((folder / "feature_spec.json").read_text())
    assert "not available" in spec["channels"]["stable_dominance"]["market"]["note"]
