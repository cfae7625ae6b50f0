"""MLflow experiment tracking and the model registry (aliases `champion` and `challenger`).

Every finished run folder is logged as one MLflow run: the resolved config (as params and as a
file), the data fingerprint, the aggregate and per-window metrics, the report, the ONNX models,
and the whole folder as the artifact `run` (what `serve` needs, checksums included). A
registered model version points at that artifact; aliases name the deployed one (`champion`)
and the one on trial (`challenger`). The store is `--tracking-uri`, else `MLFLOW_TRACKING_URI`,
else a sqlite file `mlflow.db` in the working directory; PostgreSQL works by URI
(`postgresql://user@127.0.0.1:5432/db`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from edgecraft.core.errors import ConfigError

DEFAULT_URI = "sqlite:///mlflow.db"
CHAMPION, CHALLENGER = "champion", "challenger"


def tracking_uri(uri: str | None = None) -> str:
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def model_name(run_name: str) -> str:
    """The registered model of a config name: `edgecraft-<name>`."""
    return f"edgecraft-{run_name}"


@dataclass(frozen=True)
class Tracked:
    run_id: str
    model_name: str
    version: str


def _client(uri: str | None) -> MlflowClient:
    """The client of the store at `uri`, made the current one; artifact transfers log no
    progress bars (unless the environment asks for them)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    resolved = tracking_uri(uri)
    mlflow.set_tracking_uri(resolved)
    return MlflowClient(resolved)


def artifact_root(uri: str | None = None) -> Path:
    """Where artifacts of new experiments go: `EDGECRAFT_MLFLOW_ARTIFACTS`, else `mlartifacts`
    next to a sqlite store's file, else `./mlartifacts` (MLflow's own default, `./mlruns` in the
    working directory, would scatter artifacts wherever a command happens to run)."""
    if os.environ.get("EDGECRAFT_MLFLOW_ARTIFACTS"):
        return Path(os.environ["EDGECRAFT_MLFLOW_ARTIFACTS"]).resolve()
    resolved = tracking_uri(uri)
    if resolved.startswith("sqlite:///"):
        return Path(resolved.removeprefix("sqlite:///")).resolve().parent / "mlartifacts"
    return Path("mlartifacts").resolve()


def _experiment(client: MlflowClient, name: str, uri: str | None) -> None:
    if client.get_experiment_by_name(name) is None:
        folder = artifact_root(uri) / name.replace("/", "_")
        client.create_experiment(name, artifact_location=folder.as_uri())
    mlflow.set_experiment(name)


def _flatten(value, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): json.dumps(value)[:500]}


def _scalars(values: dict, prefix: str) -> dict[str, float]:
    return {
        f"{prefix}{k}": float(v)
        for k, v in values.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and v == v
    }


def log_run(folder: Path, uri: str | None = None, register: bool = True) -> Tracked:
    """Log a finished run folder to MLflow and (by default) register it as a new version."""
    folder = Path(folder)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    fingerprint = json.loads((folder / "fingerprint.json").read_text())
    client = _client(uri)
    _experiment(client, f"edgecraft/{config['name']}", uri)
    data_sha = hashlib.sha256(json.dumps(fingerprint["files"], sort_keys=True).encode())
    with mlflow.start_run(run_name=folder.name) as active:
        mlflow.log_params(_flatten(config))
        mlflow.set_tags(
            {
                "edgecraft.run_folder": str(folder.resolve()),
                "edgecraft.data_sha256": data_sha.hexdigest(),
                "edgecraft.data_last_bar": str(fingerprint.get("last")),
                "edgecraft.git_sha": str(fingerprint.get("git_sha")),
            }
        )
        mlflow.log_dict(fingerprint, "fingerprint.json")
        for horizon, values in metrics["horizons"].items():
            mlflow.log_metrics(_scalars(values, f"{horizon}.") or {})
            for window in values.get("windows", []):
                for key in ("ic", "rank_ic", "hit_rate"):
                    if window.get(key) is not None:
                        mlflow.log_metric(f"{horizon}.window.{key}", window[key], window["window"])
            for part, parts in values.get("components", {}).get("members", {}).items():
                mlflow.log_metrics(_scalars(parts, f"{horizon}.member.{part}."))
        backtest = metrics.get("backtest") or {}
        mlflow.log_metrics(_scalars(backtest.get("net", {}), "backtest.net."))
        mlflow.log_artifact(str(folder / "report.html"))
        for onnx in sorted((folder / "models").glob("*.onnx")):
            mlflow.log_artifact(str(onnx), "onnx")
        mlflow.log_artifacts(str(folder), "run")
        run_id = active.info.run_id
    name = model_name(config["name"])
    version = ""
    if register:
        try:
            client.get_registered_model(name)
        except MlflowException:
            client.create_registered_model(name, description="edgecraft run folders")
        source = f"{client.get_run(run_id).info.artifact_uri}/run"
        version = client.create_model_version(name, source, run_id).version
    return Tracked(run_id, name, str(version))


def set_alias(name: str, alias: str, version: str, uri: str | None = None) -> None:
    _client(uri).set_registered_model_alias(name, alias, str(version))


def clear_alias(name: str, alias: str, uri: str | None = None) -> None:
    _client(uri).delete_registered_model_alias(name, alias)


def alias_version(name: str, alias: str, uri: str | None = None) -> str | None:
    """The version an alias points at, or None when it is not set."""
    try:
        return str(_client(uri).get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def fetch_run(name: str, alias: str, uri: str | None = None, into: Path | None = None) -> Path:
    """Download the run folder that `name@alias` points at; returns the local folder."""
    client = _client(uri)
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        raise ConfigError(f"no model version {name}@{alias} in {tracking_uri(uri)}") from exc
    target = Path(into or tempfile.mkdtemp(prefix="edgecraft-model-"))
    target.mkdir(parents=True, exist_ok=True)
    local = mlflow.artifacts.download_artifacts(
        run_id=version.run_id, artifact_path="run", dst_path=str(target)
    )
    return Path(local)


def log_decision(experiment: str, evidence: dict, uri: str | None = None) -> str:
    """Log a promotion decision and its evidence as an MLflow run; returns its id."""
    _experiment(_client(uri), experiment, uri)
    with mlflow.start_run(run_name=f"decision-{evidence.get('decision', 'unknown')}") as active:
        mlflow.set_tags({f"edgecraft.{k}": str(v) for k, v in evidence.items() if k != "arms"})
        mlflow.log_metrics(_scalars(evidence, ""))
        mlflow.log_dict(evidence, "decision.json")
        return active.info.run_id
