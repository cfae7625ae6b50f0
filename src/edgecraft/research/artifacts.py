"""The run folder: config, models, feature spec, data fingerprint, metrics, checksums."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from edgecraft.core.errors import DataError, Problem
from edgecraft.features.featureset import FeatureSet
from edgecraft.models.registry import lookback
from edgecraft.research.config import RunConfig
from edgecraft.signals.deployed import Deployed
from edgecraft.signals.ensemble import EnsembleScorer
from edgecraft.signals.live_ensemble import LiveEnsemble
from edgecraft.signals.onnx_ensemble import (
    MANIFEST,
    export_ensemble,
    export_sequence,
    load_ensemble,
)
from edgecraft.signals.onnx_scorer import ExportError, OnnxScorer, export_scorer
from edgecraft.signals.scorer import Scorer

CHECKSUMS = "checksums.json"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(files: list[Path], bars: pd.DataFrame) -> dict[str, Any]:
    """What data the run saw: each file's hash and size, and the bars' span and count."""
    ts = bars.index.get_level_values("ts")
    return {
        "files": {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in sorted(files)},
        "rows": int(len(bars)),
        "first": str(ts.min()) if len(ts) else None,
        "last": str(ts.max()) if len(ts) else None,
    }


def git_sha() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, default=str, allow_nan=False))


def save_run(
    folder: Path,
    config: RunConfig,
    features: FeatureSet,
    models: dict[str, Scorer],
    data_fingerprint: dict[str, Any],
    samples: dict[str, pd.DataFrame] | None = None,
    coverage: dict | None = None,
) -> None:
    """Write config, feature spec, models and fingerprint (metrics and report come later).

    Models are written as they are deployed, never pickled: per horizon, ONNX graphs (one for
    a tabular model with its calibrator, or an ensemble's folder `ensemble_<h>/`, or a sequence
    model's) and `model_<h>.json` (columns, horizon, feature importance). `samples`: per
    horizon, real feature rows its final model did not train on, on which every graph is
    checked against the training libraries; a model that cannot be exported, or whose export
    disagrees with it (`ParityError`), fails the run with the horizon named. `coverage`: per
    external channel, the span its data covers and what NaN means outside it."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(
        yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    )
    write_json(
        folder / "feature_spec.json",
        {
            "columns": features.columns,
            "warmup_bars": features.warmup,
            "base_timeframe": features.base_timeframe,
            "groups": [
                {
                    "timeframe": g.timeframe,
                    "columns": list(g.columns),
                    "features": [repr(f) for f in g.features],
                }
                for g in features.groups
            ],
            "channels": coverage or {},
        },
    )
    write_json(folder / "fingerprint.json", {**data_fingerprint, "git_sha": git_sha()})
    bar = pd.Timedelta(features.base_timeframe)
    for horizon, fitted in models.items():
        sample = (samples or {}).get(horizon)
        if sample is None:
            raise ExportError(f"the {horizon} model: no held-out rows to check its export on")
        try:
            files, where = _deployable(fitted, sample, bar), folder / "models"
        except ExportError as exc:
            # the same kind (ParityError: the export says other things than the model)
            raise type(exc)(f"the {horizon} model cannot be deployed: {exc}") from exc
        if MANIFEST in files:
            where = where / f"ensemble_{horizon}"
            where.mkdir(exist_ok=True)
        for name, data in files.items():
            (where / name).write_bytes(data)
        importance = fitted.feature_importance()
        write_json(
            folder / "models" / f"model_{horizon}.json",
            {
                "columns": list(fitted.columns),
                "horizon": horizon,
                "importance": None if importance is None else importance.to_dict(),
            },
        )
    write_json(folder / "onnx_export.json", dict.fromkeys(models, "ok"))


def _deployable(fitted, sample: pd.DataFrame, bar: pd.Timedelta) -> dict[str, bytes]:
    """File name -> bytes of a fitted model's ONNX form (ExportError: no exporter for it)."""
    if isinstance(fitted, EnsembleScorer):
        return export_ensemble(fitted, sample)
    if isinstance(fitted, Scorer) and lookback(fitted.model) > 1:
        return export_sequence(fitted, sample, bar)
    try:
        return {f"model_{fitted.horizon}.onnx": export_scorer(fitted, sample)}
    except TypeError as exc:  # a model kind the converters do not know
        raise ExportError(str(exc)) from exc


def seal(folder: Path) -> None:
    """Record the SHA-256 of every file in the run folder."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS)
    write_json(folder / CHECKSUMS, {str(p.relative_to(folder)): sha256(p) for p in files})


def verify(folder: Path) -> RunConfig:
    """Check every file of a finished run against its SHA-256; return the run's config."""
    sums_path = folder / CHECKSUMS
    if not sums_path.exists():
        raise DataError([Problem(str(folder), None, "not a finished run: no checksums.json")])
    sums = json.loads(sums_path.read_text())
    bad = [
        Problem(str(folder / name), None, "checksum mismatch: the file changed after the run")
        for name, digest in sums.items()
        if not (folder / name).exists() or sha256(folder / name) != digest
    ]
    if bad:
        raise DataError(bad)
    return RunConfig(**yaml.safe_load((folder / "config.yaml").read_text()))


def load_run(folder: Path, threads: int = 1) -> tuple[RunConfig, dict[str, Deployed]]:
    """A finished run's config and, per horizon, its deployed models on ONNX Runtime, refusing
    files whose checksum does not match."""
    config = verify(folder)
    models = {}
    for h in config.label.horizons:
        spec = json.loads((folder / "models" / f"model_{h}.json").read_text())
        importance = spec.get("importance")
        models[h] = Deployed(
            load_onnx_scorer(folder, h, threads),
            None if importance is None else pd.Series(importance, dtype=float),
        )
    return config, models


def trained_to(folder: Path) -> pd.Timestamp:
    """The last bar a finished run trained on (the `last` of its data fingerprint)."""
    return pd.Timestamp(json.loads((folder / "fingerprint.json").read_text())["last"])


def load_onnx_scorer(folder: Path, horizon: str, threads: int = 1) -> OnnxScorer | LiveEnsemble:
    """The ONNX Runtime scorer of one horizon of a finished, checksum-verified run: a single
    model's graph, or an ensemble's graphs streamed bar by bar."""
    ensemble = folder / "models" / f"ensemble_{horizon}"
    if (ensemble / MANIFEST).exists():
        files = {p.name: p.read_bytes() for p in ensemble.iterdir() if p.is_file()}
        try:
            return load_ensemble(files, threads)
        except (ValueError, KeyError) as exc:
            raise DataError([Problem(str(ensemble / MANIFEST), None, str(exc))]) from exc
    path = folder / "models" / f"model_{horizon}.onnx"
    if not path.exists():
        status = json.loads((folder / "onnx_export.json").read_text()).get(horizon, "missing")
        raise DataError([Problem(str(path), None, f"no ONNX model for {horizon}: {status}")])
    spec = json.loads((folder / "models" / f"model_{horizon}.json").read_text())
    return OnnxScorer(path.read_bytes(), spec["columns"], horizon, threads)
