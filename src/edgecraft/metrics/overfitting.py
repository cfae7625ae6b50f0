"""Probabilistic and deflated Sharpe ratios (Bailey & López de Prado)."""

from __future__ import annotations

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
