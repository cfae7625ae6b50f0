"""`edgecraft lookahead` on real data: the default path is clean, and a feature planted to read
one bar ahead is named, with the signals it moves."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
from typer.testing import CliRunner

from edgecraft.cli.main import app
from edgecraft.features.base import Feature
from edgecraft.features.config import FeatureSpec
from edgecraft.features.registry import FEATURES
from edgecraft.research.config import RunConfig
from edgecraft.research.lookahead import lookahead_check


@nb.njit(cache=False)
def _next_log_return(state, params, x, out):  # pragma: no cover - compiled
    col = int(params[0])
    n = x.shape[0]
    for i in range(n):
        out[i, 0] = math.log(x[i + 1, col] / x[i, col]) if i + 1 < n else math.nan


@dataclass(frozen=True)
class NextLogReturn(Feature):
    """A bug a user could write: the batch kernel reads the next bar's close."""

    family = "tech"
    inputs = ("close",)
    kernel = _next_log_return

    @property
    def name(self) -> str:
        return "peek"

    @property
    def warmup(self) -> int:
        return 1

    @property
    def state_size(self) -> int:
        return 1


def _config(**extra) -> RunConfig:
    return RunConfig(
        symbols=["BTC/USDT", "ETH/USDT"],
        start="2023-06-01",
        end="2024-03-31",
        label={"horizons": ["24h"]},
        model={"name": "lgbm", "params": {"n_estimators": 40, "min_child_samples": 200}},
        **extra,
    )


def test_a_feature_reading_one_bar_ahead_is_named_and_the_default_path_is_clean(
    layout, monkeypatch
):
    clean = lookahead_check(_config(), layout.root, cuts=2)
    assert clean["findings"] == [], clean["findings"]
    assert clean["checked"]["features"] > 20
    monkeypatch.setitem(FEATURES, "peek", NextLogReturn)
    base = _config()
    leaky = base.features.model_copy(
        update={"features": [*base.features.features, FeatureSpec(name="peek")]}
    )
    config = _config(features=leaky.model_dump())
    result = lookahead_check(config, layout.root, cuts=2)
    named = {(f["kind"], f["name"]) for f in result["findings"]}
    features = {name for kind, name in named if kind == "feature"}
    assert features and all(name.startswith("tech_peek") for name in features), named
    assert {("signal", "BTC/USDT"), ("signal", "ETH/USDT")} & named  # the model leans on it
    assert not {n for k, n in named if k == "label"}


def test_lookahead_command_exits_1_and_lists_the_leak(layout, monkeypatch, tmp_path):
    monkeypatch.setitem(FEATURES, "peek", NextLogReturn)
    path = tmp_path / "leaky.yaml"
    path.write_text(
        "symbols: [BTC/USDT, ETH/USDT]\nstart: '2023-06-01'\nend: '2024-03-31'\n"
        "label: {horizons: [24h]}\nmodel: {name: lgbm, params: {n_estimators: 20}}\n"
        "features:\n  features:\n    - {name: logret}\n    - {name: atr}\n    - {name: peek}\n"
    )
    result = CliRunner().invoke(
        app, ["lookahead", "--config", str(path), "--data", str(layout.root), "--cuts", "1"]
    )
    assert result.exit_code == 1, result.output
    assert "LOOKAHEAD feature tech_peek" in result.output
