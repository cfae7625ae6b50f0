"""Fuse a group's kernels into one compiled kernel, so a live bar costs one call per timeframe.

The fused kernel is generated from the group's plan (which kernel, which slice of the packed state,
params and output) and compiled once per distinct plan; it runs exactly the kernels the batch path
runs, in the same order, so live values equal batch values.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numba as nb
import numpy as np

from edgecraft.features import kernels
from edgecraft.features.featureset import Group


class FusedGroup:
    """A group's kernels as one compiled call: `step(x)` writes the group's columns into `out`."""

    def __init__(self, group: Group, out: np.ndarray) -> None:
        calls = [
            (type(f).kernel, f.new_state(), f.params(group.layout), a, b, False)
            for f, (a, b) in zip(group.features, group.slots, strict=True)
        ]
        if group.z_sources:
            z0 = group.slots[-1][1] if group.slots else 0
            calls.append(
                (kernels.rolling_zscore, group.z_state(), group.z_params(), z0, group.width, True)
            )
        lines, state_at, params_at = [], 0, 0
        names = {}
        for kernel, state, params, a, b, reads_out in calls:
            name = names.setdefault(kernel.py_func.__name__, kernel.py_func.__name__)
            source = "out" if reads_out else "x"
            lines.append(
                f"    {name}(state[{state_at}:{state_at + len(state)}], "
                f"params[{params_at}:{params_at + len(params)}], {source}, "
                f"out[:, {a}:{b}])"
            )
            state_at += len(state)
            params_at += len(params)
        body = "\n".join(lines) or "    pass"
        self._kernel = _compile(f"def fused(state, params, x, out):\n{body}\n")
        self._state = np.concatenate([c[1] for c in calls]) if calls else np.zeros(0)
        self._params = np.concatenate([c[2] for c in calls]) if calls else np.zeros(0)
        self.out = out

    def step(self, x: np.ndarray) -> None:
        self._kernel(self._state, self._params, x, self.out)

    @property
    def state(self) -> np.ndarray:
        """The packed kernel states (a view: `snapshot` copies it)."""
        return self._state


@lru_cache(maxsize=64)
def _compile(source: str):
    namespace = {
        name: getattr(kernels, name)
        for name in dir(kernels)
        if isinstance(getattr(kernels, name), nb.core.registry.CPUDispatcher)
    }
    code = compile(source, f"<fused {hashlib.sha1(source.encode()).hexdigest()[:8]}>", "exec")
    exec(code, namespace)  # the source is built above from registered kernels' names only
    return nb.njit(kernels.SIGNATURE)(namespace["fused"])
