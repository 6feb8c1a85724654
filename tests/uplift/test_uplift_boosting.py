from __future__ import annotations

import numpy as np

from insight.uplift.boosting import UpliftConfig, fit_booster, fit_threads, probability, raw


def test_early_stopping_finds_the_rounds_and_a_refit_reuses_them(train_data):
    X, y = train_data["X"], train_data["churn"]
    names = ["segment", "tenure", "spend", "noise"]
    config = UpliftConfig()
    fitted = fit_booster(X, y, objective="binary", feature_names=names, categorical=[0], config=config, threads=1)
    assert 5 < fitted.rounds < config.max_rounds and fitted.booster.num_trees() == fitted.rounds
    p = probability(fitted.booster, X)
    assert np.corrcoef(p, train_data["p0"])[0, 1] > 0.8
    again = fit_booster(X, y, objective="binary", feature_names=names, categorical=[0], config=config, rounds=7)
    assert again.rounds == 7 and again.booster.num_trees() == 7
    reg = fit_booster(X, train_data["p0"], objective="regression", feature_names=names, categorical=[0],
                      config=config, threads=1)
    assert np.sqrt(np.mean((raw(reg.booster, X) - train_data["p0"]) ** 2)) < 0.05


def test_one_thread_for_small_data():
    assert fit_threads(4000, 2) == 1 and fit_threads(600_000, 2) == 2 and fit_threads(600_000, 1) == 1
