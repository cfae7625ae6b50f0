"""Drift statistics as pure functions, and a sequential mean-shift detector.

PSI compares a feature's current distribution with its training-window reference over the
reference's quantile bins (warn 0.1, alert 0.25 by convention). KL compares the distribution of
signals (direction x confidence bin). PSI needs a few hundred observations to be quiet under no
drift; for fast detection of a level shift, `MeanShift` runs a two-sided CUSUM on the feature
standardized by the reference (k = half the shift to detect, h sets the false-alarm rate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

EPS = 1e-4  # smoothing for empty bins
PSI_WARN, PSI_ALERT = 0.1, 0.25


def quantile_edges(reference: np.ndarray, bins: int = 10) -> np.ndarray:
    """Interior bin edges at the reference's quantiles (duplicates from ties removed)."""
    values = np.asarray(reference, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))


def proportions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of finite `values` in each bin defined by interior `edges`."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    counts = np.bincount(np.searchsorted(edges, v, side="right"), minlength=len(edges) + 1)
    return counts / max(counts.sum(), 1)


def psi(expected: np.ndarray, actual: np.ndarray, eps: float = EPS) -> float:
    """Population Stability Index: sum((a - e) * ln(a / e)) over bins, both smoothed by `eps`."""
    e = np.clip(np.asarray(expected, dtype=np.float64), eps, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), eps, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def kl_divergence(p: np.ndarray, q: np.ndarray, eps: float = EPS) -> float:
    """KL(p || q) of two histograms (counts or shares), smoothed by `eps` and renormalized."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0, None)
    q = np.clip(np.asarray(q, dtype=np.float64), 0, None)
    p = (p / max(p.sum(), 1e-300)) + eps
    q = (q / max(q.sum(), 1e-300)) + eps
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))


CONFIDENCE_BINS = np.linspace(0.5, 1.0, 11)[1:-1]  # stable: the same bins for every run


def signal_histogram(direction: pd.Series, confidence: pd.Series) -> np.ndarray:
    """Counts of signals per (direction, confidence bin): 3 x 10 cells, flattened."""
    d = np.asarray(direction, dtype=int) + 1
    c = np.searchsorted(CONFIDENCE_BINS, np.asarray(confidence, dtype=float), side="right")
    return np.bincount(d * 10 + c, minlength=30).astype(np.float64)


@dataclass(frozen=True)
class FeatureReference:
    """One feature's training-window distribution: quantile edges, bin shares, mean and std."""

    edges: np.ndarray
    shares: np.ndarray
    mean: float
    std: float

    @classmethod
    def fit(cls, values: np.ndarray, bins: int = 10) -> FeatureReference:
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        edges = quantile_edges(v, bins)
        return cls(
            edges,
            proportions(v, edges),
            float(v.mean()) if v.size else np.nan,
            float(v.std()) if v.size else np.nan,
        )

    def psi(self, current: np.ndarray) -> float:
        return psi(self.shares, proportions(current, self.edges))


def feature_psi(reference: pd.DataFrame, current: pd.DataFrame, bins: int = 10) -> pd.Series:
    """PSI of every column of `current` against the same column of `reference`."""
    return pd.Series(
        {
            c: FeatureReference.fit(reference[c].to_numpy(), bins).psi(current[c].to_numpy())
            for c in current.columns
        },
        name="psi",
    )


class MeanShift:
    """Two-sided CUSUM on values standardized by a reference mean and std.

    Parameters
    ----------
    k: the allowance, in reference standard deviations (half the smallest shift worth catching).
    h: the decision threshold; larger means fewer false alarms and slower detection.
    """

    def __init__(self, mean: float, std: float, k: float = 0.3, h: float = 8.0) -> None:
        if not std > 0:
            raise ValueError(f"reference std must be > 0, was {std}")
        self.mean, self.std, self.k, self.h = mean, std, k, h
        self.up = 0.0
        self.down = 0.0

    def update(self, value: float) -> bool:
        """Feed one observation (NaN is skipped); True when a shift is signalled (then reset)."""
        if not np.isfinite(value):
            return False
        z = (value - self.mean) / self.std
        self.up = max(0.0, self.up + z - self.k)
        self.down = max(0.0, self.down - z - self.k)
        if self.up > self.h or self.down > self.h:
            self.up = self.down = 0.0
            return True
        return False


def rolling_ic(score: pd.Series, realized: pd.Series, window: int) -> pd.Series:
    """Pearson IC of scores against realized returns over the last `window` rows (IC decay)."""
    frame = pd.DataFrame({"s": score, "r": realized}).dropna()
    return frame["s"].rolling(window).corr(frame["r"]).rename("ic")


@dataclass(frozen=True)
class DailyShift:
    """A once-a-day test for a level shift in any feature.

    The reference gives each feature's mean and the standard deviation of its *daily* means
    (rows pooled over symbols), so autocorrelation and co-movement across symbols widen the band
    as they should. A day alarms when |z| of its mean exceeds the Bonferroni threshold that keeps
    the chance of any false alarm on a stationary day at `false_alarm` (two-sided, Gaussian).
    The default 2 % leaves room for the reference's own estimation error and fat tails under
    the 5 %-of-days budget.
    """

    mean: pd.Series
    std: pd.Series
    threshold: float
    rows_per_day: float  # days with fewer than 90 % of these rows (partial days) are not judged

    @classmethod
    def fit(cls, reference: pd.DataFrame, false_alarm: float = 0.02) -> DailyShift:
        from scipy.stats import norm

        daily = daily_means(reference)
        rows = reference.groupby(reference.index.get_level_values("ts").floor("D")).size()
        std = daily.std(ddof=1)
        usable = std.index[(std > 0) & (daily.count() >= 10)]
        z = float(norm.ppf(1.0 - false_alarm / (2 * max(len(usable), 1))))
        return cls(daily.mean()[usable], std[usable], z, float(rows.median()))

    def zscores(self, current: pd.DataFrame) -> pd.DataFrame:
        """z of each day's mean, per feature (rows: days of `current`)."""
        frame = current[self.mean.index]
        rows = frame.groupby(frame.index.get_level_values("ts").floor("D")).size()
        daily = daily_means(frame)[rows >= 0.9 * self.rows_per_day]
        return (daily - self.mean) / self.std

    def alarms(self, current: pd.DataFrame) -> pd.Series:
        """Per day: the features whose daily mean shifted (empty list: no alarm)."""
        z = self.zscores(current)
        hit = z.abs() > self.threshold
        return hit.apply(lambda row: list(row.index[row.to_numpy()]), axis=1)


def daily_means(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean of every column per UTC day (rows of all symbols pooled)."""
    day = frame.index.get_level_values("ts").floor("D")
    return frame.groupby(day).mean()
