"""RunConfig: one flat YAML file per experiment, validated at load time (unknown keys rejected)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from edgecraft.core.errors import ConfigError
from edgecraft.core.timeframes import timeframe_delta
from edgecraft.features.config import FeaturesConfig
from edgecraft.models.registry import MODELS
from edgecraft.risk.books import HysteresisConfig, LongShortConfig
from edgecraft.risk.config import RiskConfig


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabelConfig(_Section):
    kind: Literal["forward", "triple_barrier"] = "forward"
    horizons: list[str] = ["4h", "24h"]
    barrier_up: float = Field(2.0, gt=0)  # ATRs, triple barrier only
    barrier_down: float = Field(2.0, gt=0)

    @field_validator("horizons")
    @classmethod
    def _horizons(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one horizon")
        for h in value:
            if pd.Timedelta(h) <= pd.Timedelta(0):
                raise ValueError(f"horizon must be positive, was {h!r}")
        return value


class ModelConfig(_Section):
    name: str = "lgbm"
    params: dict[str, Any] = {}
    # a larger training set is subsampled (seeded, uniform): overlapping labels make neighbouring
    # hourly rows near-duplicates, so this costs little information and bounds the fit time
    max_train_rows: int | None = Field(None, ge=1000)

    @field_validator("name")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; registered: {sorted(MODELS)}")
        return name


class MemberConfig(_Section):
    """One base model of an ensemble, on its own bar and horizon."""

    name: str
    key: str | None = None  # its name in reports and rules; default: `name`
    params: dict[str, Any] = {}
    max_train_rows: int | None = Field(100_000, ge=1000)
    bar: str | None = None  # a multiple of the base timeframe; None: the base timeframe
    horizon: str | None = None  # the label it learns; None: the run's horizon

    _registered = field_validator("name")(ModelConfig._registered.__func__)

    @property
    def label(self) -> str:
        return self.key or self.name

    @field_validator("bar", "horizon")
    @classmethod
    def _positive(cls, value: str | None) -> str | None:
        if value is not None and pd.Timedelta(value) <= pd.Timedelta(0):
            raise ValueError(f"must be a positive duration, was {value!r}")
        return value


class SizingConfig(_Section):
    """The RL position-sizing agent, trained on the ensemble's out-of-fold signals."""

    algo: Literal["ppo", "sac"] = "ppo"
    timesteps: int = Field(20_000, ge=100)
    risk_aversion: float = Field(1.0, ge=0)
    episode_length: int = Field(256, ge=8)


class EnsembleConfig(_Section):
    """Several model families combined into one signal (see signals/ensemble.py)."""

    mode: Literal["stack", "rules"] = "stack"
    members: list[MemberConfig]
    inner_folds: int = Field(3, ge=2)  # purged folds whose out-of-fold scores train the meta
    oof_fraction: float = Field(0.5, gt=0, lt=1)  # last share of a training window they cover
    filter: str | None = None  # rules: the member that confirms or rejects
    direction: str | None = None  # rules: the member that gives the side
    filter_confidence: float = Field(0.52, ge=0.5, le=1.0)
    sizing: SizingConfig | None = None

    @model_validator(mode="after")
    def _roles(self) -> EnsembleConfig:
        keys = [m.label for m in self.members]
        if len(set(keys)) != len(keys):
            raise ValueError(f"member keys must be unique, were {keys}; set `key`")
        if not keys:
            raise ValueError("an ensemble needs at least one member")
        if self.mode == "rules":
            for role in ("filter", "direction"):
                if getattr(self, role) not in keys:
                    raise ValueError(f"rules mode: {role} must name a member of {keys}")
        return self


class CPCVConfig(_Section):
    """Combinatorial purged CV of the trade horizon (single models): C(groups, test_groups)
    fits whose test predictions assemble into C(groups - 1, test_groups - 1) backtest paths."""

    groups: int = Field(6, ge=3)
    test_groups: int = Field(2, ge=1)

    @model_validator(mode="after")
    def _fits(self) -> CPCVConfig:
        if self.test_groups >= self.groups:
            raise ValueError(f"test_groups ({self.test_groups}) must be below groups")
        return self


class ValidationConfig(_Section):
    # "unpurged_kfold" leaks (shuffled folds, no purge): it exists to show how much, never to
    # judge a model
    method: Literal["walk_forward", "unpurged_kfold"] = "walk_forward"
    test_length: str = "90d"
    train_length: str | None = None  # None: expanding window
    min_train: str = "365d"
    embargo: str = "24h"
    cpcv: CPCVConfig | None = None  # also judge the trade horizon on CPCV paths


class CalibrationConfig(_Section):
    # Platt scaling by default: smooth (so its ONNX export matches within 1e-5) and steadier than
    # isotonic steps when the signal is weak; isotonic stays available
    method: Literal["isotonic", "sigmoid"] = "sigmoid"
    fraction: float = Field(0.2, gt=0, lt=0.5)  # last share of each training window


class SignalConfig(_Section):
    min_confidence: float = Field(0.52, ge=0.5, le=1.0)
    target_atr: float = Field(2.0, gt=0)
    stop_atr: float = Field(2.0, gt=0)
    atr_period: int = Field(14, ge=1)  # the ATR feature (base timeframe) that scales target/stop
    # signals are sized down linearly below this confidence (None: full size at any confidence)
    full_size_confidence: float | None = Field(None, gt=0.5, le=1.0)


class CostConfig(_Section):
    fee_bps: float = Field(10.0, ge=0)  # taker fee per side, on traded notional
    maker_bps: float = Field(2.0, ge=0)  # limit orders that rest
    half_spread_bps: float = Field(2.0, ge=0)
    impact_bps: float = Field(5.0, ge=0)  # extra slippage per unit of weight traded


class MetaLabelConfig(_Section):
    """The secondary model of meta-labeling (López de Prado, AFML ch. 3): trained on the
    primary's purged out-of-fold signals, it predicts whether acting on the primary's side clears
    the round-trip cost within the horizon; its calibrated probability decides and sizes."""

    enabled: bool = True
    threshold: float = Field(0.5, ge=0.5, lt=1.0)  # trade only above this probability
    params: dict[str, Any] = {
        "n_estimators": 100,
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_child_samples": 500,
        "subsample": 0.5,
        "colsample": 0.5,
    }
    max_train_rows: int = Field(50_000, ge=1000)
    calibration_fraction: float = Field(0.2, gt=0, lt=0.5)  # last share of its training rows


class BooksConfig(_Section):
    """The books each horizon's signals are judged in, next to the signal book (metrics)."""

    long_short: LongShortConfig = LongShortConfig()
    hysteresis: HysteresisConfig = HysteresisConfig()
    meta: MetaLabelConfig = MetaLabelConfig()


class RunConfig(_Section):
    """Everything one run needs; saved resolved into the run folder."""

    name: str = "run"
    market: str = "spot"
    symbols: list[str] = []  # empty: every pair in the data folder
    start: str | None = None  # first bar used (features warm up from it)
    end: str | None = None
    features: FeaturesConfig = FeaturesConfig()
    label: LabelConfig = LabelConfig()
    model: ModelConfig = ModelConfig()
    ensemble: EnsembleConfig | None = None  # when set, replaces `model`
    validation: ValidationConfig = ValidationConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    signals: SignalConfig = SignalConfig()
    costs: CostConfig = CostConfig()
    risk: RiskConfig = RiskConfig()
    books: BooksConfig = BooksConfig()
    trade_horizon: str | None = None  # the horizon the backtester trades; None: the longest
    # feature-family ablation at the trade horizon: the walk-forward again without each family
    ablation: bool = False
    trials: int = Field(1, ge=1)  # configurations tried so far on this data, for the DSR
    # the probability of backtest overfitting of the search that picked this config (written by
    # `edgecraft search` into best.yaml); paper A/B does not promote a challenger above max_pbo
    pbo: float | None = Field(None, ge=0, le=1)
    min_feature_coverage: float = Field(0.5, ge=0, le=1)  # rows with fewer features are skipped
    seed: int = 0
    threads: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _atr_available(self) -> RunConfig:
        missing = [c for c in atr_columns(self) if c not in self.features.build().columns]
        if missing:
            raise ValueError(
                f"signals need the ATR columns {missing}; add {{name: atr, params: "
                f"{{period: {self.signals.atr_period}}}}} to features and the base "
                "timeframe to features.timeframes"
            )
        if self.ensemble is not None:
            base = timeframe_delta(self.features.base_timeframe)
            for member in self.ensemble.members:
                bar = pd.Timedelta(member.bar or base)
                if bar % base != pd.Timedelta(0):
                    raise ValueError(
                        f"member {member.label}: bar {member.bar} is not a multiple of the "
                        f"base timeframe {self.features.base_timeframe}"
                    )
                if not MODELS[member.name].is_classifier:
                    raise ValueError(f"member {member.label}: ensembles take classifiers")
        return self


def atr_columns(config: RunConfig) -> tuple[str, str]:
    """The ATR feature columns (price units, fraction of close) the signals and risk read."""
    tf, period = config.features.base_timeframe, config.signals.atr_period
    return f"tech_atr_{period}_{tf}", f"tech_atr_{period}_rel_{tf}"


def load_run_config(path: Path | None, **overrides: Any) -> RunConfig:
    """Read a RunConfig from YAML (defaults when `path` is None), then apply `overrides`."""
    fields: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"config {path} must be a mapping of RunConfig fields")
        fields = loaded
    fields.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RunConfig(**fields)
    except ValidationError as exc:
        raise ConfigError(f"config {path or '(defaults)'}: {exc}") from exc
