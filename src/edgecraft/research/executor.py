"""Where the walk-forward's units of work run: this process, or a Dask cluster.

An executor maps a function over units of work (see `units.py`) that share large inputs (the
run's feature frame, labels and bars): locally, in order, in this process or a process pool; or
on Dask, which scatters those inputs to every worker once (not per task), retries a unit whose
worker died, and gathers the parts in order.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

Done = Callable[[int, int], None]


class LocalExecutor:
    """Units on this machine: one after another in this process (`workers=1`, the default and
    the reference), or over `workers` processes (joblib's loky pool)."""

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def map(self, fn: Callable, units: list, shared: dict, done: Done | None = None) -> list:
        """fn(unit, **shared) for every unit, in order; done(finished, total) after each."""
        if self.workers <= 1 or len(units) <= 1:
            results = (fn(unit, **shared) for unit in units)
        else:
            from joblib import Parallel, delayed

            pool = Parallel(
                n_jobs=self.workers, backend="loky", max_nbytes=None, return_as="generator"
            )
            results = pool(delayed(fn)(unit, **shared) for unit in units)
        out = []
        for result in results:
            out.append(result)
            if done:
                done(len(out), len(units))
        return out

    def close(self) -> None:
        pass


class DaskExecutor:
    """Units on a Dask cluster: `scheduler` (tcp://host:8786), or a LocalCluster of `workers`
    single-threaded processes started here and closed with the executor."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int = 2) -> None:
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"},
            )
            self.client = Client(self.cluster)

    def map(self, fn: Callable, units: list, shared: dict, done: Done | None = None) -> list:
        """fn(unit, **shared) for every unit, in order; frames in `shared` go to each worker
        once (scatter), a unit whose worker dies is retried twice; done(finished, total) as
        units finish."""
        from dask.distributed import as_completed

        scattered = {
            k: self.client.scatter(v, broadcast=True) if isinstance(v, pd.DataFrame) else v
            for k, v in shared.items()
        }
        futures = [
            self.client.submit(fn, unit, **scattered, retries=2, pure=False) for unit in units
        ]
        for finished, _ in enumerate(as_completed(futures), 1):
            if done:
                done(finished, len(units))
        return self.client.gather(futures)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(name: str = "local", scheduler: str | None = None, workers: int = 1):
    """`local` (this machine; `workers` processes) or `dask` (`scheduler`, or a LocalCluster of
    `workers` processes)."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, was {workers}")
    if name == "local":
        return LocalExecutor(workers)
    if name == "dask":
        return DaskExecutor(scheduler, workers)
    raise ValueError(f"executor must be 'local' or 'dask', was {name!r}")
