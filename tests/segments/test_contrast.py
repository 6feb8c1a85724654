"""insight.segments.contrast: what distinguishes a group of customers from the rest, and the group as masks
over the map's points."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from insight.segments.contrast import ALPHA, MapChoice, benjamini_hochberg, compare_groups, contrast

N, INSIDE = 2000, 300


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    selected = np.zeros(N, dtype=bool)
    selected[rng.choice(N, INSIDE, replace=False)] = True
    seats = rng.lognormal(1.0, 0.5, N)
    seats[selected] += 25  # the planted difference
    plan = rng.choice(["basic", "pro", "team"], N, p=[0.5, 0.3, 0.2]).astype(object)
    plan[selected] = rng.choice(["basic", "pro", "team"], INSIDE, p=[0.2, 0.2, 0.6])  # team over-represented
    frame = pd.DataFrame({
        "seats": seats,
        "noise_a": rng.normal(size=N),
        "noise_b": rng.exponential(size=N),
        "noise_flag": (rng.random(N) < 0.4).astype(float),
        "noise_cat": rng.choice(["x", "y", "z"], N),
        "plan": plan,
        "signup": pd.Timestamp("2024-01-01") + pd.to_timedelta(
            np.where(selected, 300, 0) + rng.integers(0, 60, N), unit="D"),
    })
    frame.loc[rng.random(N) < 0.05, "noise_a"] = np.nan  # missing values are skipped
    return frame, selected


ROLES = {"noise_a": "numeric", "seats": "numeric", "noise_b": "numeric", "noise_flag": "boolean",
         "noise_cat": "categorical", "plan": "categorical", "signup": "date"}


def test_planted_difference_ranks_first_and_is_significant(frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    data, selected = frame
    out = contrast(data, selected, {k: ROLES[k] for k in ("noise_a", "seats", "noise_b", "noise_flag")})
    top = out.iloc[0]
    assert top["feature"] == "seats"
    assert top["significant"] and top["p_adjusted"] < 1e-10
    assert top["effect"] > 2
    assert top["description"].startswith("higher seats (")


def test_null_features_are_not_significant(frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    data, selected = frame
    out = contrast(data, selected, ROLES).set_index("feature")
    for name in ("noise_a", "noise_b", "noise_flag", "noise_cat"):
        assert not out.loc[name, "significant"], name
        assert out.loc[name, "p_adjusted"] >= ALPHA
        assert abs(out.loc[name, "effect"]) < 0.2
    assert out["significant"].sum() == 3  # seats, plan, signup


def test_categories_and_dates(frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    data, selected = frame
    out = contrast(data, selected, ROLES).set_index("feature")
    plan = out.loc["plan"]
    assert plan["value"] == "team" and plan["significant"] and plan["effect"] > 0
    assert plan["description"].startswith("plan = team more often (")
    signup = out.loc["signup"]
    assert signup["significant"] and signup["description"].startswith("later signup (")
    assert signup["inside"] > signup["outside"]  # ISO dates compare as text


def test_sorted_significant_first_then_by_effect(frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    data, selected = frame
    out = contrast(data, selected, ROLES)
    sig = out["significant"].to_numpy()
    assert not np.any(~sig[:-1] & sig[1:])  # no significant row after a non-significant one
    for group in (out[out["significant"]], out[~out["significant"]]):
        assert group["abs_effect"].is_monotonic_decreasing


def test_lower_and_less_often(frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    data, selected = frame
    out = contrast(data, ~selected, {"seats": "numeric", "plan": "categorical"}).set_index("feature")
    assert out.loc["seats", "effect"] < 0 and out.loc["seats", "description"].startswith("lower seats")
    assert "less often" in out.loc["plan", "description"]


def test_too_small_a_selection_gives_an_empty_frame(frame: tuple[pd.DataFrame, np.ndarray]) -> None:
    data, _ = frame
    one = np.zeros(N, dtype=bool)
    one[0] = True
    for sel in (one, ~one, np.zeros(N, dtype=bool)):
        out = contrast(data, sel, ROLES)
        assert out.empty and {"feature", "p_adjusted", "significant"} <= set(out.columns)


def test_benjamini_hochberg_by_hand() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 -> times 4/rank: 0.02, 0.02, 0.04, 0.04 -> running min from the top
    np.testing.assert_allclose(benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02])
    np.testing.assert_allclose(benjamini_hochberg(np.array([0.5, 0.9, 0.2])), [0.75, 0.9, 0.6])
    # 0.01, 0.04, 0.041 -> 0.03, 0.06, 0.041: the running minimum lowers the middle one to 0.041
    np.testing.assert_allclose(benjamini_hochberg(np.array([0.04, 0.01, 0.041])), [0.041, 0.03, 0.041])
    assert benjamini_hochberg(np.array([])).size == 0
    assert (benjamini_hochberg(np.array([0.9, 0.95, 0.99])) <= 1).all()


def test_benjamini_hochberg_matches_scipy() -> None:
    p = np.random.default_rng(0).beta(0.5, 2.0, 200)
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"))


def test_p_values_equal_scipy_stats() -> None:
    """Welch's t-test and the two-proportion z-test are computed without scipy.stats; same p-values."""
    from insight.segments.contrast import welch_p_value

    rng = np.random.default_rng(11)
    for n_a, n_b, shift in ((3, 5, 0.5), (40, 400, 0.2), (5_000, 20_000, 0.01)):
        a, b = rng.normal(shift, 1.0, n_a), rng.normal(0.0, 2.0, n_b)
        expected = stats.ttest_ind(a, b, equal_var=False).pvalue
        got = welch_p_value(a.mean() - b.mean(), a.var(ddof=1), b.var(ddof=1), n_a, n_b)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-300)
    frame = pd.DataFrame({"plan": rng.choice(["a", "b"], 1000, p=[0.3, 0.7])})
    selected = np.arange(1000) < 200
    frame.loc[selected, "plan"] = rng.choice(["a", "b"], 200, p=[0.45, 0.55])
    row = contrast(frame, selected, {"plan": "categorical"}).iloc[0]
    pa, pb = (frame.loc[selected, "plan"] == row["value"]).mean(), (frame.loc[~selected, "plan"] == row["value"]).mean()
    pooled = (pa * 200 + pb * 800) / 1000
    z = abs(pa - pb) / np.sqrt(pooled * (1 - pooled) * (1 / 200 + 1 / 800))
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)


@pytest.fixture(scope="module")
def demo_frame(demo_run: Path) -> pd.DataFrame:
    return pd.read_parquet(demo_run / "customers.parquet")


def test_compare_groups(demo_frame: pd.DataFrame) -> None:
    mask = (demo_frame["risk_band"].astype(str) == "very high").to_numpy()
    out = compare_groups(demo_frame, mask, target="churned").set_index("group")
    assert out.loc["Selected", "customers"] == mask.sum()
    assert out.loc["Rest", "customers"] == (~mask).sum()
    assert out.loc["Selected", "mean_probability"] > out.loc["Rest", "mean_probability"]
    assert out.loc["Selected", "churn_rate"] == pytest.approx(demo_frame.loc[mask, "churned"].mean())
    rest, chosen = demo_frame.loc[~mask], demo_frame.loc[mask]
    assert out.loc["Rest", "expected_churners"] == pytest.approx(rest["churn_probability"].sum())
    assert out.loc["Selected", "revenue_at_risk"] == pytest.approx(chosen["revenue_at_risk"].sum())
    assert compare_groups(demo_frame, mask, target="churned", revenue=None)["revenue_at_risk"].isna().all()


def _shown() -> pd.DataFrame:
    """Five of eight map points (rows 1, 2, 4, 6, 7 of the map: a band filter's view), ids as numbers."""
    return pd.DataFrame({"customer_id": [11, 12, 14, 16, 17], "segment_id": [0, 1, 0, 1, 0]},
                        index=[1, 2, 4, 6, 7])


def test_a_map_selection_as_masks_over_the_points_shown_and_all_points() -> None:
    shown = _shown()
    choice = MapChoice.from_rows(shown, [0, 3, 3, 9], map_points=8, id_column="customer_id")  # 9: off the map
    assert choice.shown.tolist() == [True, False, False, True, False]
    assert np.flatnonzero(choice.on_map).tolist() == [1, 6]
    assert choice.count == 2 and choice.ids == ("11", "16")
    assert choice.picked(shown, "customer_id") == (11, 16)  # as stored, for a filter on the id column
    assert MapChoice.from_rows(shown, [], map_points=8, id_column="customer_id").count == 0


def test_a_segment_as_masks_over_the_points_shown_and_all_points() -> None:
    choice = MapChoice.from_segment(_shown(), 0, map_points=8)
    assert choice.shown.tolist() == [True, False, True, False, True]
    assert np.flatnonzero(choice.on_map).tolist() == [1, 4, 7]
    assert choice.ids is None and choice.count == 3
