"""Feature drift between a reference table and a current one: population stability index per column plus a
two-sample test, corrected for multiple comparisons.

Per column:

- **numeric** (numbers and dates, dates as days since 1970): PSI over `bins` quantile bins of the reference's
  non-missing values (right-closed, ties merged, open-ended at both ends) plus one bin for missing values;
  the test is the two-sample Kolmogorov–Smirnov test on the non-missing values (a column with no values on
  one side is tested by chi-squared on its missing/present counts instead).
- **categorical** (text, categories and booleans): PSI over the reference's categories (at most
  `max_categories`, the rarer ones pooled as "(other)"), one bin for missing values and one for categories the
  reference never saw ("(new)"); the test is Pearson's chi-squared test of the reference and current counts.

PSI = sum over bins of (c - r) * ln(c / r), with r and c the reference and current shares and every share
below `epsilon` raised to `epsilon` (so an empty bin on one side scores large but finite). The usual reading:
below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 major.

The p-values of all tested columns are adjusted together by Benjamini–Hochberg
(`scipy.stats.false_discovery_control`, method "bh": the false discovery rate among flagged columns is at most
`alpha`). A column is `drifted` when its adjusted p-value is below `alpha` and its PSI is at least `min_psi`
(a materiality floor: with many rows a test finds differences nobody would act on). Tests run on at most
`max_test_rows` rows of each side, sampled without replacement with a fixed `seed`; PSI uses every row.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

log = logging.getLogger(__name__)

NUMERIC, CATEGORICAL = "numeric", "categorical"
KIND_ALIASES = {"numeric": NUMERIC, "date": NUMERIC, "datetime": NUMERIC,
                "categorical": CATEGORICAL, "boolean": CATEGORICAL, "text": CATEGORICAL}
"""Accepted `kinds` values (the schema's roles among them) and how each is measured."""
BINS = 10
EPSILON = 1e-4
ALPHA = 0.05
MIN_PSI = 0.01
MAX_TEST_ROWS = 50_000
MAX_CATEGORIES = 50
SEED = 0
MISSING, NEW, OTHER = "(missing)", "(new)", "(other)"
KS, CHI2, CHI2_MISSING = "ks", "chi2", "chi2 (missing)"
CORRECTION = "benjamini-hochberg"


@dataclass(frozen=True)
class FeatureDrift:
    """One column's drift: its PSI, test and verdict, and what a reader needs to see why."""

    feature: str
    kind: str
    psi: float
    statistic: float
    test: str
    p_value: float
    p_adjusted: float
    drifted: bool
    level: str
    reference_rows: int
    current_rows: int
    test_rows: tuple[int, int]
    reference_missing: float
    current_missing: float
    reference_mean: float | None = None
    current_mean: float | None = None
    reference_top: str | None = None
    reference_top_share: float | None = None
    current_top: str | None = None
    current_top_share: float | None = None
    new_categories: tuple[str, ...] = field(default_factory=tuple)
    """Categories of the current table the reference never saw, the most common first (at most 20)."""
    new_share: float | None = None
    value_type: str = "number"
    """How to show the values: "number", "date" (means in days since 1970-01-01: `as_date`), "flag" (yes/no)
    or "category"."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN and infinities become None, tuples lists."""
        return {k: _json_value(v) for k, v in asdict(self).items()}


def psi_level(psi: float) -> str:
    return "stable" if psi < 0.1 else "moderate" if psi < 0.25 else "major"


def population_stability_index(reference_shares: np.ndarray, current_shares: np.ndarray,
                               *, epsilon: float = EPSILON) -> float:
    """PSI of two share vectors over the same bins (shares below `epsilon` raised to it)."""
    r = np.maximum(np.asarray(reference_shares, dtype="float64"), epsilon)
    c = np.maximum(np.asarray(current_shares, dtype="float64"), epsilon)
    return float(np.sum((c - r) * np.log(c / r)))


def feature_drift(reference: pd.DataFrame, current: pd.DataFrame, kinds: Mapping[str, str] | None = None, *,
                  columns: Sequence[str] | None = None, bins: int = BINS, alpha: float = ALPHA,
                  min_psi: float = MIN_PSI, epsilon: float = EPSILON, max_test_rows: int = MAX_TEST_ROWS,
                  max_categories: int = MAX_CATEGORIES, seed: int = SEED) -> list[FeatureDrift]:
    """The drift of every column from `reference` to `current`, worst first (PSI, then p-value).

    `columns` defaults to the keys of `kinds`, or else the columns both frames hold (reference order). `kinds`
    maps a column to "numeric", "date", "categorical" or "boolean" (the schema's roles); a column it does not
    name is numeric when its dtype is a number or a date, else categorical (booleans are categorical).
    """
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}.")
    kinds = dict(kinds or {})
    if columns is None:
        columns = list(kinds) if kinds else [c for c in reference.columns if c in set(current.columns)]
    columns = list(columns)
    missing = [c for c in columns if c not in reference.columns or c not in current.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in both tables; drift compares columns both tables hold.")
    rng_ref, rng_cur = _sample_rows(len(reference), max_test_rows, seed), _sample_rows(len(current),
                                                                                     max_test_rows, seed + 1)
    rows = []
    for name in columns:
        kind = _kind(reference[name], kinds.get(name))
        ref, cur = reference[name], current[name]
        if kind == NUMERIC:
            dated = kinds.get(name) in ("date", "datetime") or pd.api.types.is_datetime64_any_dtype(ref)
            rows.append({**_numeric(name, ref, cur, rng_ref, rng_cur, bins=bins, epsilon=epsilon),
                         "value_type": "date" if dated else "number"})
            continue
        flags = kinds.get(name) == "boolean" or pd.api.types.is_bool_dtype(ref)
        if flags:
            ref, cur = _flags(ref), _flags(cur)
        rows.append({**_categorical(name, ref, cur, rng_ref, rng_cur, epsilon=epsilon,
                                    max_categories=max_categories), "value_type": "flag" if flags else "category"})
    adjusted = _adjust([r["p_value"] for r in rows])
    out = []
    for row, p_adj in zip(rows, adjusted):
        drifted = bool(np.isfinite(p_adj) and p_adj < alpha and row["psi"] >= min_psi)
        out.append(FeatureDrift(p_adjusted=p_adj, drifted=drifted, level=psi_level(row["psi"]), **row))
    out.sort(key=lambda d: (-d.psi, d.p_value if np.isfinite(d.p_value) else 2.0, d.feature))
    log.info("drift of %d columns (%d reference rows, %d current): %d flagged", len(out), len(reference),
             len(current), sum(d.drifted for d in out))
    return out


def as_date(days: float) -> str:
    """A date feature's mean (days since 1970-01-01, as FeatureDrift holds it) as an ISO date."""
    return (pd.Timestamp(0) + pd.Timedelta(days=float(days))).date().isoformat()


# ------------------------------------------------------------------------------------------------ columns
def _kind(series: pd.Series, declared: str | None) -> str:
    if declared is not None:
        if declared not in KIND_ALIASES:
            raise ValueError(f"unknown kind {declared!r} for column {series.name!r}; use one of "
                             f"{sorted(KIND_ALIASES)}.")
        return KIND_ALIASES[declared]
    if pd.api.types.is_bool_dtype(series):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return NUMERIC
    return CATEGORICAL


def _as_numbers(series: pd.Series) -> np.ndarray:
    """Floats with NaN for missing; dates as days since 1970 (UTC), booleans as 0/1."""
    if pd.api.types.is_datetime64_any_dtype(series):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return ((series - pd.Timestamp(0)) / pd.Timedelta(days=1)).to_numpy(dtype="float64", na_value=np.nan)
    values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    return np.where(np.isfinite(values), values, np.nan)


def _numeric(name: str, ref: pd.Series, cur: pd.Series, idx_ref: np.ndarray | None, idx_cur: np.ndarray | None,
             *, bins: int, epsilon: float) -> dict[str, Any]:
    r, c = _as_numbers(ref), _as_numbers(cur)
    r_ok, c_ok = r[~np.isnan(r)], c[~np.isnan(c)]
    edges = np.unique(np.quantile(r_ok, np.arange(1, bins) / bins)) if len(r_ok) else np.array([])
    psi = population_stability_index(_numeric_shares(r, edges), _numeric_shares(c, edges), epsilon=epsilon)
    rt, ct = _take(r, idx_ref), _take(c, idx_cur)
    rt_ok, ct_ok = rt[~np.isnan(rt)], ct[~np.isnan(ct)]
    if len(rt_ok) and len(ct_ok):
        res = stats.ks_2samp(rt_ok, ct_ok)
        statistic, p_value, test = float(res.statistic), float(res.pvalue), KS
    else:
        table = [[len(rt_ok), len(rt) - len(rt_ok)], [len(ct_ok), len(ct) - len(ct_ok)]]
        statistic, p_value = _chi2(np.array(table, dtype="float64"))
        test = CHI2_MISSING
    return dict(feature=name, kind=NUMERIC, psi=psi, statistic=statistic, test=test, p_value=p_value,
                reference_rows=len(r), current_rows=len(c), test_rows=(len(rt), len(ct)),
                reference_missing=_share(len(r) - len(r_ok), len(r)),
                current_missing=_share(len(c) - len(c_ok), len(c)),
                reference_mean=float(r_ok.mean()) if len(r_ok) else None,
                current_mean=float(c_ok.mean()) if len(c_ok) else None)


def _numeric_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of len(edges) + 1 right-closed bins, then the missing bin."""
    ok = ~np.isnan(values)
    counts = np.bincount(np.searchsorted(edges, values[ok], side="left"), minlength=len(edges) + 1)
    counts = np.append(counts, (~ok).sum()).astype("float64")
    return counts / max(len(values), 1)


def _flags(series: pd.Series) -> pd.Series:
    """A flag column (booleans, or the schema's 0/1 floats) as "yes" / "no"; missing stays missing, and a
    value that is no number is kept as text."""
    numbers = pd.to_numeric(series.astype("object"), errors="coerce")
    text = series.astype("object").map(lambda v: None if _is_missing(v) else str(v))
    return text.mask(numbers.notna(), pd.Series(np.where(numbers >= 0.5, "yes", "no"), index=series.index))


def _categories(series: pd.Series) -> pd.Series:
    """Text labels with missing as MISSING (numbers as their text)."""
    text = series.astype("object").map(lambda v: v if isinstance(v, str) else None if _is_missing(v)
                                       else _label(v))
    return text.fillna(MISSING).astype("object")


def _categorical(name: str, ref: pd.Series, cur: pd.Series, idx_ref: np.ndarray | None,
                 idx_cur: np.ndarray | None, *, epsilon: float, max_categories: int) -> dict[str, Any]:
    r, c = _categories(ref), _categories(cur)
    r_counts = r.value_counts()
    seen = set(r_counts.index)
    kept = [k for k in r_counts.index if k != MISSING][:max_categories]
    c_counts = c.value_counts()
    new = [k for k in c_counts.index if k not in seen]  # the most common first
    labels = kept + [OTHER, MISSING, NEW]
    r_bins, c_bins = _category_bins(r, kept, seen), _category_bins(c, kept, seen)
    r_shares = _bin_counts(r_bins, labels) / max(len(r), 1)
    c_shares = _bin_counts(c_bins, labels) / max(len(c), 1)
    psi = population_stability_index(r_shares, c_shares, epsilon=epsilon)
    table = np.vstack([_bin_counts(_take(r_bins.to_numpy(), idx_ref), labels),
                       _bin_counts(_take(c_bins.to_numpy(), idx_cur), labels)])
    statistic, p_value = _chi2(table)
    r_top, r_top_share = _top(r)
    c_top, c_top_share = _top(c)
    return dict(feature=name, kind=CATEGORICAL, psi=psi, statistic=statistic, test=CHI2, p_value=p_value,
                reference_rows=len(r), current_rows=len(c), test_rows=(int(table[0].sum()), int(table[1].sum())),
                reference_missing=_share(int((r == MISSING).sum()), len(r)),
                current_missing=_share(int((c == MISSING).sum()), len(c)),
                reference_top=r_top, reference_top_share=r_top_share, current_top=c_top,
                current_top_share=c_top_share, new_categories=tuple(new[:20]),
                new_share=_share(int(c.isin(new).sum()), len(c)))


def _category_bins(labels: pd.Series, kept: list[str], seen: set[str]) -> pd.Series:
    keep = labels.isin(kept) | (labels == MISSING)
    return labels.where(keep, np.where(labels.isin(list(seen)), OTHER, NEW))


def _bin_counts(values: Sequence[str] | np.ndarray, labels: list[str]) -> np.ndarray:
    counts = pd.Series(values, dtype="object").value_counts()
    return counts.reindex(labels, fill_value=0).to_numpy(dtype="float64")


def _top(labels: pd.Series) -> tuple[str | None, float | None]:
    present = labels[labels != MISSING]
    if present.empty:
        return None, None
    counts = present.value_counts()
    return str(counts.index[0]), float(counts.iloc[0] / len(labels))


# ------------------------------------------------------------------------------------------------ helpers
def _chi2(table: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-squared statistic and p-value of a 2 x k table (no Yates correction); columns empty on
    both sides are dropped, and a table with fewer than two columns left shows no difference (0, 1)."""
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    res = stats.chi2_contingency(table, correction=False)
    return float(res.statistic), float(res.pvalue)


def _adjust(p_values: list[float]) -> list[float]:
    p = np.asarray(p_values, dtype="float64")
    out = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(np.clip(p[ok], 0.0, 1.0), method="bh")
    return out.tolist()


def _sample_rows(n: int, limit: int, seed: int) -> np.ndarray | None:
    """Sorted row positions of a `limit`-row sample without replacement (None: every row)."""
    if n <= limit:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def _take(values: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
    return values if idx is None else values[idx]


def _share(part: int, whole: int) -> float:
    return float(part / whole) if whole else float("nan")


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value
