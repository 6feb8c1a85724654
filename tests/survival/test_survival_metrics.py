import numpy as np
import pandas as pd
import pytest

from survivalkit import RATES, exponential_groups

from insight.survival import metrics
from insight.survival.baselines import fit_kaplan_meier


class Exponential:
    """The true model of survivalkit's data (rates scaled by `scale` to miscalibrate it)."""

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def rate(self, frame: pd.DataFrame) -> np.ndarray:
        return self.scale * frame["group"].map(RATES).to_numpy(dtype=float)

    def survival_at(self, frame, times):
        return np.exp(-self.rate(frame)[:, None] * np.asarray(times, dtype=float)[None, :])

    def risk_score(self, frame, horizon):
        return self.rate(frame)


@pytest.fixture(scope="module")
def split():
    train = exponential_groups(3000, seed=10)
    test = exponential_groups(2000, seed=11)
    return train, test


def test_the_true_model_beats_kaplan_meier_on_every_figure(split):
    (_, d_tr, e_tr), (frame, d, e) = split
    km = fit_kaplan_meier(d_tr, e_tr)
    kw = {"train_duration": d_tr, "train_event": e_tr}
    times = metrics.evaluation_times(d_tr, d, e)
    assert times.min() > d.min() and times.max() < min(d.max(), d_tr.max())
    tau = float(times[-1])
    true_c = metrics.concordance(Exponential(), frame, d, e, tau=tau, **kw)
    km_c = metrics.concordance(km, frame, d, e, tau=tau, **kw)
    assert true_c["uno"] > 0.65 and true_c["harrell"] > 0.65
    assert km_c["uno"] == pytest.approx(0.5) and km_c["harrell"] == pytest.approx(0.5)
    true_ibs = metrics.integrated_brier(Exponential(), frame, d, e, times=times, **kw)
    km_ibs = metrics.integrated_brier(km, frame, d, e, times=times, **kw)
    assert true_ibs < km_ibs - 0.01
    true_b = metrics.brier_at(Exponential(), frame, d, e, horizons=np.array([3.0, 12.0, 500.0]), **kw)
    km_b = metrics.brier_at(km, frame, d, e, horizons=np.array([3.0, 12.0, 500.0]), **kw)
    assert set(true_b) == {3.0, 12.0}  # 500 is beyond the follow-up
    assert true_b[12.0] < km_b[12.0]


def test_harrell_concordance_agrees_with_lifelines(split):
    from lifelines.utils import concordance_index

    (_, d_tr, e_tr), (frame, d, e) = split
    noisy = Exponential()
    c = metrics.concordance(noisy, frame, d, e, train_duration=d_tr, train_event=e_tr, tau=20.0)
    # lifelines counts concordance of predicted times: minus the risk
    assert c["harrell"] == pytest.approx(concordance_index(d, -noisy.rate(frame), e), abs=1e-9)


def test_calibration_at_a_horizon_tells_a_calibrated_model_from_a_miscalibrated_one(split):
    _, (frame, d, e) = split
    good = metrics.horizon_calibration(1 - Exponential().survival_at(frame, [6.0])[:, 0], d, e, 6.0)
    bad = metrics.horizon_calibration(1 - Exponential(3.0).survival_at(frame, [6.0])[:, 0], d, e, 6.0)
    assert good["error"] < 0.04 < bad["error"]
    assert good["table"]["count"].sum() == len(d) and len(good["table"]) == 10


def test_kaplan_meier_at_reads_the_step_function():
    d = np.array([1.0, 2.0, 3.0, 4.0])
    e = np.array([True, True, False, True])
    assert metrics.kaplan_meier_at(d, e, 0.5) == 1.0
    assert metrics.kaplan_meier_at(d, e, 2.5) == pytest.approx(0.5)
    assert metrics.kaplan_meier_at(d, e, 10.0) == pytest.approx(0.0)
