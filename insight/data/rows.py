"""New rows to score, cleaned the one way: the feature columns brought to the dtypes training used.

Every path that scores rows the models did not train on goes through `clean_rows`: `insight score` (batch,
local or Dask), what-if edits, the held-out fold of cross-validation and re-scoring a saved run's own table.

- every feature column the model was trained on must be present (InputError naming the missing ones); extra
  columns are ignored; a feature column may be empty (scored as missing);
- blank and empty values are missing; numbers may be text (currency signs, thousands separators and percent
  signs are removed as in training). With `strict` (new customers), any value that cannot be read as its
  column's type (a number, yes/no, a date) is an InputError naming the column, an example value and its
  customer; without it (rows of the training table itself, as cross-validation holds them out) such values
  become missing within the tolerance training's own cleaning allows;
- categories not seen in training are left as they are here; `insight.data.features.encode` scores them the
  way training treats rare categories ("Other" when training pooled rare categories, else missing), and
  `unseen_categories` counts them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insight.data.features import OTHER, Feature, FeatureMap
from insight.data.schema import FALSE_TOKENS, NUMBER_JUNK, TRUE_TOKENS, Role, coerce_categorical, coerce_column
from insight.errors import InputError


def check_feature_columns(columns: list[str], fmap: FeatureMap, *, where: str, id_column: str | None = None,
                          run_id: str | None = None) -> None:
    """InputError unless the id column (when given) and every feature column are present."""
    if id_column is not None and id_column not in columns:
        owner = f" (the id column of run {run_id})" if run_id else ""
        raise InputError(f"{where}: no id column {id_column!r}{owner}; add it or rename yours to it.")
    missing = [f.name for f in fmap.features if f.name not in columns]
    if missing:
        shown = ", ".join(missing[:10]) + (f", … ({len(missing) - 10} more)" if len(missing) > 10 else "")
        raise InputError(f"{where}: lacks {len(missing)} feature column(s) the model was trained on: {shown}. "
                         "Add them; a column may be empty where values are unknown (scored as missing).")


def clean_rows(frame: pd.DataFrame, fmap: FeatureMap, *, ids: pd.Series | None = None,
               strict: bool = True) -> pd.DataFrame:
    """The feature columns of `frame` in the clean dtypes training used (see the module docstring).

    `ids` (the customers' ids) name the customer of a bad value in the error message.
    """
    check_feature_columns(list(frame.columns), fmap, where="the table")
    if ids is None:
        ids = pd.Series(frame.index, index=frame.index)
    columns = {}
    for feat in fmap.features:
        if strict:
            _refuse_unreadable(frame[feat.name], feat, ids)
        columns[feat.name] = coerce_column(frame[feat.name], feat.role, feat.name)
    return pd.DataFrame(columns, index=frame.index)


def unseen_categories(series: pd.Series, feat: Feature) -> np.ndarray:
    """True where a categorical value is present but was not one of training's categories."""
    text = coerce_categorical(series)
    known = set(feat.categories) - {OTHER, f"{OTHER} "}
    return (text.notna() & ~text.isin(list(known))).to_numpy(dtype=bool)


def _refuse_unreadable(series: pd.Series, feat: Feature, ids: pd.Series) -> None:
    """InputError when a present value cannot be read as the feature's type."""
    if feat.role is Role.CATEGORICAL:
        return
    present = _present(series)
    if feat.role is Role.DATE:
        dates = "dates (e.g. 2024-05-31)"
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            _bad_value(series, feat, ids, present, dates)
        _bad_value(series, feat, ids, present & coerce_column(series, feat.role, feat.name).isna().to_numpy(), dates)
        return
    if pd.api.types.is_datetime64_any_dtype(series):
        _bad_value(series, feat, ids, present, _kind(feat))
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        if feat.role is Role.BOOLEAN:
            values = series.astype("float64").to_numpy()
            _bad_value(series, feat, ids, ~np.isnan(values) & ~np.isin(values, [0.0, 1.0]), _kind(feat))
        return
    if feat.role is Role.BOOLEAN:
        tokens = series.astype("string").str.strip().str.lower()
        readable = tokens.isin(list(TRUE_TOKENS | FALSE_TOKENS)).to_numpy(dtype=bool, na_value=False)
        _bad_value(series, feat, ids, present & ~readable, _kind(feat))
        return
    text = series.astype("string").str.strip()
    numbers = pd.to_numeric(text.str.replace(NUMBER_JUNK, "", regex=True).mask(text == ""), errors="coerce")
    _bad_value(series, feat, ids, present & numbers.isna().to_numpy(), _kind(feat))


def _present(series: pd.Series) -> np.ndarray:
    """Not missing and not blank."""
    present = series.notna().to_numpy(dtype=bool)
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        blank = series.astype("string").str.strip().eq("").to_numpy(dtype=bool, na_value=False)
        present = present & ~blank
    return present


def _kind(feat: Feature) -> str:
    return "yes/no values (yes, no, true, false, 1, 0)" if feat.role is Role.BOOLEAN else "numbers"


def _bad_value(series: pd.Series, feat: Feature, ids: pd.Series, bad: np.ndarray, kind: str) -> None:
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    raise InputError(f"column {feat.name!r} should hold {kind} but {int(bad.sum())} value(s) cannot be read as "
                     f"one, e.g. {str(series.iloc[first])!r} (customer {ids.iloc[first]!r}, column type {series.dtype}"
                     "); fix them, or leave them empty where unknown (blanks are scored as missing).")
