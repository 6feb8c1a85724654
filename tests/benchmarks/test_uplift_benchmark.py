"""benchmarks/uplift.py: the cumulative true uplift, the gain over random targeting, the lists at each budget,
and one small end-to-end table (the must-show figures at 20,000 customers are the benchmark's, run by hand:
`python -m benchmarks uplift --rows 20000 --seed 0 1 2`)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.uplift import (cumulative_true_uplift, gain_over_random, main, print_uplift, ranking_figures,
                               uplift_benchmark)


def test_cumulative_true_uplift_follows_the_ranking() -> None:
    uplift = np.array([0.1, -0.2, 0.5, 0.0])
    np.testing.assert_allclose(cumulative_true_uplift(np.array([1, 4, 3, 2]), uplift), [0, -0.2, 0.3, 0.3, 0.4])
    np.testing.assert_allclose(cumulative_true_uplift(uplift, uplift), [0, 0.5, 0.6, 0.6, 0.4])


def test_gain_over_random_is_zero_for_random_and_largest_for_the_truth() -> None:
    rng = np.random.default_rng(0)
    uplift = rng.normal(0.05, 0.1, 20_000)
    perfect = gain_over_random(cumulative_true_uplift(uplift, uplift))
    assert perfect > 0
    assert gain_over_random(cumulative_true_uplift(-uplift, uplift)) == pytest.approx(-perfect)
    assert abs(gain_over_random(cumulative_true_uplift(rng.random(20_000), uplift))) < 0.05 * perfect
    noisy = gain_over_random(cumulative_true_uplift(uplift + rng.normal(0, 0.1, 20_000), uplift))
    assert 0.3 * perfect < noisy < perfect


def test_ranking_figures_on_a_known_population() -> None:
    # 100 persuadables (+0.4), 100 sleeping dogs (-0.2, high risk), 800 unmoved (0)
    uplift = np.r_[np.full(100, 0.4), np.full(100, -0.2), np.zeros(800)]
    risk = np.r_[np.full(100, 0.5), np.full(100, 0.9), np.full(800, 0.1)]
    estimate = uplift + np.linspace(0, 0.01, 1000)
    f = ranking_figures({"uplift": estimate, "risk": risk, "true": uplift}, uplift)
    assert f["gain_share"]["true"] == 1.0 and f["gain_share"]["uplift"] == pytest.approx(1.0, abs=0.01)
    assert f["best_budget"]["uplift"] == {"customers": 100, "saves": pytest.approx(40.0), "negative_share": 0.0}
    # the risk ranking's first 100 are the sleeping dogs
    assert f["best_budget"]["risk"] == {"customers": 100, "saves": pytest.approx(-20.0), "negative_share": 1.0}
    assert f["own_best"]["risk"] == {"customers": 200, "saves": pytest.approx(20.0), "negative_share": 0.5}
    assert f["model_budget"]["uplift"]["customers"] == 900  # every estimate above 0
    assert f["negative_share_everyone"] == pytest.approx(0.1)


def test_one_small_table_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    result = uplift_benchmark(3_000, 1)
    assert result["train_customers"] + result["held_out_customers"] == 3_000
    assert result["chosen"] in ("t", "x", "dr")
    assert result["gain_share"]["true"] == 1.0
    # a quality floor at 3,000 customers: the estimate beats random targeting and risk on the true uplift
    assert result["gain_share"]["uplift"] > max(0.2, result["gain_share"]["risk"])
    assert result["qini_held_out"]["true"] > result["qini_held_out"]["uplift"] > 0
    assert result["best_budget"]["true"]["negative_share"] == 0.0
    print_uplift(result)
    out = capsys.readouterr().out
    assert "(a) share of the true uplift ranking's gain" in out and "seed 1" in out


def test_main_rejects_an_unknown_option() -> None:
    with pytest.raises(SystemExit):
        main(["--no-such-option"])
