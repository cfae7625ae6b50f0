"""Probabilistic and deflated Sharpe ratios, and the probability of backtest overfitting
(Bailey, Borwein, López de Prado & Zhu)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

EULER_GAMMA = 0.5772156649015329


def probabilistic_sharpe(returns: pd.Series, benchmark_sharpe: float = 0.0) -> float:
    """P(true Sharpe > benchmark) from the per-period (not annual) Sharpe, skew and kurtosis."""
    r = returns.dropna()
    n = len(r)
    if n < 3 or r.std() == 0:
        return float("nan")
    sr = r.mean() / r.std()
    skew = stats.skew(r)
    kurt = stats.kurtosis(r, fisher=False)
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if denom <= 0:
        return float("nan")
    return float(stats.norm.cdf((sr - benchmark_sharpe) * np.sqrt(n - 1) / np.sqrt(denom)))


def expected_max_sharpe(trials: int, sharpe_variance: float) -> float:
    """Expected maximum per-period Sharpe of `trials` unskilled strategies (the DSR's hurdle)."""
    if trials < 2 or sharpe_variance <= 0:
        return 0.0
    a = stats.norm.ppf(1.0 - 1.0 / trials)
    b = stats.norm.ppf(1.0 - 1.0 / (trials * np.e))
    return float(np.sqrt(sharpe_variance) * ((1.0 - EULER_GAMMA) * a + EULER_GAMMA * b))


def deflated_sharpe(returns: pd.Series, trials: int, sharpe_variance: float | None = None) -> float:
    """PSR against the Sharpe that the best of `trials` unskilled strategies would reach.

    `sharpe_variance` is the variance of per-period Sharpe ratios across the trials; without it,
    the variance of a Sharpe estimate under the null (1 / n) is used.
    """
    r = returns.dropna()
    if len(r) < 3:
        return float("nan")
    variance = sharpe_variance if sharpe_variance is not None else 1.0 / len(r)
    return probabilistic_sharpe(r, expected_max_sharpe(max(trials, 1), variance))


def sharpe_difference_interval(
    challenger: pd.Series,
    champion: pd.Series,
    confidence: float = 0.95,
    resamples: int = 2000,
    block: int = 5,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(estimate, low, high) of annualized Sharpe(challenger) - Sharpe(champion) on daily returns.

    A paired moving-block bootstrap: the same blocks of days are drawn for both arms, so what
    the two share (the market of those days) cancels, and `block`-day blocks keep short serial
    dependence. The interval is the percentile one at `confidence`.
    """
    both = pd.concat([challenger, champion], axis=1, keys=["a", "b"]).dropna().to_numpy()
    n = len(both)
    if n < 2 * block:
        return float("nan"), float("nan"), float("nan")

    def diff(x: np.ndarray) -> float:
        sd = x.std(axis=0, ddof=1)
        sr = np.where(sd > 0, x.mean(axis=0) / np.where(sd > 0, sd, 1.0), 0.0)
        return float((sr[0] - sr[1]) * np.sqrt(365.0))

    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - block + 1, size=(resamples, -(-n // block)))
    index = (starts[:, :, None] + np.arange(block)).reshape(resamples, -1)[:, :n]
    draws = np.array([diff(both[i]) for i in index])
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return diff(both), float(low), float(high)


def probability_of_backtest_overfitting(returns: pd.DataFrame, blocks: int = 16) -> dict:
    """PBO by combinatorially symmetric cross-validation (Bailey et al. 2015).

    `returns`: one column per configuration tried, one row per period (e.g. daily net returns
    on the same dates). The rows are cut into `blocks` contiguous blocks (even; fewer when the
    history is short); for every choice of half of them as in-sample, the configuration with the
    best in-sample Sharpe is ranked out of sample. PBO is the share of choices where it ranks in
    the bottom half (logit of its relative rank <= 0): near 0.5 when picking the best is no
    better than chance, near 0 when the best in-sample stays good out of sample.
    """
    matrix = returns.dropna(how="all").fillna(0.0).to_numpy(np.float64)
    periods, configs = matrix.shape
    if configs < 2:
        raise ValueError(f"PBO needs at least 2 configurations, got {configs}")
    blocks = min(blocks - blocks % 2, (periods // 4) * 2)
    if blocks < 2:
        raise ValueError(f"PBO needs at least 4 periods, got {periods}")
    parts = np.array_split(np.arange(periods), blocks)

    def sharpe_of(rows: np.ndarray) -> np.ndarray:
        part = matrix[rows]
        sd = part.std(axis=0, ddof=1)
        return np.where(sd > 0, part.mean(axis=0) / np.where(sd > 0, sd, 1.0), 0.0)

    logits = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        inside = np.concatenate([parts[b] for b in chosen])
        outside = np.concatenate([parts[b] for b in range(blocks) if b not in chosen])
        best = int(np.argmax(sharpe_of(inside)))
        rank = stats.rankdata(sharpe_of(outside))[best]  # 1 = worst out of sample
        omega = rank / (configs + 1)
        logits.append(np.log(omega / (1.0 - omega)))
    logits = np.asarray(logits)
    return {
        "pbo": float(np.mean(logits <= 0)),
        "logit_median": float(np.median(logits)),
        "combinations": int(len(logits)),
        "blocks": int(blocks),
        "configurations": int(configs),
    }
