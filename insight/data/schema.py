"""Infer the role of every column, clean what real exports contain, and validate a frame against a spec.

Roles: numeric, boolean, categorical and date columns become features; identifiers, row numbers,
free text, constant columns and columns that predict the target almost perfectly on their own are set
aside with a reason (`--keep COL` overrides). An aux target is not a feature unless it is also given as
`--keep` (a present-state value known when a customer is scored, such as tenure): then the churn models use
it as a feature and the multi-task network learns it as a target only. Numbers stored as text (with blanks,
currency signs or thousands separators), Yes/No flags and Yes/No targets are converted.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from insight.config import DataSpec
from insight.data.names import check_output_names, output_names
from insight.data.reading import LEFT_OUT
from insight.errors import InputError

log = logging.getLogger(__name__)

MIN_ROWS = 100
MIN_PER_CLASS = 10
LEAKAGE_AUC = 0.97
HIGH_CARDINALITY = 100
HIGH_CARDINALITY_SHARE = 0.05
ID_NAME_TOKENS = {"id", "ids", "number", "num", "no", "nr", "key", "code", "uuid", "guid", "index", "idx", "row"}
TRUE_TOKENS = {"yes", "y", "true", "t", "1", "1.0"}
FALSE_TOKENS = {"no", "n", "false", "f", "0", "0.0"}
POSITIVE_TOKENS = TRUE_TOKENS | {"churn", "churned", "left", "lost", "cancelled", "canceled", "exited",
                                 "inactive", "positive", "attrited", "attrited customer"}
NEGATIVE_TOKENS = FALSE_TOKENS | {"stayed", "retained", "active", "existing", "existing customer", "negative",
                                  "current"}
NUMBER_LIMIT = 1e100
"""Infinities and numbers beyond ±NUMBER_LIMIT are missing values (a standard deviation squares them)."""
NUMBER_JUNK = re.compile(r"^[\s$€£¥]+|[\s%]+$|,(?=\d{3}\b)")


class Role(StrEnum):
    NUMERIC = "numeric"
    BOOLEAN = "boolean"
    CATEGORICAL = "categorical"
    DATE = "date"
    ID = "id"
    TEXT = "text"
    CONSTANT = "constant"
    LEAKAGE = "leakage"
    EXCLUDED = "excluded"


FEATURE_ROLES = frozenset({Role.NUMERIC, Role.BOOLEAN, Role.CATEGORICAL, Role.DATE})


@dataclass(frozen=True)
class ColumnRole:
    name: str
    role: Role
    reason: str = ""

    @property
    def is_feature(self) -> bool:
        return self.role in FEATURE_ROLES


@dataclass(frozen=True)
class Schema:
    """The role of every non-target column and how the target was read."""

    columns: tuple[ColumnRole, ...]
    positive_label: str

    @property
    def features(self) -> list[str]:
        return [c.name for c in self.columns if c.is_feature]

    @property
    def dropped(self) -> list[ColumnRole]:
        return [c for c in self.columns if not c.is_feature]

    def role(self, name: str) -> Role:
        return next(c.role for c in self.columns if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {"positive_label": self.positive_label,
                "columns": [{"name": c.name, "role": str(c.role), "reason": c.reason} for c in self.columns]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        cols = tuple(ColumnRole(c["name"], Role(c["role"]), c.get("reason", "")) for c in d["columns"])
        return cls(columns=cols, positive_label=d["positive_label"])


@dataclass(frozen=True)
class CleanTable:
    """A validated table: the id column, features in clean dtypes, the churn target as 0/1 (NaN where
    unknown) and auxiliary targets as floats (an aux target kept as a feature is that one float column)."""

    frame: pd.DataFrame
    schema: Schema

    @property
    def features(self) -> list[str]:
        return self.schema.features


def clean_table(frame: pd.DataFrame, spec: DataSpec) -> CleanTable:
    """Validate `frame` against `spec`, infer column roles and return the cleaned table."""
    validate_spec(frame, spec)
    frame = frame.reset_index(drop=True)  # every column below is matched to the rows by position
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    out[spec.id_column] = frame[spec.id_column].to_numpy()
    target, positive = clean_target(frame[spec.target], spec.target, spec.positive_label)
    out[spec.target] = target
    for aux in spec.aux_targets:
        out[aux] = clean_aux_target(frame[aux], aux)

    roles: list[ColumnRole] = []
    cleaned: dict[str, pd.Series] = {}
    kept_aux, reserved = kept_aux_targets(spec), output_names(spec)
    for name in frame.columns:
        if name in kept_aux:  # a present-state value: one column, the aux target's floats, also a feature
            roles.append(ColumnRole(name, _kept_aux_role(frame[name], name), "aux target kept by --keep"))
            continue
        if name in (spec.id_column, *spec.targets):
            continue
        if name == spec.time_column:  # kept in the customer table as a dropped input, never a feature
            roles.append(ColumnRole(name, Role.EXCLUDED, "the snapshot date (--time): never a feature"))
            continue
        if name in (spec.treatment_column, spec.propensity_column):  # customers to come have no such column
            roles.append(ColumnRole(name, Role.EXCLUDED, "the past campaign (--treatment/--propensity): never a feature"))
            continue
        if name in spec.exclude:
            if name not in reserved:  # one named like an output column is left out of the run altogether
                roles.append(ColumnRole(name, Role.EXCLUDED, "excluded by --exclude"))
            continue
        series, role, reason = infer_column(frame[name], name)
        if role not in FEATURE_ROLES and name in spec.keep:
            series, role, reason = _force_feature(frame[name])
        roles.append(ColumnRole(name, role, reason))
        if role in FEATURE_ROLES:
            cleaned[name] = series
    features = pd.DataFrame(cleaned, index=out.index)
    leaks = leaking_columns(features, target, keep=spec.keep)
    roles = [ColumnRole(r.name, Role.LEAKAGE, leaks[r.name]) if r.name in leaks else r for r in roles]
    features = features.drop(columns=list(leaks))
    result = pd.concat([out, features], axis=1)
    schema = Schema(columns=tuple(roles), positive_label=positive)
    for col in schema.dropped:
        log.warning("column %r is not used as a feature: %s", col.name, col.reason)
    if not schema.features:
        raise InputError("no usable feature columns remain after removing ids, text, constant and leaking "
                         "columns; add feature columns to the table or pass --keep COL.")
    if not set(schema.features) - set(spec.targets):
        raise InputError("every feature is also an aux target (--aux with --keep), and the multi-task network "
                         "never reads its own targets, so it would have no input; add feature columns to the "
                         "table or pass --keep COL for one the guards dropped.")
    return CleanTable(frame=result, schema=schema)


def kept_aux_targets(spec: DataSpec) -> tuple[str, ...]:
    """Aux targets also given as --keep (and not --exclude): present-state values, known when a customer is
    scored, that the multi-task network learns as targets and the churn models use as features."""
    return tuple(a for a in spec.aux_targets if a in spec.keep and a not in spec.exclude)


def _kept_aux_role(series: pd.Series, name: str) -> Role:
    """The feature role of a kept aux target, whose clean values are the aux target's floats (a number, or a
    yes/no flag as 0/1): boolean when the column reads as a flag, numeric otherwise (also for a constant or
    id-like column, which --keep keeps as a number)."""
    _, role, _ = infer_column(series, name)
    return Role.BOOLEAN if role is Role.BOOLEAN else Role.NUMERIC


def validate_spec(frame: pd.DataFrame, spec: DataSpec) -> None:
    """Raise InputError if the frame cannot be trained on with this spec."""
    if frame.shape[1] == 0 or len(frame) == 0:
        raise InputError("the table is empty (no rows); give a table with one row per customer.")
    left_out = frame.attrs.get(LEFT_OUT, {})
    for role, name in [("id", spec.id_column), ("target", spec.target),
                       *[("aux target", a) for a in spec.aux_targets], *[("--keep", k) for k in spec.keep],
                       *[("--actionable", a) for a in spec.actionable], *[("--exclude", e) for e in spec.exclude],
                       *[("--time", t) for t in (spec.time_column,) if t]]:
        if name in left_out and role != "--exclude":
            raise InputError(f"{role} column {name!r} cannot be used: it {left_out[name]}.")
        if name not in frame.columns and name not in left_out:
            close = _did_you_mean(name, frame.columns, n=3 if role == "--exclude" else 1)
            raise InputError(f"{role} column {name!r} is not in the table{close}. "
                             f"Columns are: {_column_list(frame.columns)}.")
    check_output_names(frame.columns, spec)
    if spec.target == spec.id_column or spec.target in spec.aux_targets or spec.id_column in spec.aux_targets:
        raise InputError("the id, the target and the aux targets must be different columns.")
    if len(set(spec.aux_targets)) != len(spec.aux_targets):
        raise InputError("an aux target is given twice; name each --aux column once.")
    if spec.time_column in (spec.id_column, *spec.targets):
        raise InputError(f"--time column {spec.time_column!r} is also the id or a target; the snapshot date "
                         "must be a column of its own.")
    ids = frame[spec.id_column]
    if ids.isna().any():
        raise InputError(f"id column {spec.id_column!r} has {int(ids.isna().sum())} empty values; every customer "
                         "needs an id.")
    if spec.time_column:  # snapshots: an id once per snapshot date
        from insight.data.snapshots import check_ids_per_snapshot

        check_ids_per_snapshot(frame, spec.id_column, spec.time_column)
        dup = ids.iloc[:0]
    else:
        dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(f"id column {spec.id_column!r} has {len(dup)} duplicated values (e.g. {dup.iloc[0]!r}); "
                         "ids must be unique: deduplicate the table or choose another --id.")
    if len(frame) < MIN_ROWS:
        raise InputError(f"the table has {len(frame)} rows; at least {MIN_ROWS} customers are needed to train.")


def clean_target(series: pd.Series, name: str, positive_label: str | None = None) -> tuple[pd.Series, str]:
    """Return the churn target as float 0/1 with NaN where unknown, and the label read as positive."""
    s = series
    if pd.api.types.is_bool_dtype(s):
        s = s.astype("float64")
    if pd.api.types.is_numeric_dtype(s):
        values = set(pd.unique(s.dropna()))
        labels = {str(v) for v in values}
        if not values <= {0, 1} and (positive_label is None or len(values) > 2):
            raise InputError(f"target {name!r} must be binary (churned or not) but has values "
                             f"{sorted(labels)[:6]}; pass a 0/1 or yes/no column as --target.")
        y = s.astype("float64")
        positive = "1"
        if positive_label is not None:  # an explicit --positive also applies to numbers (e.g. 0 = churned)
            number = pd.to_numeric(pd.Series([positive_label.strip()]), errors="coerce").iloc[0]
            if pd.isna(number) or number not in values:
                raise InputError(f"--positive {positive_label!r} is not a value of target {name!r} "
                                 f"(values: {sorted(labels)}).")
            y = (s == number).astype("float64").where(s.notna())
            positive = positive_label.strip()
    else:
        text = s.astype("string").str.strip()
        text = text.mask(text == "")
        lower = text.str.lower()
        values = sorted(set(lower.dropna()))
        if len(values) > 2:
            raise InputError(f"target {name!r} must be binary (churned or not) but has {len(values)} different "
                             f"values, e.g. {values[:5]}; choose a yes/no column as --target.")
        if positive_label is not None:
            positive = positive_label.strip().lower()
            if positive not in values:
                raise InputError(f"--positive {positive_label!r} is not a value of target {name!r} "
                                 f"(values: {values}).")
        else:
            hits = [v for v in values if v in POSITIVE_TOKENS]
            negs = [v for v in values if v in NEGATIVE_TOKENS]
            if len(hits) == 1 and (len(values) == 1 or len(negs) == 1 or len(values) == 2):
                positive = hits[0]
            elif len(values) == 2 and len(negs) == 1:
                positive = next(v for v in values if v not in negs)
            elif not values or values == negs:
                positive = ""  # no churners at all: the one-class check below says so
            else:
                raise InputError(f"cannot tell which value of target {name!r} means churned (values: {values}); "
                                 "pass --positive VALUE.")
        y = (lower == positive).astype("float64").where(lower.notna())
    labelled = y.dropna()
    if labelled.empty:
        raise InputError(f"target {name!r} has no values (every cell is empty); choose the churn column as "
                         "--target.")
    if labelled.nunique() < 2:
        only = "churned" if labelled.size and labelled.iloc[0] == 1 else "not churned"
        raise InputError(f"target {name!r} has one class only (every labelled customer is {only}); the churn "
                         "model needs both churners and non-churners.")
    counts = labelled.value_counts()
    if counts.min() < MIN_PER_CLASS:
        raise InputError(f"target {name!r} has only {int(counts.min())} customers in one class; at least "
                         f"{MIN_PER_CLASS} churners and {MIN_PER_CLASS} non-churners are needed.")
    return y.rename(name), positive


def clean_aux_target(series: pd.Series, name: str) -> pd.Series:
    """An auxiliary target as float: numbers, numbers stored as text, or yes/no flags."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series):
        return finite_numbers(series.astype("float64"))
    as_bool = _parse_boolean(series)
    if as_bool is not None:
        return as_bool
    as_num = _parse_numeric_text(series)
    if as_num is not None:
        return as_num
    sample = series.dropna().astype(str).head(3).tolist()
    raise InputError(f"aux target {name!r} is not numeric (values like {sample}); an aux target must be a number "
                     "or a yes/no flag. Choose another --aux column.")


def infer_column(series: pd.Series, name: str) -> tuple[pd.Series, Role, str]:
    """Return (clean series, role, reason) for one input column."""
    non_null = series.dropna()
    if pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series):
        stripped = series.astype("string").str.strip()
        non_null = stripped[stripped.notna() & (stripped != "")]
    n_distinct = non_null.nunique()
    if n_distinct <= 1:
        return series, Role.CONSTANT, "constant: a single value" if n_distinct else "constant: every value empty"
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64"), Role.BOOLEAN, ""
    if pd.api.types.is_datetime64_any_dtype(series):
        return coerce_date(series), Role.DATE, ""
    if pd.api.types.is_numeric_dtype(series):
        values = finite_numbers(series.astype("float64"))
        if n_distinct == 2 and set(non_null.unique()) <= {0, 1}:
            return values, Role.BOOLEAN, ""
        if _looks_like_identifier(values, name):
            return series, Role.ID, "identifier or row number: every value is a distinct whole number"
        return values, Role.NUMERIC, ""
    as_bool = _parse_boolean(series)
    if as_bool is not None:
        return as_bool, Role.BOOLEAN, ""
    as_num = _parse_numeric_text(series)
    if as_num is not None:
        if _looks_like_identifier(as_num, name):
            return series, Role.ID, "identifier: every value is a distinct number"
        return as_num, Role.NUMERIC, ""
    as_date = _parse_dates(non_null)
    if as_date:
        return coerce_date(series), Role.DATE, ""
    share = n_distinct / max(len(non_null), 1)
    if share > 0.9 and _has_id_name(name):
        return series, Role.ID, f"identifier: {share:.0%} of values are distinct"
    if n_distinct > HIGH_CARDINALITY and share > HIGH_CARDINALITY_SHARE:
        return series, Role.TEXT, (f"free text or near-unique strings: {n_distinct} distinct values "
                                   f"({share:.0%} of rows)")
    return coerce_categorical(series), Role.CATEGORICAL, ""


def coerce_column(series: pd.Series, role: Role, name: str) -> pd.Series:
    """Convert a raw column to the clean dtype of its role (used again when scoring new data)."""
    if role is Role.CATEGORICAL:
        return coerce_categorical(series)
    if role is Role.DATE:
        return coerce_date(series)
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return finite_numbers(series.astype("float64"))
    if role is Role.BOOLEAN:
        text = series.astype("string").str.strip().str.lower()
        text = text.mask(text == "")
        if (text.isna() | text.isin(list(TRUE_TOKENS | FALSE_TOKENS))).all():
            return text.isin(list(TRUE_TOKENS)).astype("float64").where(text.notna())
    else:
        parsed = _parse_numeric_text(series) if series.notna().any() else series.astype("float64")
        if parsed is not None:
            return parsed
    bad = series.dropna().astype(str).head(3).tolist()
    raise InputError(f"column {name!r} should hold {role} values but has values like {bad}; fix the column or "
                     "leave it empty where unknown.")


def finite_numbers(values: pd.Series) -> pd.Series:
    """Float `values` with infinities and numbers beyond ±NUMBER_LIMIT as missing (with a warning)."""
    bad = values.abs() > NUMBER_LIMIT
    if not bad.any():
        return values
    log.warning("column %r: %d value(s) are infinite or beyond ±%.0e (e.g. %s) and are treated as missing.",
                values.name, int(bad.sum()), NUMBER_LIMIT, values[bad].iloc[0])
    return values.mask(bad)


def coerce_categorical(series: pd.Series) -> pd.Series:
    """Strings with surrounding blanks removed; empty strings become missing."""
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def coerce_date(series: pd.Series) -> pd.Series:
    """Datetimes without time zone; unparseable values become missing."""
    if pd.api.types.is_datetime64_any_dtype(series):
        dates = pd.to_datetime(series)
    else:
        dates = pd.to_datetime(series.astype("string").str.strip(), errors="coerce", format="mixed")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return dates.astype("datetime64[ns]")


def leaking_columns(features: pd.DataFrame, target: pd.Series, *, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """Columns that predict the target almost perfectly on their own (cross-fitted single-column AUC)."""
    from sklearn.metrics import roc_auc_score

    labelled = target.notna().to_numpy()
    y = target.to_numpy()[labelled]
    rng = np.random.default_rng(0)
    fold = rng.integers(0, 2, size=int(labelled.sum()))
    leaks: dict[str, str] = {}
    for name in features.columns:
        if name in keep:
            continue
        codes = _bin_codes(features[name])[labelled]
        score = np.empty(len(y))
        for k in (0, 1):
            fit, apply = fold != k, fold == k
            sums = np.bincount(codes[fit], weights=y[fit], minlength=codes.max() + 1)
            counts = np.bincount(codes[fit], minlength=codes.max() + 1)
            prior = y[fit].mean()
            rate = (sums + 10 * prior) / (counts + 10)
            score[apply] = rate[codes[apply]]
        auc = roc_auc_score(y, score)
        if auc >= LEAKAGE_AUC:
            leaks[name] = (f"leakage: predicts the target almost perfectly on its own (AUC {auc:.3f}); it is "
                           "probably recorded after the outcome. Pass --keep to use it anyway")
    return leaks


def _bin_codes(series: pd.Series, bins: int = 20) -> np.ndarray:
    """Integer codes: quantile bins for numbers and dates, category codes otherwise; 0 means missing."""
    if pd.api.types.is_datetime64_any_dtype(series):
        series = series.astype("int64").where(series.notna())
    if pd.api.types.is_numeric_dtype(series):
        ranks = series.rank(method="average", pct=True)
        codes = np.ceil(ranks.fillna(0).to_numpy() * bins).astype(np.int64)
        return codes
    codes = pd.factorize(series, use_na_sentinel=True)[0]
    return (codes + 1).astype(np.int64)


def _force_feature(series: pd.Series) -> tuple[pd.Series, Role, str]:
    if pd.api.types.is_numeric_dtype(series):
        return finite_numbers(series.astype("float64")), Role.NUMERIC, "kept by --keep"
    return series.astype("string"), Role.CATEGORICAL, "kept by --keep"


def _parse_boolean(series: pd.Series) -> pd.Series | None:
    text = series.astype("string").str.strip().str.lower()
    text = text.mask(text == "")
    values = set(text.dropna().unique())
    if not values or len(values) > 2:
        return None
    if values <= TRUE_TOKENS | FALSE_TOKENS and values & TRUE_TOKENS and values & FALSE_TOKENS:
        return text.isin(TRUE_TOKENS).astype("float64").where(text.notna())
    return None


def _parse_numeric_text(series: pd.Series) -> pd.Series | None:
    text = series.astype("string").str.strip()
    text = text.mask(text == "")
    present = text.notna()
    if not present.any():
        return None
    cleaned = text.str.replace(NUMBER_JUNK, "", regex=True)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    parsed_share = numbers[present].notna().mean()
    if parsed_share < 0.95:
        return None
    return finite_numbers(numbers.astype("float64"))


def _parse_dates(non_null: pd.Series) -> bool:
    sample = non_null.astype(str).head(500)
    if sample.empty or not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).mean() > 0.9:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.9)


def _has_id_name(name: str) -> bool:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    tokens = {t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t}
    return bool(tokens & ID_NAME_TOKENS) or name.lower().endswith("id")


def _looks_like_identifier(values: pd.Series, name: str) -> bool:
    v = values.dropna()
    if v.empty or not np.all(np.mod(v.to_numpy(), 1) == 0):
        return False
    unique_share = v.nunique() / len(v)
    if unique_share < 0.99:
        return False
    if _has_id_name(name):
        return True
    arr = v.to_numpy()
    contiguous = arr.max() - arr.min() + 1 == len(arr)
    return bool(contiguous or (len(arr) >= 500 and unique_share == 1.0))


def _did_you_mean(name: str, columns: pd.Index, n: int = 1) -> str:
    cols = [str(c) for c in columns]
    lower = {c.lower(): c for c in cols}
    close = [lower[name.lower()]] if name.lower() in lower else difflib.get_close_matches(name, cols, n=n)
    if not close:
        return ""
    return f" (did you mean {' or '.join(', '.join(map(repr, close)).rsplit(', ', 1))}?)"


def _column_list(columns: pd.Index, limit: int = 30) -> str:
    cols = [str(c) for c in columns]
    return ", ".join(cols[:limit]) + (f", … ({len(cols) - limit} more)" if len(cols) > limit else "")
