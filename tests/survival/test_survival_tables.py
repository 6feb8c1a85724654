"""The words and tables of the survival sections (insight.survival.tables), without Streamlit: the log-rank
sentence from real log-rank figures (insight.survival.groups) on simulated segments, the per-segment table,
the model comparison and a verdict that names the better model whichever it is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.survival.groups import kaplan_meier_curves, log_rank_vs_rest
from insight.survival import tables as view


@pytest.fixture(scope="module")
def segments() -> tuple[dict, pd.DataFrame]:
    rng = np.random.default_rng(0)
    rates = np.r_[np.full(400, 1 / 7), np.full(400, 1 / 30), np.full(400, 1 / 30)]
    t = rng.exponential(1 / rates)
    c = rng.uniform(0, 72, len(t))
    d, e = np.minimum(t, c).round(), t <= c
    g = np.repeat([0, 1, 2], 400)
    return log_rank_vs_rest(d, e, g), kaplan_meier_curves(d, e, g)


def test_p_text() -> None:
    assert view.p_text(1e-9) == "p < 0.001" and view.p_text(0.0042) == "p = 0.004"
    assert view.p_text(0.3123) == "p = 0.31" and view.p_text(float("nan")) == "p not defined"


def test_log_rank_sentence_says_which_way(segments) -> None:
    stats, curves = segments
    everyone = view.km_median(curves, "everyone")
    fast = view.log_rank_sentence("Month-to-month", stats["0"], unit="months", everyone_median=everyone)
    assert fast.startswith("Customers of Month\\-to\\-month leave sooner than the rest: median ")
    assert "log-rank p < 0.001." in fast
    assert f"median {stats['0']['median_km']:g} months vs" in fast
    slow = view.log_rank_sentence("Two-year", stats["1"], unit="months", everyone_median=everyone)
    assert "stay longer than the rest" in slow
    # without the newer keys: the direction from the medians, the comparison against everyone's median
    old = {k: v for k, v in stats["0"].items() if k not in ("events_expected", "median_km_rest")}
    assert "leave sooner than the rest" in view.log_rank_sentence("A", old, unit="months", everyone_median=everyone)
    assert "for everyone" in view.log_rank_sentence("A", old, unit="months", everyone_median=everyone)
    alone = {**stats["0"], "log_rank_p": float("nan")}
    assert "no rest to compare" in view.log_rank_sentence("A", alone, unit="months", everyone_median=everyone)
    alike = {**stats["0"], "log_rank_p": 0.4}
    assert "do not leave clearly sooner or later" in view.log_rank_sentence(
        "A", alike, unit="months", everyone_median=everyone)


def test_segments_alike_are_not_called_different() -> None:
    rng = np.random.default_rng(4)
    t, c = rng.exponential(20, 1000), rng.uniform(0, 60, 1000)
    stats = log_rank_vs_rest(np.minimum(t, c), t <= c, rng.integers(0, 2, 1000))
    sentence = view.log_rank_sentence("Half", stats["0"], unit="days", everyone_median=20.0)
    assert stats["0"]["log_rank_p"] > 0.05 and "do not leave clearly sooner or later" in sentence


def test_segment_table(segments) -> None:
    stats, curves = segments
    stats = {**stats, "1": {**stats["1"], "median_km": float("inf")}}
    table = view.segment_table(stats, {0: "Fast", 1: "Slow", 2: "Also slow", 5: "Not in the run"}, unit="months",
                               everyone={"customers": 1200, "events": 700, "median_km": 21.0})
    assert table["Segment"].tolist() == ["Fast", "Slow", "Also slow", "Everyone"]
    assert table["Customers"].tolist()[:3] == ["400"] * 3
    assert table.loc[1, "Median time to churn"] == "not reached"
    assert table.loc[3, "Median time to churn"] == "21 months" and table.loc[3, "Churned"] == "700"
    assert table.loc[0, "Log-rank vs the rest"] == "p < 0.001"
    assert view.segment_table({}, {0: "A"}, unit="months", everyone={"customers": 0}).empty


TEST = {
    "survival": {"concordance": 0.861, "harrell_concordance": 0.85, "integrated_brier": 0.101, "brier_1": 0.04,
                 "brier_12": 0.12, "calibration_error_1": 0.004, "calibration_error_12": 0.021},
    "cox": {"concordance": 0.842, "harrell_concordance": 0.83, "integrated_brier": 0.115, "brier_1": 0.041,
            "brier_12": 0.13, "calibration_error_1": 0.006, "calibration_error_12": 0.035},
    "kaplan_meier": {"concordance": 0.5, "harrell_concordance": 0.5, "integrated_brier": 0.16, "brier_1": 0.05,
                     "brier_12": 0.18, "calibration_error_1": 0.03, "calibration_error_12": 0.09},
}


def test_comparison_table() -> None:
    table = view.comparison_table(TEST, horizons=[1.0, 3.0, 12.0], unit="months")
    assert list(table.columns) == ["Measure", "Survival model", "Cox PH", "Kaplan-Meier", "Better", "Best"]
    # 3 months has no Brier score (beyond the follow-up) nor calibration here: those rows are left out
    assert table["Measure"].tolist() == [
        "Concordance (Uno's C)", "Concordance (Harrell's C)", "Integrated Brier score", "Brier score at 1 month",
        "Brier score at 12 months", "Calibration error within 1 month", "Calibration error within 12 months"]
    assert table.loc[0, "Survival model"] == "0.861" and table.loc[0, "Best"] == "Survival model"
    assert table.loc[2, "Better"] == "lower" and table.loc[2, "Best"] == "Survival model"
    assert table.loc[6, "Cox PH"] == "3.5 %"
    worse = {**TEST, "cox": {**TEST["cox"], "brier_1": 0.03}}
    assert view.comparison_table(worse, horizons=[1.0], unit="months").loc[3, "Best"] == "Cox PH"
    tied = {**TEST, "cox": {**TEST["cox"], "concordance": 0.8612}}
    assert view.comparison_table(tied, horizons=[], unit="months").loc[0, "Best"] == "tie"


def test_verdict_names_the_better_model_whichever_it_is() -> None:
    good = view.verdict(TEST)
    assert good.startswith("The survival model ranks customers by when they leave better than Cox PH "
                           "(Uno's C 0.861 vs 0.842).")
    assert "The survival model's predicted curves are the closest to what happened" in good
    assert "Cox PH 0.115" in good and "Kaplan-Meier 0.160" in good
    bad = view.verdict({**TEST, "survival": {**TEST["survival"], "concordance": 0.80, "integrated_brier": 0.14}})
    assert bad.startswith("Cox PH ranks customers by when they leave better than the survival model")
    assert "Cox PH's predicted curves are the closest" in bad
    even = view.verdict({**TEST, "cox": {**TEST["cox"], "concordance": 0.859, "integrated_brier": 0.102}})
    assert "about equally well" in even and "about as close to what happened as Cox PH's" in even
    assert view.verdict({}) == ""


def test_setup_text_and_left_out() -> None:
    text = view.setup_text({"duration_column": "tenure", "unit": "months", "horizons": [1.0, 3.0, 12.0],
                            "features": ["a", "b"], "period_value_column": "MonthlyCharges"}, "Churn")
    assert "**tenure**, in months" in text and "horizons 1 month, 3 months and 12 months" in text
    assert "value per month: **MonthlyCharges**" in text and "2 features" in text
    table = view.left_out_table({"TotalCharges": "measures the duration"})
    assert table.to_dict(orient="records") == [{"Column": "TotalCharges", "Why it was left out":
                                                "measures the duration"}]


def test_medians_the_manifest_wrote_as_null_read_as_not_reached() -> None:
    """The manifest's JSON writes an infinite median (a curve that never halves) as null."""
    stats = {"log_rank_statistic": 90.0, "log_rank_p": 1e-20, "customers": 221, "events": 2,
             "events_expected": 79.9, "median_km": None, "median_km_rest": None}
    said = view.log_rank_sentence("Two-year", stats, unit="months", everyone_median=float("inf"))
    assert said == ("Customers of Two\\-year stay longer than the rest: median not reached vs not reached for "
                    "the rest, log-rank p < 0.001.")
    table = view.segment_table({"1": stats}, {1: "Two-year"}, unit="months")
    assert table.loc[0, "Median time to churn"] == "not reached"
    assert view.median({"median_km": 7.0}) == 7.0 and np.isnan(view.median({}))
