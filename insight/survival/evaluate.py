"""Cross-validation of the survival model against Cox PH and Kaplan-Meier on the same folds.

`cross_validate_survival` returns, like the churn models' cross-validation, `models.<name>.<metric>` as
{mean, std} over folds for `survival` (the hazard model), `cox` and `kaplan_meier`: `concordance` (Uno's, IPCW,
up to the last time of the evaluation grid), `harrell_concordance`, `integrated_brier`, and per horizon
`brier_<H>` and `calibration_error_<H>` (insight.survival.metrics.horizon_calibration).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from insight.runs.layout import horizon_label
from insight.survival import metrics
from insight.survival.baselines import fit_cox, fit_kaplan_meier
from insight.survival.encoding import event_indicator
from insight.survival.hazard import HazardConfig, fit_hazard_model

log = logging.getLogger(__name__)

MODELS = ("survival", "cox", "kaplan_meier")


def _column(frame: pd.DataFrame, value: str | np.ndarray | pd.Series) -> np.ndarray:
    return frame[value].to_numpy() if isinstance(value, str) else np.asarray(value)


def fold_metrics(model: Any, test: pd.DataFrame, d_test: np.ndarray, e_test: np.ndarray, *,
                 d_train: np.ndarray, e_train: np.ndarray, times: np.ndarray,
                 horizons: tuple[float, ...]) -> dict[str, float]:
    """Every figure of one model on one held-out fold.

    The IPCW figures (Uno's concordance, the Brier scores) weight test customers by the training customers'
    censoring distribution, which is unknown past the longest training duration: a test customer observed
    longer counts as censored there (they stayed at least that long), as scikit-survival requires."""
    kw = {"train_duration": d_train, "train_event": e_train}
    longest = float(np.max(d_train))
    d_ipcw = np.minimum(d_test, longest)
    e_ipcw = np.asarray(e_test, dtype=bool) & (np.asarray(d_test, dtype=float) <= longest)
    c = metrics.concordance(model, test, d_ipcw, e_ipcw, tau=float(times[-1]), **kw)
    out = {"concordance": c["uno"], "harrell_concordance": c["harrell"],
           "integrated_brier": metrics.integrated_brier(model, test, d_ipcw, e_ipcw, times=times, **kw)}
    for h, score in metrics.brier_at(model, test, d_ipcw, e_ipcw, horizons=np.asarray(horizons), **kw).items():
        out[f"brier_{horizon_label(h)}"] = score
    risk = 1.0 - model.survival_at(test, np.asarray(horizons, dtype=float))
    for j, h in enumerate(horizons):
        out[f"calibration_error_{horizon_label(h)}"] = metrics.horizon_calibration(risk[:, j], d_test, e_test, h)["error"]
    return out


def cross_validate_survival(frame: pd.DataFrame, duration: str | np.ndarray, event: str | np.ndarray,
                            features: list[str], folds: int = 5, seed: int = 0, *,
                            horizons: tuple[float, ...] | None = None, config: HazardConfig | None = None,
                            threads: int | None = None) -> dict[str, Any]:
    """Stratified (by the event) k-fold cross-validation of the three models; see the module docstring.

    `horizons` default to the quartiles of the churned customers' durations."""
    from sklearn.model_selection import StratifiedKFold

    started = time.perf_counter()
    d = _column(frame, duration).astype(float)
    e = event_indicator(_column(frame, event))
    if isinstance(duration, str) and duration in features or isinstance(event, str) and event in features:
        raise ValueError("the duration and the event cannot also be features")
    if horizons is None:
        horizons = tuple(float(q) for q in np.unique(np.quantile(d[e], [0.25, 0.5, 0.75])))
    per_fold: dict[str, list[dict[str, float]]] = {m: [] for m in MODELS}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for i, (fit, hold) in enumerate(splitter.split(np.zeros(len(d)), e)):
        train, test = frame.iloc[fit].reset_index(drop=True), frame.iloc[hold].reset_index(drop=True)
        times = metrics.evaluation_times(d[fit], d[hold], e[hold])
        fitted = {
            "survival": fit_hazard_model(train, d[fit], e[fit], features=features, config=config, seed=seed + i,
                                         threads=threads),
            "cox": fit_cox(train, d[fit], e[fit], features=features),
            "kaplan_meier": fit_kaplan_meier(d[fit], e[fit]),
        }
        for name, model in fitted.items():
            per_fold[name].append(fold_metrics(model, test, d[hold], e[hold], d_train=d[fit], e_train=e[fit],
                                               times=times, horizons=horizons))
        log.info("survival fold %d: C %.4f (Cox %.4f), IBS %.4f (KM %.4f)", i,
                 per_fold["survival"][-1]["concordance"], per_fold["cox"][-1]["concordance"],
                 per_fold["survival"][-1]["integrated_brier"], per_fold["kaplan_meier"][-1]["integrated_brier"])
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for name, rows in per_fold.items():
        keys = [k for k in rows[0] if all(k in r for r in rows)]
        summary[name] = {k: {"mean": float(np.mean([r[k] for r in rows])),
                             "std": float(np.std([r[k] for r in rows]))} for k in keys}
    return {"models": summary, "folds": folds, "seed": seed, "horizons": [float(h) for h in horizons],
            "customers": int(len(d)), "events": int(e.sum()), "per_fold": per_fold,
            "seconds": round(time.perf_counter() - started, 2)}
