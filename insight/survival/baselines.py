"""The baselines the hazard model must beat, with its interface (`survival_at`, `risk_score`):

- Cox proportional hazards (lifelines' CoxPHFitter, Efron ties, ridge `penalizer` 0.01 on the coefficients) on
  the linear encoding of the same features (insight.survival.encoding: numbers median-imputed and standardised,
  categories one-hot, most frequent level dropped); S(t | x) from the Breslow baseline;
- Kaplan-Meier (lifelines' KaplanMeierFitter): one curve for everyone, ignoring the features.

Also the Kaplan-Meier curve with its 95 % band and the log-rank test of a group against the rest, for the
Segments page.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insight.survival.encoding import SurvivalEncoder, event_indicator

log = logging.getLogger(__name__)

COX_PENALIZER = 0.01
_DURATION, _EVENT = "__duration__", "__event__"


@contextlib.contextmanager
def _quiet_lifelines() -> Iterator[None]:
    """lifelines 0.30.0 on pandas 3 warns of pandas 4 changes, and notes convergence; neither is ours to act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="lifelines")
        warnings.filterwarnings("ignore", message=".*pandas.*")
        yield


@dataclass
class CoxModel:
    encoder: SurvivalEncoder
    fitter: Any
    """lifelines.CoxPHFitter, fitted."""

    def survival_at(self, frame: pd.DataFrame, times: np.ndarray) -> np.ndarray:
        """S(t | x) per customer (rows) and time (columns)."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        with _quiet_lifelines():
            sf = self.fitter.predict_survival_function(self.encoder.linear_frame(frame), times=times)
        return np.clip(sf.to_numpy(dtype=float).T, 0.0, 1.0)

    def risk_score(self, frame: pd.DataFrame, horizon: float | None = None) -> np.ndarray:
        """The linear predictor x'beta (higher = shorter expected stay at every horizon under PH)."""
        with _quiet_lifelines():
            risk = self.fitter.predict_log_partial_hazard(self.encoder.linear_frame(frame))
        return np.asarray(risk, dtype=float)

    @property
    def coefficients(self) -> pd.Series:
        return self.fitter.params_


def fit_cox(frame: pd.DataFrame, duration: np.ndarray | pd.Series, event: np.ndarray | pd.Series, *,
            features: list[str], penalizer: float = COX_PENALIZER) -> CoxModel:
    from lifelines import CoxPHFitter

    encoder = SurvivalEncoder(features=list(features)).fit(frame)
    data = encoder.linear_frame(frame).reset_index(drop=True)
    data[_DURATION] = np.asarray(duration, dtype=float)
    data[_EVENT] = event_indicator(event).astype(int)
    fitter = CoxPHFitter(penalizer=penalizer)
    with _quiet_lifelines():
        fitter.fit(data, duration_col=_DURATION, event_col=_EVENT)
    log.info("Cox PH: %d coefficients, penalizer %g, log-likelihood %.2f", len(fitter.params_), penalizer,
             fitter.log_likelihood_)
    return CoxModel(encoder=encoder, fitter=fitter)


@dataclass
class KaplanMeierModel:
    fitter: Any
    """lifelines.KaplanMeierFitter, fitted."""

    def survival_at(self, frame: pd.DataFrame, times: np.ndarray) -> np.ndarray:
        """The same curve S(t) for every customer (rows) at each time (columns)."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        with _quiet_lifelines():
            s = np.asarray(self.fitter.survival_function_at_times(times), dtype=float)
        return np.tile(s, (len(frame), 1))

    def risk_score(self, frame: pd.DataFrame, horizon: float | None = None) -> np.ndarray:
        """Everyone alike: concordance 0.5."""
        return np.zeros(len(frame))


def fit_kaplan_meier(duration: np.ndarray | pd.Series, event: np.ndarray | pd.Series) -> KaplanMeierModel:
    from lifelines import KaplanMeierFitter

    with _quiet_lifelines():
        fitter = KaplanMeierFitter().fit(np.asarray(duration, dtype=float), event_indicator(event))
    return KaplanMeierModel(fitter=fitter)


def kaplan_meier_curve(duration: np.ndarray | pd.Series, event: np.ndarray | pd.Series) -> pd.DataFrame:
    """time, survival and the 95 % band (lifelines' exponential Greenwood interval, `low`/`high`)."""
    from lifelines import KaplanMeierFitter

    with _quiet_lifelines():
        km = KaplanMeierFitter().fit(np.asarray(duration, dtype=float), event_indicator(event))
    band = km.confidence_interval_survival_function_
    return pd.DataFrame({"time": km.survival_function_.index.to_numpy(dtype=float),
                         "survival": km.survival_function_.iloc[:, 0].to_numpy(dtype=float),
                         "low": band.iloc[:, 0].to_numpy(dtype=float),
                         "high": band.iloc[:, 1].to_numpy(dtype=float)})


def logrank_against_rest(duration: np.ndarray | pd.Series, event: np.ndarray | pd.Series,
                         in_group: np.ndarray) -> dict[str, float]:
    """The log-rank test of the customers in `in_group` against everyone else: chi-square and p-value."""
    from lifelines.statistics import logrank_test

    d = np.asarray(duration, dtype=float)
    e = event_indicator(event)
    g = np.asarray(in_group, dtype=bool)
    if g.all() or not g.any():
        return {"statistic": float("nan"), "p_value": float("nan")}
    with _quiet_lifelines():
        result = logrank_test(d[g], d[~g], event_observed_A=e[g], event_observed_B=e[~g])
    return {"statistic": float(result.test_statistic), "p_value": float(result.p_value)}
