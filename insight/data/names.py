"""Column names: the ones a run writes itself (refused as input names) and the model's own feature names.

A run stores the input's columns beside its outputs (customers.parquet) and names SHAP columns after the
features, so an input column called `risk_band` or `x` would collide with an output: `check_output_names`
refuses it with what to do. Everything a person reads uses the input's own column names; only LightGBM,
which refuses some characters in feature names (`"` `,` `:` `[` `]` `{` `}`, and breaks on a newline), is
given `model_feature_names`: the same names with those characters and whitespace replaced, made unique.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from insight.config import DataSpec
from insight.errors import InputError
from insight.runs import layout

_LIGHTGBM_UNSAFE = re.compile(r'[\s",:\[\]{}]|[\x00-\x1f\x7f]')


def output_names(spec: DataSpec) -> set[str]:
    """The columns a run writes beside the input's own (customers.parquet, shap.parquet, scores)."""
    return {layout.CHURN_PROBABILITY, layout.CHURN_SCORE, layout.RISK_BAND, layout.REVENUE_AT_RISK,
            layout.MULTITASK_CHURN_PROBABILITY, layout.LOGISTIC_CHURN_PROBABILITY, *layout.REASONS,
            layout.TOP_REASON, layout.SEGMENT_ID, layout.SEGMENT_NAME, layout.MAP_X, layout.MAP_Y, layout.SPLIT,
            layout.BASE_VALUE, *(layout.predicted(a) for a in spec.aux_targets)}


def check_output_names(columns: Iterable[object], spec: DataSpec) -> None:
    """InputError for an input column named like a column the run writes itself (risk_band, x, segment_id, ...);
    an --exclude'd one is left out of the run instead. The id may not be a latent column's name (z0, z1, ...)."""
    reserved = output_names(spec)
    clash = [str(c) for c in columns if str(c) in reserved and str(c) not in spec.exclude]
    if re.fullmatch(rf"{layout.LATENT_PREFIX}\d+", spec.id_column):
        clash.insert(0, spec.id_column)
    if not clash:
        return
    name = clash[0]
    fix = ("rename it in the table" if name in (spec.id_column, *spec.targets)
           else f"rename it in the table, or pass --exclude {name} to leave it out")
    more = f" ({len(clash) - 1} more such column(s): {', '.join(clash[1:4])})" if len(clash) > 1 else ""
    raise InputError(f"column {name!r} has the name of a column the run writes itself (as churn_probability, "
                     f"risk_band, segment_id, x and y); {fix}.{more}")


def model_feature_names(names: Iterable[str]) -> list[str]:
    """The names LightGBM is given for `names`: unchanged where LightGBM accepts them; else each refused
    character and whitespace replaced by `_`, with a suffix where that would repeat a name."""
    out: list[str] = []
    taken: set[str] = set()
    for i, name in enumerate(names):
        safe = _LIGHTGBM_UNSAFE.sub("_", str(name)) or f"feature_{i}"
        while safe in taken:
            safe = f"{safe}_{i}"
        taken.add(safe)
        out.append(safe)
    return out
