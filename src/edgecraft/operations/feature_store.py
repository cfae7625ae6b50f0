"""A Feast feature repository over edgecraft's feature Parquet files.

`edgecraft features --out DIR --feast REPO` writes the per-symbol feature files
(``DIR/features_{market}_{tf}/{SYMBOL}.parquet``, columns ts, symbol, features), then points a
Feast repository at that folder: the offline store reads the Parquet files themselves, one
feature view per family (technical, cross-asset, funding, sentiment, ...) on the entity
`symbol`, event time `ts` (the bar's close). After each build the last `online_window` of rows is
materialized into the online store: sqlite by default, Redis by URL
(``redis://127.0.0.1:6379/0``). Training can read point-in-time-correct frames through
`historical`; a server can read the newest values through `online`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import yaml
from feast import Entity, FeatureStore, FeatureView, Field, FileSource
from feast.types import Float64
from feast.value_type import ValueType

from edgecraft.features.base import family_of

PROJECT = "edgecraft"
TTL = timedelta(days=3)  # an online value older than this is stale, not served


def _online_store(online: str, repo: Path) -> dict:
    if online == "sqlite":
        return {"type": "sqlite", "path": str(repo / "online.db")}
    url = urlparse(online)
    if url.scheme != "redis":
        raise ValueError(f"online store must be 'sqlite' or redis://host:port/db, was {online!r}")
    db = (url.path or "/0").lstrip("/") or "0"
    return {
        "type": "redis",
        "connection_string": f"{url.hostname or '127.0.0.1'}:{url.port or 6379},db={db}",
    }


class FeatureRepo:
    """The Feast repository at `path` (created by `write`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def write(self, features_dir: Path, online: str = "sqlite") -> FeatureRepo:
        """feature_store.yaml, then entity and one view per family, registered (apply)."""
        files = sorted(Path(features_dir).glob("*.parquet"))
        if not files:
            raise ValueError(f"no feature Parquet files in {features_dir}")
        self.path.mkdir(parents=True, exist_ok=True)
        settings = {
            "project": PROJECT,
            "registry": str(self.path / "registry.db"),
            "provider": "local",
            "offline_store": {"type": "file"},
            "online_store": _online_store(online, self.path),
            "entity_key_serialization_version": 3,
        }
        (self.path / "feature_store.yaml").write_text(yaml.safe_dump(settings))
        columns = [c for c in pd.read_parquet(files[0]).columns if c not in ("ts", "symbol")]
        symbol = Entity(name="symbol", join_keys=["symbol"], value_type=ValueType.STRING)
        source = FileSource(
            name="edgecraft_features", path=str(Path(features_dir).resolve()), timestamp_field="ts"
        )
        families: dict[str, list[str]] = {}
        for column in columns:
            families.setdefault(family_of(column), []).append(column)
        views = [
            FeatureView(
                name=family,
                entities=[symbol],
                ttl=TTL,
                schema=[Field(name=c, dtype=Float64) for c in names],
                source=source,
                online=True,
            )
            for family, names in sorted(families.items())
        ]
        self.store.apply([symbol, *views])
        return self

    @property
    def store(self) -> FeatureStore:
        return FeatureStore(repo_path=str(self.path))

    def features(self) -> list[str]:
        """Every feature as Feast names it, `view:column`."""
        return [
            f"{view.name}:{field.name}"
            for view in self.store.list_feature_views()
            for field in view.features
        ]

    def materialize(self, end: pd.Timestamp, window: str = "3d") -> None:
        """Load the rows of the last `window` before `end` into the online store."""
        end = pd.Timestamp(end)
        self.store.materialize(
            (end - pd.Timedelta(window)).to_pydatetime(), (end + pd.Timedelta("1s")).to_pydatetime()
        )

    def historical(self, entities: pd.DataFrame) -> pd.DataFrame:
        """Point-in-time join: for each (symbol, ts) row the newest features at or before ts."""
        frame = entities.rename(columns={"ts": "event_timestamp"})[["symbol", "event_timestamp"]]
        out = self.store.get_historical_features(frame, self.features()).to_df()
        return (
            out.rename(columns={"event_timestamp": "ts"}).set_index(["ts", "symbol"]).sort_index()
        )

    def online(self, symbols: list[str]) -> pd.DataFrame:
        """The newest materialized values per symbol (rows in `symbols` order)."""
        result = self.store.get_online_features(
            self.features(), [{"symbol": s} for s in symbols]
        ).to_dict()
        return pd.DataFrame(result).set_index("symbol")


def publish(
    features_dir: Path, repo: Path, online: str = "sqlite", window: str = "3d"
) -> FeatureRepo:
    """Register the feature folder in the Feast repository and materialize its newest rows."""
    store = FeatureRepo(repo).write(features_dir, online)
    last = max(
        pd.read_parquet(p, columns=["ts"])["ts"].max() for p in Path(features_dir).glob("*.parquet")
    )
    store.materialize(last, window)
    return store
