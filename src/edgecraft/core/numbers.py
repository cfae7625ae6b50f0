"""JSON-safe numbers: what `json.dumps(..., allow_nan=False)` and JSON clients accept."""

from __future__ import annotations

import math


def json_safe(value: object) -> object:
    """`value` with every NaN or infinite float (also inside dicts, lists and tuples) as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
