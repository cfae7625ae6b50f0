"""Prefect flows, embedded: train registers the champion; a crash mid-retrain leaves it alone."""

from __future__ import annotations

import pytest
import yaml
from mlflow.tracking import MlflowClient

from edgecraft.core.errors import DataError
from edgecraft.operations.flows import paper_flow, retrain_flow, train_flow
from edgecraft.operations.paper import PromotionRule
from edgecraft.operations.tracking import CHALLENGER, CHAMPION, alias_version, set_alias

TINY = {
    "name": "flow-test",
    "symbols": ["BTC/USDT", "ETH/USDT"],
    "start": "2023-01-01",
    "end": "2024-03-31",
    "features": {"timeframes": ["1h"]},
    "label": {"horizons": ["24h"]},
    "model": {"name": "lgbm", "params": {"n_estimators": 20, "min_child_samples": 300}},
    "validation": {"test_length": "120d", "min_train": "240d"},
}


def test_train_then_a_crashing_retrain_leaves_the_champion(layout, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    trained = train_flow(config, layout.root, tmp_path / "runs", uri)
    assert alias_version("edgecraft-flow-test", CHAMPION, uri) == trained["version"] == "1"

    # a data folder whose ETH file is cut in half: the retrain dies inside its training task
    broken = tmp_path / "broken" / "ohlcv" / "spot_1h"
    broken.mkdir(parents=True)
    for path in (layout.root / "ohlcv" / "spot_1h").glob("*.parquet"):
        payload = path.read_bytes()
        (broken / path.name).write_bytes(
            payload[: len(payload) // 2] if "ETH" in path.name else payload
        )
    with pytest.raises(DataError):
        retrain_flow(config, tmp_path / "broken", tmp_path / "runs", uri)  # after its retries
    assert alias_version("edgecraft-flow-test", CHAMPION, uri) == "1"
    assert alias_version("edgecraft-flow-test", CHALLENGER, uri) is None

    retrained = retrain_flow(config, layout.root, tmp_path / "runs", uri, "2024-05-31")
    assert retrained["version"] == "2"
    assert alias_version("edgecraft-flow-test", CHALLENGER, uri) == "2"
    assert alias_version("edgecraft-flow-test", CHAMPION, uri) == "1"

    # a rule that only asks for a better median Sharpe: one of the two orders must promote
    lenient = PromotionRule(min_trades=0, confidence=1e-6, resamples=200, min_dsr=-1.0)
    ledger = f"sqlite:///{tmp_path / 'paper.db'}"
    name = "edgecraft-flow-test"
    for champion, challenger in (("1", "2"), ("2", "1")):
        set_alias(name, CHAMPION, champion, uri)
        set_alias(name, CHALLENGER, challenger, uri)
        evidence = paper_flow(name, layout.root, "2024-06-01", "2024-09-30", uri, ledger, lenient)
        assert (
            MlflowClient(uri).get_run(evidence["mlflow_run"]).data.tags["edgecraft.decision"]
            == evidence["decision"]
        )
        if evidence["decision"] == "promote":
            assert alias_version(name, CHAMPION, uri) == challenger
            assert alias_version(name, "previous-champion", uri) == champion
            break
        assert alias_version(name, CHAMPION, uri) == champion
    else:
        raise AssertionError("neither order promoted: the Sharpe difference cannot be 0 twice")


def test_the_cycle_deploys_on_a_cron_schedule(tmp_path):
    from edgecraft.operations.flows import cycle_deployment

    deployment = cycle_deployment(tmp_path / "c.yaml", None, tmp_path, "0 6 * * *", 14)
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "0 6 * * *"
    assert deployment.parameters["paper_days"] == 14
