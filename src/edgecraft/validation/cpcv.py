"""Combinatorial purged cross-validation (López de Prado, AFML ch. 12).

The rows are cut by time into `groups` contiguous groups; every choice of `test_groups` of them
is one split, trained on the rest after purging (a training label overlapping a test group's
span) and an embargo after each test group. Each group is tested in C(N-1, k-1) splits, so the
splits' test predictions assemble into that many whole backtest paths, each covering every group
once: a distribution of out-of-sample results instead of the single walk-forward path.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from math import comb

import numpy as np
import pandas as pd

from edgecraft.validation.walk_forward import Window, purged_complement


@dataclass(frozen=True)
class CombinatorialPurgedCV:
    groups: int = 6
    test_groups: int = 2
    embargo: str = "24h"

    def __post_init__(self) -> None:
        if not 1 <= self.test_groups < self.groups:
            raise ValueError(
                f"test_groups must be in [1, groups), were {self.test_groups} of {self.groups}"
            )

    @property
    def splits(self) -> list[tuple[int, ...]]:
        """The test groups of each split, in order."""
        return list(itertools.combinations(range(self.groups), self.test_groups))

    @property
    def n_paths(self) -> int:
        return comb(self.groups - 1, self.test_groups - 1)

    def group_of(self, ts: pd.Index) -> np.ndarray:
        """Each row's group: equal spans of time (not of rows) between the first and last ts."""
        times = pd.DatetimeIndex(ts)
        span = (times.max() - times.min()) / self.groups
        if span <= pd.Timedelta(0):
            raise ValueError("CPCV needs rows spanning some time")
        return np.minimum(((times - times.min()) // span).to_numpy(), self.groups - 1)

    def split(self, ts: pd.Index, t1: pd.Series) -> Iterator[Window]:
        """Yield one Window per split (`number` indexes `splits`)."""
        times = pd.DatetimeIndex(ts)
        group = self.group_of(times)
        known = pd.Series(pd.DatetimeIndex(t1))
        for number, chosen in enumerate(self.splits):
            train = ~pd.Series(known).isna().to_numpy()
            for g in chosen:  # each test group purges and embargoes its own neighbourhood
                train &= purged_complement(times, known, group == g, self.embargo)
            test = np.flatnonzero(np.isin(group, chosen))
            yield Window(
                number,
                np.flatnonzero(train),
                test,
                times[test].min(),
                times[test].max(),
            )

    def paths(self) -> list[dict[int, int]]:
        """Per path, the split whose test predictions fill each group: the j-th path takes each
        group from the j-th split (in order) that tests it."""
        testing: dict[int, list[int]] = {g: [] for g in range(self.groups)}
        for number, chosen in enumerate(self.splits):
            for g in chosen:
                testing[g].append(number)
        return [{g: testing[g][j] for g in range(self.groups)} for j in range(self.n_paths)]
