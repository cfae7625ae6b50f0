"""Feature-family ablation: what each family adds out of sample.

For each family (the column prefix: tech, cross, funding, sentiment, onchain, market, micro) the
purged walk-forward is run again without that family's columns, with the run's own model and
windows; both are judged on the rows both predicted. Besides the IC over all those rows, the IC is
reported on the rows where the family had any value, since a family with a short history (on-chain
to 2020-07, say) can only earn its keep there. The ablation uses a single model even for an
ensemble run (the ensemble's base model), so its cost stays one walk-forward per family.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd

from edgecraft.core.numbers import json_safe
from edgecraft.features.base import family_of
from edgecraft.metrics.ic import ic, ic_by, information_ratio
from edgecraft.research.config import RunConfig, atr_columns
from edgecraft.research.fitting import usable_rows

log = logging.getLogger(__name__)


MIN_ROWS = 1000  # fewer rows with a family than this: no verdict on its rows (None)


def _judge(score: pd.Series, ret: pd.Series) -> dict:
    if len(score) < MIN_ROWS:
        return dict.fromkeys(("rank_ic", "cross_sectional_rank_ic", "ir"))
    month = pd.Series(score.index.get_level_values("ts").strftime("%Y-%m"), index=score.index)
    cross = ic_by(score, ret, "ts", "spearman", min_count=3)
    out = {
        "rank_ic": ic(score, ret, "spearman"),
        "cross_sectional_rank_ic": float(cross.mean()) if len(cross) else float("nan"),
        "ir": information_ratio(ic_by(score, ret, month, "spearman", min_count=30)),
    }
    return json_safe({k: float(v) for k, v in out.items()})


def _delta(a: dict, b: dict) -> dict:
    return {
        k: (None if a[k] is None or b[k] is None else a[k] - b[k])
        for k in ("rank_ic", "cross_sectional_rank_ic", "ir")
    }


def family_ablation(
    config: RunConfig,
    X: pd.DataFrame,
    labels: pd.DataFrame,
    horizon: str,
    walk: Callable[[RunConfig, pd.DataFrame, pd.DataFrame], pd.DataFrame],
    base: pd.DataFrame | None = None,
) -> dict:
    """OOS rank IC with and without each family. `walk(config, X, labels)` runs the walk-forward
    and returns predictions (a `score` column on X's index); `base`: its result on all of X, when
    already computed with a single model. Every variant trains and predicts on the rows the full
    feature set makes usable (so the windows are the same), whatever coverage is left."""
    single = config.model_copy(update={"ensemble": None})
    usable = usable_rows(config, X, labels)
    X, labels = X.iloc[usable], labels.iloc[usable]
    variant = single.model_copy(update={"min_feature_coverage": 0.0})
    if base is None or config.ensemble is not None:
        base = walk(variant, X, labels)
    keep = set(atr_columns(config))  # signals need them; never ablated
    families = list(dict.fromkeys(family_of(c) for c in X.columns))
    rows = []
    for family in families:
        columns = [c for c in X.columns if family_of(c) == family and c not in keep]
        if not columns:
            continue
        without = walk(variant, X.drop(columns=columns), labels)
        common = base.index.intersection(without.index)
        ret = labels["ret"].reindex(common)
        covered = X.loc[common, columns].notna().any(axis=1)
        with_all = _judge(base["score"].reindex(common), ret)
        without_all = _judge(without["score"].reindex(common), ret)
        on = common[covered.to_numpy()]
        with_cov = _judge(base["score"].reindex(on), ret.reindex(on))
        without_cov = _judge(without["score"].reindex(on), ret.reindex(on))
        ts = on.get_level_values("ts")
        rows.append(
            {
                "family": family,
                "columns": len(columns),
                "rows": int(len(common)),
                "rows_with_family": int(covered.sum()),
                "span_with_family": [str(ts.min()), str(ts.max())] if len(on) else None,
                "with": with_all,
                "without": without_all,
                "gain": _delta(with_all, without_all),
                "with_on_family_rows": with_cov,
                "without_on_family_rows": without_cov,
                "gain_on_family_rows": _delta(with_cov, without_cov),
            }
        )
        log.info(
            "ablation family=%s gain_rank_ic=%s on_family_rows=%s",
            family,
            rows[-1]["gain"]["rank_ic"],
            rows[-1]["gain_on_family_rows"]["rank_ic"],
        )
    return {"horizon": horizon, "model": config.model.name, "families": rows}


# the columns of the ablation table: heading, then (variant, metric) read from each family's row
TABLE = (
    ("rank IC with", "with", "rank_ic"),
    ("without", "without", "rank_ic"),
    ("gain", "gain", "rank_ic"),
    ("on family rows: with", "with_on_family_rows", "rank_ic"),
    ("without", "without_on_family_rows", "rank_ic"),
    ("gain", "gain_on_family_rows", "rank_ic"),
    ("cross-sectional rank IC gain", "gain", "cross_sectional_rank_ic"),
    ("IR gain", "gain", "ir"),
)


def table_cells(row: dict) -> list[float | None]:
    """One family's values in `TABLE` order."""
    return [row[variant][metric] for _, variant, metric in TABLE]


def ablation_markdown(ablation: dict) -> str:
    """The ablation as a Markdown table (for closing notes and RESULTS files)."""
    headings = ["family", "cols", "rows with family", *(h for h, _, _ in TABLE)]
    lines = [
        f"Feature-family ablation, horizon {ablation['horizon']} ({ablation['model']}): OOS rank "
        "IC with the family, without it, and the gain; on all rows and on the rows where the "
        "family has values.",
        "",
        "| " + " | ".join(headings) + " |",
        "|" + "---|" * len(headings),
    ]
    for row in ablation["families"]:
        shown = " | ".join("n/a" if v is None else f"{v:+.4f}" for v in table_cells(row))
        lines.append(
            f"| {row['family']} | {row['columns']} | {row['rows_with_family']:,} / "
            f"{row['rows']:,} | {shown} |"
        )
    return "\n".join(lines)
