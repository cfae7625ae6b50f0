"""The run folder: config, models, feature spec, data fingerprint, metrics, checksums."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import yaml

from edgecraft.core.errors import DataError, Problem
from edgecraft.features.featureset import FeatureSet
from edgecraft.research.config import RunConfig
from edgecraft.signals.ensemble import EnsembleScorer
from edgecraft.signals.live_ensemble import LiveEnsemble
from edgecraft.signals.onnx_ensemble import MANIFEST, export_ensemble, load_ensemble
from edgecraft.signals.onnx_scorer import ExportError, OnnxScorer, ParityError, export_scorer
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
    `samples`: per horizon, real feature rows its final model did not train on, for the ONNX
    parity check (a failed check raises `ParityError`; a model with no exporter is recorded in
    `onnx_export.json` and serving refuses it). `coverage`: per external channel, the span its
    data covers and what NaN means outside it."""
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
    exports = {}
    for horizon, fitted in models.items():
        joblib.dump(fitted, folder / "models" / f"model_{horizon}.joblib")
        write_json(
            folder / "models" / f"model_{horizon}.json",
            {"columns": fitted.columns, "horizon": horizon},
        )
        if samples is None or horizon not in samples:
            continue
        try:
            if isinstance(fitted, EnsembleScorer):
                files = export_ensemble(fitted, samples[horizon])
            else:
                files = {f"model_{horizon}.onnx": export_scorer(fitted, samples[horizon])}
        except ParityError:
            raise  # a deployable form that says other things than the model: fail the run
        except (ExportError, TypeError) as exc:  # no exporter: the run stands, serving refuses
            exports[horizon] = f"failed: {exc}"
            continue
        where = folder / "models"
        if isinstance(fitted, EnsembleScorer):
            where = where / f"ensemble_{horizon}"
            where.mkdir(exist_ok=True)
        for name, data in files.items():
            (where / name).write_bytes(data)
        exports[horizon] = "ok"
    write_json(folder / "onnx_export.json", exports)


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


def load_run(folder: Path) -> tuple[RunConfig, dict[str, Scorer]]:
    """Load a finished run's config and models, refusing files whose checksum does not match."""
    config = verify(folder)
    models = {
        h: joblib.load(folder / "models" / f"model_{h}.joblib") for h in config.label.horizons
    }
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
