"""Is a past campaign's treatment column fit to learn uplift from? Clear messages when it is not.

`check_treatment` refuses (insight.errors.InputError):
- a treatment that is not 0/1 (booleans count; the message names the values seen, missing ones included);
- a treated or control group under `min_group` customers (the message says how many of each);
- a propensity column outside (0, 1) (0 or 1 means someone could never, or always, be treated: no
  comparison is possible for them);
- without a propensity column, a treatment the features predict almost perfectly: the out-of-fold AUC of a
  LightGBM classifier of the treatment on the features is at least `max_auc` (0.9). Uplift models assume the
  offer was randomised (or that its probability is known); a targeted campaign confounds the offer's effect
  with who was picked.

It returns the propensity the learners use: the treated share for everyone when the campaign was randomised
(no column), the given column otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from insight.errors import InputError

log = logging.getLogger(__name__)

MIN_GROUP = 200
"""Fewest customers in the treated and in the control group: the held-out validation split needs enough of
both to rank learners by their Qini coefficient."""
MAX_AUC = 0.9
"""A treatment the features predict with an out-of-fold AUC at or above this was not randomised."""
AUC_FOLDS = 3
AUC_MAX_ROWS = 20_000
"""The propensity check fits on at most this many customers (a random sample)."""


@dataclass(frozen=True)
class TreatmentCheck:
    treatment: np.ndarray
    """0/1 int8, one per customer."""
    propensity: np.ndarray
    """P(treated | customer): the constant treated share when randomised, the given column otherwise."""
    treated: int
    control: int
    auc: float | None
    """Out-of-fold AUC of the treatment from the features (None when a propensity column was given)."""
    randomised: bool
    """No propensity column was given: the assignment is taken as random with a constant share."""

    def to_dict(self) -> dict[str, object]:
        return {"treated": self.treated, "control": self.control, "treated_share": round(self.treated / (self.treated + self.control), 6),
                "propensity_auc": None if self.auc is None else round(self.auc, 4), "randomised": self.randomised}


def treatment_flags(treatment: np.ndarray | pd.Series, *, name: str = "treatment") -> np.ndarray:
    """The column as 0/1 int8, or InputError naming the values that are not 0 or 1."""
    s = pd.Series(treatment)
    if pd.api.types.is_bool_dtype(s) and not s.isna().any():
        return s.to_numpy(dtype=np.int8)
    numbers = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s) else s.astype(float)
    ok = numbers.isin([0.0, 1.0]) & s.notna()
    if bool(ok.all()):
        return numbers.to_numpy(dtype=np.int8)
    bad = s[~ok]
    seen = sorted({"missing" if pd.isna(v) else repr(v.item() if hasattr(v, "item") else v) for v in bad})
    shown = ", ".join(seen[:5]) + (f" and {len(seen) - 5} more" if len(seen) > 5 else "")
    raise InputError(f"The {name} column must be 0 (not offered) or 1 (offered) for every customer; "
                     f"{len(bad)} rows hold other values: {shown}. Recode it to 0/1 (or leave those customers out).")


def _matrix(features: np.ndarray | pd.DataFrame) -> tuple[np.ndarray, list[int]]:
    """Trees' matrix of a frame (numbers as they are, other columns as category codes) or the matrix given."""
    if not isinstance(features, pd.DataFrame):
        return np.asarray(features, dtype=np.float64), []
    cols, cats = [], []
    for j, c in enumerate(features.columns):
        s = features[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            cols.append(s.to_numpy(dtype=float, na_value=np.nan))
        else:
            codes = pd.factorize(s, use_na_sentinel=True)[0].astype(float)
            codes[codes < 0] = np.nan
            cols.append(codes)
            cats.append(j)
    return np.column_stack(cols) if cols else np.zeros((len(features), 0)), cats


def propensity_auc(X: np.ndarray, treatment: np.ndarray, *, categorical: list[int] | None = None,
                   seed: int = 0) -> float:
    """Out-of-fold AUC of a LightGBM classifier of the treatment on the features (0.5: no better than chance)."""
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    t = np.asarray(treatment, dtype=int)
    rows = np.arange(len(t))
    if len(rows) > AUC_MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=AUC_MAX_ROWS, replace=False))
    Xs, ts = np.asarray(X, dtype=np.float64)[rows], t[rows]
    if Xs.shape[1] == 0:
        return 0.5
    p = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 20,
         "lambda_l2": 1.0, "seed": seed, "deterministic": True, "force_col_wise": True, "num_threads": 1,
         "verbosity": -1}
    oof = np.zeros(len(ts))
    for fit, hold in StratifiedKFold(AUC_FOLDS, shuffle=True, random_state=seed).split(Xs, ts):
        data = lgb.Dataset(Xs[fit], label=ts[fit], categorical_feature=categorical or [])
        booster = lgb.train(p, data, num_boost_round=100)
        oof[hold] = booster.predict(Xs[hold], raw_score=True, num_threads=1)
    return float(roc_auc_score(ts, oof))


def check_treatment(treatment: np.ndarray | pd.Series, features: np.ndarray | pd.DataFrame,
                    propensity: np.ndarray | pd.Series | None = None, *, categorical: list[int] | None = None,
                    min_group: int = MIN_GROUP, max_auc: float = MAX_AUC, name: str = "treatment",
                    propensity_name: str = "propensity", seed: int = 0) -> TreatmentCheck:
    """Check a campaign's treatment (and propensity) column against the customers' features (a matrix, with
    `categorical` column positions, or a frame); see the module docstring."""
    t = treatment_flags(treatment, name=name)
    X, frame_cats = _matrix(features)
    if len(X) != len(t):
        raise ValueError(f"{len(t)} treatment values for {len(X)} customers")
    treated, control = int(t.sum()), int(len(t) - t.sum())
    if min(treated, control) < min_group:
        small = "treated" if treated < control else "control"
        raise InputError(f"The {name} column has {treated} treated and {control} control customers; the {small} "
                         f"group needs at least {min_group} to estimate who the offer moves. Use a campaign with "
                         f"a larger {small} group.")
    if propensity is not None:
        e = pd.to_numeric(pd.Series(propensity), errors="coerce").to_numpy(dtype=float)
        if len(e) != len(t):
            raise ValueError(f"{len(e)} propensity values for {len(t)} customers")
        bad = ~((e > 0) & (e < 1))
        if bad.any():
            example = e[bad][0]
            raise InputError(f"The {propensity_name} column is each customer's probability of being offered and must "
                             f"lie strictly between 0 and 1; {int(bad.sum())} rows do not (for example "
                             f"{'missing' if np.isnan(example) else f'{example:g}'}).")
        log.info("treatment: %d treated, %d control, propensity given (%.3f-%.3f)", treated, control, e.min(), e.max())
        return TreatmentCheck(treatment=t, propensity=e, treated=treated, control=control, auc=None, randomised=False)
    auc = propensity_auc(X, t, categorical=categorical if categorical is not None else frame_cats, seed=seed)
    if auc >= max_auc:
        raise InputError(f"The features predict the {name} column almost perfectly (cross-validated AUC {auc:.2f}, "
                         f"at least {max_auc:g}): the offer was targeted, not randomised, so its effect cannot be told "
                         f"apart from who was picked. Give the probability each customer had of being offered "
                         f"(--propensity COL), or use a randomised campaign.")
    if auc >= 0.6:
        log.warning("the features predict the treatment somewhat (AUC %.2f): uplift assumes a randomised offer", auc)
    share = treated / len(t)
    log.info("treatment: %d treated, %d control, propensity AUC %.3f", treated, control, auc)
    return TreatmentCheck(treatment=t, propensity=np.full(len(t), share), treated=treated, control=control, auc=auc,
                          randomised=True)
