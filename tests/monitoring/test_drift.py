"""Feature drift: planted shifts come out first and are flagged, same-distribution samples are not (thanks to the
multiple-comparison correction), PSI agrees with a hand computation, and awkward columns are handled."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from insight.monitoring.drift import MISSING, as_date, feature_drift


def _table(n: int, seed: int, columns: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {f"x{i}": rng.normal(loc=i, scale=1 + i / 10, size=n) for i in range(columns)}
    data["logins"] = rng.poisson(8, size=n).astype("float64")
    data["plan"] = rng.choice(["basic", "pro", "team"], p=[0.5, 0.3, 0.2], size=n)
    return pd.DataFrame(data)


def test_planted_shift_in_one_of_many_columns_comes_first_and_is_flagged():
    reference, current = _table(2000, 1), _table(2000, 2)
    current["x7"] = current["x7"] + 0.5 * current["x7"].std()
    drift = feature_drift(reference, current)
    assert drift[0].feature == "x7"
    assert drift[0].drifted and drift[0].p_adjusted < 0.05
    assert drift[0].current_mean > drift[0].reference_mean
    assert [d.psi for d in drift] == sorted((d.psi for d in drift), reverse=True)
    assert sum(d.drifted for d in drift) <= 2


def test_a_halved_count_is_flagged():
    reference, current = _table(1500, 3), _table(1500, 4)
    current["logins"] = np.floor(current["logins"] / 2)
    top = feature_drift(reference, current)[0]
    assert (top.feature, top.kind, top.test, top.drifted, top.level) == ("logins", "numeric", "ks", True, "major")
    assert top.current_mean == pytest.approx(top.reference_mean / 2, rel=0.15)


def test_correction_keeps_false_alarms_rare_where_uncorrected_tests_raise_many():
    """30 columns of one distribution in both tables, 30 times: uncorrected p < 0.05 fires in about 5% of the
    900 tests and in most runs; after Benjamini–Hochberg (which, with no drift at all, bounds the chance of any
    flag in a run near 5%) in few runs."""
    uncorrected, corrected = [], []
    for seed in range(30):
        rng = np.random.default_rng(100 + seed)
        reference = pd.DataFrame({f"c{i}": rng.normal(size=400) for i in range(30)})
        current = pd.DataFrame({f"c{i}": rng.normal(size=400) for i in range(30)})
        drift = feature_drift(reference, current, min_psi=0.0)
        uncorrected.append(sum(d.p_value < 0.05 for d in drift))
        corrected.append(sum(d.drifted for d in drift))
    assert sum(uncorrected) >= 25 and sum(n > 0 for n in uncorrected) >= 15
    assert sum(corrected) <= 10 and sum(n > 0 for n in corrected) <= 6


def test_a_new_category_is_detected():
    reference, current = _table(1000, 5), _table(1000, 6)
    rng = np.random.default_rng(7)
    draw = rng.random(len(current))
    current.loc[draw < 0.15, "plan"] = "partner"
    current.loc[draw > 0.97, "plan"] = "agency"
    top = feature_drift(reference, current)[0]
    assert (top.feature, top.kind, top.test, top.drifted) == ("plan", "categorical", "chi2", True)
    assert top.value_type == "category"
    assert top.new_categories == ("partner", "agency")  # the most common first
    assert top.new_share == pytest.approx(current["plan"].isin(["partner", "agency"]).mean())
    assert top.reference_top == "basic"


def test_numeric_psi_matches_a_histogram_on_explicit_bins():
    reference = pd.DataFrame({"v": np.arange(1.0, 11.0)})
    current = pd.DataFrame({"v": [1.0, 1.5, 2.0, 2.5, 3.0, 6.0, 9.0, 9.5, 10.0, np.nan]})
    # quartiles of 1..10 (linear interpolation): 3.25, 5.5, 7.75; the open ends closed well outside the data
    edges = [-100.0, 3.25, 5.5, 7.75, 100.0]
    ref_counts, _ = np.histogram(reference["v"], bins=edges)
    cur_counts, _ = np.histogram(current["v"].dropna(), bins=edges)
    eps = 1e-4
    r = np.append(ref_counts, 0) / 10
    c = np.append(cur_counts, 1) / 10
    r, c = np.where(r == 0, eps, r), np.where(c == 0, eps, c)
    expected = sum((ci - ri) * math.log(ci / ri) for ri, ci in zip(r, c))
    (d,) = feature_drift(reference, current, bins=4, epsilon=eps)
    assert list(ref_counts) == [3, 2, 2, 3]
    assert d.psi == pytest.approx(expected, rel=1e-12)
    assert d.current_missing == pytest.approx(0.1)


def test_categorical_psi_matches_a_hand_value():
    reference = pd.DataFrame({"c": ["a", "a", "b", "b"]})
    current = pd.DataFrame({"c": ["a", "b", "b", "b"]})
    (d,) = feature_drift(reference, current)
    # shares 1/2, 1/2 -> 1/4, 3/4: (1/4 - 1/2) ln(1/2) + (3/4 - 1/2) ln(3/2) = ln(3) / 4
    assert d.psi == pytest.approx(math.log(3) / 4, rel=1e-9)
    assert d.reference_top_share == 0.5 and d.current_top == "b"


def test_booleans_dates_and_missing_columns():
    rng = np.random.default_rng(8)
    n = 1200
    start = pd.Timestamp("2024-01-01", tz="UTC")
    reference = pd.DataFrame({
        "flag": rng.random(n) < 0.2,
        "signed_up": start + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "empty": np.full(n, np.nan),
        "fades": rng.normal(size=n),
        "steady": rng.normal(size=n),
    })
    current = pd.DataFrame({
        "flag": rng.random(n) < 0.6,
        "signed_up": start + pd.to_timedelta(rng.integers(200, 565, n), unit="D"),
        "empty": np.full(n, np.nan),
        "fades": np.full(n, np.nan),
        "steady": rng.normal(size=n),
    })
    by = {d.feature: d for d in feature_drift(reference, current)}
    assert by["flag"].kind == "categorical" and by["flag"].drifted
    assert (by["flag"].reference_top, by["flag"].current_top) == ("no", "yes")
    assert by["signed_up"].kind == "numeric" and by["signed_up"].drifted
    assert by["signed_up"].current_mean - by["signed_up"].reference_mean == pytest.approx(200, abs=20)
    assert by["signed_up"].value_type == "date" and by["flag"].value_type == "flag"
    assert by["steady"].value_type == "number"
    middle = start + pd.to_timedelta(reference["signed_up"].sub(start).dt.days.mean(), unit="D")
    assert as_date(by["signed_up"].reference_mean) == str(middle.date())
    assert by["empty"].psi == 0 and not by["empty"].drifted and by["empty"].reference_missing == 1
    assert by["fades"].test == "chi2 (missing)" and by["fades"].drifted and by["fades"].current_missing == 1
    assert not by["steady"].drifted
    json.dumps([d.to_dict() for d in by.values()], allow_nan=False)


def test_kinds_override_dtype_and_unknown_kinds_or_columns_are_refused():
    reference = pd.DataFrame({"code": [1, 2, 3, 1, 2, 3] * 50, "x": np.arange(300.0)})
    current = pd.DataFrame({"code": [1, 2, 3, 4, 4, 4] * 50, "x": np.arange(300.0)})
    (d,) = feature_drift(reference, current, {"code": "categorical"})
    assert (d.kind, d.new_categories) == ("categorical", ("4",))
    with pytest.raises(ValueError, match="unknown kind"):
        feature_drift(reference, current, {"code": "colour"})
    with pytest.raises(ValueError, match="not in both tables"):
        feature_drift(reference, current, columns=["code", "nope"])
    assert MISSING not in d.new_categories
    flags = pd.DataFrame({"opt_in": [1.0, 0.0, np.nan, 1.0] * 50})
    (f,) = feature_drift(flags, flags.assign(opt_in=[1.0, 1.0, 1.0, np.nan] * 50), {"opt_in": "boolean"})
    assert (f.kind, f.reference_top, f.current_top, f.current_top_share) == ("categorical", "yes", "yes", 0.75)
    assert f.reference_missing == 0.25 and f.drifted


def test_large_tables_are_tested_on_a_fixed_sample():
    rng = np.random.default_rng(9)
    reference = pd.DataFrame({"v": rng.normal(size=120_000), "c": rng.choice(list("abcd"), 120_000)})
    current = pd.DataFrame({"v": rng.normal(size=80_000), "c": rng.choice(list("abcd"), 80_000)})
    first = feature_drift(reference, current, max_test_rows=50_000)
    again = feature_drift(reference, current, max_test_rows=50_000)
    assert all(d.test_rows == (50_000, 50_000) for d in first)
    assert all(d.reference_rows == 120_000 and d.current_rows == 80_000 for d in first)
    assert [d.to_dict() for d in first] == [d.to_dict() for d in again]
