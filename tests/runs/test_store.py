"""RunStore: DuckDB queries over real runs agree with pandas, keep user values out of the SQL, stay fast."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.runs.run import open_run, verify_run
from insight.runs.sql import quote_ident
from insight.runs.store import ColumnFilter, RiskFilter, RunStore


@pytest.fixture(scope="module")
def telco_store(telco_run: Path) -> RunStore:
    return RunStore.from_run(open_run(telco_run))


@pytest.fixture(scope="module")
def demo_frame(demo_run: Path) -> pd.DataFrame:
    return pd.read_parquet(demo_run / "customers.parquet")


def test_count_and_totals_match_the_parquet(demo_store: RunStore, demo_frame: pd.DataFrame) -> None:
    assert demo_store.count() == len(demo_frame)
    totals = demo_store.totals()
    assert totals["customers"] == len(demo_frame)
    assert totals["expected_churners"] == pytest.approx(demo_frame["churn_probability"].sum())
    assert totals["churn_rate"] == pytest.approx(demo_frame["churned"].mean())
    assert totals["revenue_at_risk"] == pytest.approx(demo_frame["revenue_at_risk"].sum())


def test_risk_table_is_ranked_and_pages_tile_the_whole_order(demo_store: RunStore,
                                                              demo_frame: pd.DataFrame) -> None:
    first = demo_store.risk_table(limit=10)
    assert first["churn_probability"].iloc[0] == pytest.approx(demo_frame["churn_probability"].max())
    assert first["churn_probability"].is_monotonic_decreasing
    pages = [demo_store.risk_table(columns=["customer_id"], offset=o, limit=100)
             for o in range(0, len(demo_frame), 100)]
    ids = pd.concat(pages)["customer_id"].tolist()
    assert len(ids) == len(set(ids)) == len(demo_frame)
    everything = demo_store.risk_table(columns=["customer_id"], limit=None)["customer_id"].tolist()
    assert ids == everything


def test_sort_by_another_column_ascending(demo_store: RunStore, demo_frame: pd.DataFrame) -> None:
    rows = demo_store.risk_table(columns=["customer_id", "seats"], sort_by="seats", descending=False, limit=5)
    assert rows["seats"].iloc[0] == demo_frame["seats"].min()
    assert rows["seats"].is_monotonic_increasing


def test_band_segment_and_column_filters_agree_with_pandas(demo_store: RunStore,
                                                            demo_frame: pd.DataFrame) -> None:
    segment = int(demo_frame["segment_id"].value_counts().index[0])
    flt = RiskFilter(
        bands=("high", "very high"), segments=(segment,),
        conditions=(ColumnFilter("seats", "range", low=1, high=5),
                    ColumnFilter("plan", "in", values=("Pro", "Personal")),
                    ColumnFilter("reason_1", "contains", text="RISK")))
    f = demo_frame
    expected = f[f["risk_band"].astype(str).isin(["high", "very high"]) & (f["segment_id"] == segment)
                 & f["seats"].between(1, 5) & f["plan"].isin(["Pro", "Personal"])
                 & f["reason_1"].str.lower().str.contains("risk")]
    assert demo_store.count(flt) == len(expected) > 0
    got = demo_store.risk_table(flt, limit=None)
    assert set(got["customer_id"]) == set(expected["customer_id"])
    assert demo_store.totals(flt)["expected_churners"] == pytest.approx(expected["churn_probability"].sum())


def test_membership_filter_can_ask_for_missing_values(demo_store: RunStore, demo_frame: pd.DataFrame) -> None:
    missing = demo_store.count(RiskFilter(conditions=(ColumnFilter("industry", "in", values=(None,)),)))
    assert missing == demo_frame["industry"].isna().sum() > 0
    both = demo_store.count(RiskFilter(conditions=(ColumnFilter("industry", "in", values=("games", None)),)))
    assert both == missing + (demo_frame["industry"] == "games").sum()
    nan_numbers = demo_store.count(RiskFilter(conditions=(ColumnFilter("nps_score", "in", values=(None,)),)))
    assert nan_numbers == demo_frame["nps_score"].isna().sum()


def test_date_range_filter(demo_store: RunStore, demo_frame: pd.DataFrame) -> None:
    low, high = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31")
    flt = RiskFilter(conditions=(ColumnFilter("signup_date", "range", low=low.date(), high=high.date()),))
    assert demo_store.count(flt) == demo_frame["signup_date"].between(low, high).sum()


def test_user_values_never_become_sql(demo_store: RunStore) -> None:
    evil = "x'); DROP VIEW customers; --"
    assert demo_store.count(RiskFilter(conditions=(ColumnFilter("plan", "contains", text=evil),))) == 0
    assert demo_store.count(RiskFilter(conditions=(ColumnFilter("plan", "in", values=(evil,)),))) == 0
    assert demo_store.count(RiskFilter(bands=(evil,))) == 0
    assert demo_store.count() > 0  # the view is still there
    with pytest.raises(ValueError, match="unknown column"):
        demo_store.count(RiskFilter(conditions=(ColumnFilter('plan" OR 1=1 --', "contains", text="a"),)))
    with pytest.raises(ValueError, match="unknown column"):
        demo_store.risk_table(sort_by="churn_probability; DROP VIEW customers")
    assert quote_ident('a"b') == '"a""b"'


def test_distinct_values_and_ranges(demo_store: RunStore, demo_frame: pd.DataFrame) -> None:
    values = demo_store.distinct_values("plan")
    counts = demo_frame["plan"].value_counts()
    assert dict(zip(values["value"], values["customers"], strict=True)) == counts.to_dict()
    assert demo_store.value_range("seats") == (demo_frame["seats"].min(), demo_frame["seats"].max())
    kinds = demo_store.column_kinds
    assert kinds["plan"] == "category" and kinds["seats"] == "number" and kinds["signup_date"] == "date"
    assert kinds["auto_renew"] == "category"  # a yes/no feature stored as 0/1
    assert kinds["customer_id"] == "text" and kinds["reason_1"] == "text"


def test_one_customer_and_their_shap_values(demo_store: RunStore, demo_frame: pd.DataFrame) -> None:
    row = demo_frame.sort_values("churn_probability").iloc[-1]
    got = demo_store.customer(row["customer_id"])
    assert got is not None and got["churn_probability"] == pytest.approx(row["churn_probability"])
    assert got["plan"] == row["plan"]
    shap = demo_store.customer_shap(row["customer_id"])
    assert shap is not None
    # exact TreeSHAP: base value + contributions = the raw score
    assert shap.sum() == pytest.approx(row["churn_score"], abs=1e-6)
    assert demo_store.customer("no-such-id") is None and demo_store.customer_shap("no-such-id") is None
    assert demo_store.search_ids(str(row["customer_id"])[-4:], limit=5)


def test_typical_values_and_percentiles(demo_store: RunStore, demo_frame: pd.DataFrame) -> None:
    features = ["seats", "plan", "signup_date", "nps_score"]
    typical = demo_store.feature_reference(features)
    assert typical["seats"] == pytest.approx(demo_frame["seats"].median())
    assert typical["plan"] == demo_frame["plan"].mode().iloc[0]
    biggest = demo_frame.sort_values("seats").iloc[-1]["customer_id"]
    pct = demo_store.percentiles(biggest, features)
    assert pct["seats"] > 95 and "plan" not in pct
    assert all(v is None or 0 <= v <= 100 for v in pct.values())


def test_samples_are_repeatable_and_aligned(demo_store: RunStore) -> None:
    a = demo_store.sample(["churn_probability"], 200, seed=1)
    b = demo_store.sample(["churn_probability"], 200, seed=1)
    assert len(a) == 200 and a.equals(b)
    assert len(demo_store.sample(["x"], 10**7)) == demo_store.count()
    shap, values = demo_store.shap_sample(["seats", "plan"], 300)
    assert len(shap) == len(values) == 300
    assert shap["customer_id"].tolist() == values["customer_id"].tolist()
    assert shap["seats"].dtype == np.float64 and values["plan"].notna().any()


def test_map_points_and_test_frame(demo_store: RunStore, demo_run: Path) -> None:
    points = demo_store.map_points(limit=500, extra=["plan"])
    assert len(points) == 500
    expected = {"customer_id", "x", "y", "segment_id", "churn_probability", "revenue_at_risk", "plan"}
    assert expected <= set(points)
    test = demo_store.test_frame()
    manifest = open_run(demo_run).manifest
    assert len(test) == manifest.test_metrics["n"]
    assert set(test["y"].unique()) <= {0.0, 1.0}


def test_segment_and_band_aggregates(demo_store: RunStore, demo_frame: pd.DataFrame, demo_run: Path) -> None:
    segments = demo_store.segment_summary()
    assert segments["customers"].sum() == len(demo_frame)
    profiles = {p["id"]: p for p in open_run(demo_run).json("segments.json")["segments"]}
    for row in segments.itertuples():
        assert row.customers == profiles[row.segment_id]["size"]
        assert row.segment_name == profiles[row.segment_id]["name"]
    assert segments["expected_churners"].is_monotonic_decreasing
    bands = demo_store.band_summary()
    assert bands["risk_band"].tolist() == [b for b in ("low", "medium", "high", "very high")
                                           if b in set(demo_frame["risk_band"].astype(str))]
    assert bands["customers"].sum() == len(demo_frame)
    hist = demo_store.risk_histogram(bins=20)
    assert hist["customers"].sum() == len(demo_frame) and hist["bin"].between(0, 19).all()


def test_telco_run(telco_store: RunStore, telco_run: Path) -> None:
    frame = pd.read_parquet(telco_run / "customers.parquet")
    assert telco_store.id_column == "customerID"
    assert telco_store.count() == len(frame)
    top = telco_store.risk_table(limit=1)
    assert top["customerID"].iloc[0] == frame.loc[frame["churn_probability"].idxmax(), "customerID"]
    assert telco_store.totals()["churn_rate"] == pytest.approx(frame["Churn"].mean())
    assert telco_store.customer(top["customerID"].iloc[0]) is not None
    assert not telco_store.segment_summary().empty
    assert len(telco_store.test_frame()) > 100


def test_a_run_without_revenue(tmp_path: Path, demo_frame: pd.DataFrame) -> None:
    path = tmp_path / "customers.parquet"
    demo_frame.drop(columns=["revenue_at_risk"]).to_parquet(path, index=False)
    store = RunStore(path, id_column="customer_id", target="churned", revenue_column=None)
    assert not store.has_revenue
    assert store.totals()["revenue_at_risk"] is None
    assert store.segment_summary()["revenue_at_risk"].isna().all()
    assert "revenue_at_risk" not in store.map_points(limit=10)


def test_fast_on_a_hundred_thousand_customers(tmp_path: Path, demo_frame: pd.DataFrame) -> None:
    copies = -(-100_000 // len(demo_frame))
    big = pd.concat([demo_frame] * copies, ignore_index=True)
    big["customer_id"] = [f"B{i:07d}" for i in range(len(big))]
    big["churn_probability"] = np.random.default_rng(0).random(len(big))
    path = tmp_path / "big.parquet"
    big.to_parquet(path, index=False, compression="zstd")
    store = RunStore(path, id_column="customer_id", target="churned", revenue_column="revenue_next_12m")
    flt = RiskFilter(bands=("high", "very high"),
                     conditions=(ColumnFilter("plan", "in", values=("Pro",)),
                                 ColumnFilter("reason_1", "contains", text="login")))
    started = time.perf_counter()
    store.count(flt)
    store.risk_table(flt, offset=500, limit=50)
    store.totals(flt)
    store.risk_histogram()
    store.segment_summary()
    store.customer("B0099999")
    store.map_points(limit=40_000)
    elapsed = time.perf_counter() - started
    assert store.count() == len(big) >= 100_000
    assert elapsed < 5.0, f"queries over {len(big):,} rows took {elapsed:.1f} s"


# ---------------------------------------------------------------------- explanations that lead to action


def test_lead_columns_come_first_and_exports_keep_every_column(demo_store: RunStore, telco_store: RunStore,
                                                                demo_frame: pd.DataFrame) -> None:
    assert demo_store.lead_columns() == ["customer_id", "churn_probability", "risk_band", "revenue_at_risk",
                                         "segment_name", "reason_1", "reason_2", "reason_3"]
    assert telco_store.lead_columns()[0] == "customerID"
    columns = demo_store.export_columns()
    assert columns[:8] == demo_store.lead_columns()
    assert sorted(columns) == sorted(demo_frame.columns) and len(set(columns)) == len(columns)


def test_main_reason_filter_selects_exactly_those_customers(demo_store: RunStore,
                                                             demo_frame: pd.DataFrame) -> None:
    reasons = demo_store.top_reasons()
    counts = demo_frame["top_reason"].value_counts()
    assert dict(zip(reasons["feature"], reasons["customers"], strict=True)) == counts.to_dict()
    assert reasons["customers"].is_monotonic_decreasing
    second = str(reasons["feature"].iloc[1])
    flt = RiskFilter(conditions=(ColumnFilter("top_reason", "in", values=(second,)),))
    rows = demo_store.risk_table(flt, limit=None)
    expected = demo_frame[demo_frame["top_reason"] == second]
    assert demo_store.count(flt) == len(rows) == len(expected)
    assert set(rows["customer_id"]) == set(expected["customer_id"])
    assert rows["churn_probability"].is_monotonic_decreasing


def test_segment_reference_is_the_segments_median_and_mode(demo_store: RunStore,
                                                          demo_frame: pd.DataFrame) -> None:
    segment = int(demo_frame["segment_id"].value_counts().index[-1])
    members = demo_frame[demo_frame["segment_id"] == segment]
    typical = demo_store.segment_reference(segment, ["seats", "monthly_fee", "plan"])
    assert typical["seats"] == pytest.approx(members["seats"].median())
    assert typical["monthly_fee"] == pytest.approx(members["monthly_fee"].median())
    assert typical["plan"] in set(members["plan"].mode())


def test_customers_by_ids_keeps_the_order_asked_for(demo_store: RunStore, demo_frame: pd.DataFrame) -> None:
    ids = demo_frame["customer_id"].sample(7, random_state=1).tolist()
    rows = demo_store.customers_by_ids([*ids, "no-such-id"], ["churn_probability", "segment_name"])
    assert rows["customer_id"].tolist() == ids
    expected = demo_frame.set_index("customer_id").loc[ids, "churn_probability"].to_numpy()
    assert rows["churn_probability"].to_numpy() == pytest.approx(expected)


def test_scoped_shap_importance_and_sample(demo_store: RunStore, demo_run: Path,
                                           demo_frame: pd.DataFrame) -> None:
    shap = pd.read_parquet(demo_run / "shap.parquet")
    features = demo_store.shap_features
    everyone = demo_store.shap_importance()
    assert everyone.set_index("feature")["mean_abs_shap"].to_dict() == pytest.approx(
        shap[features].abs().mean().to_dict())
    segment = int(demo_frame["segment_id"].value_counts().index[0])
    members = set(demo_frame.loc[demo_frame["segment_id"] == segment, "customer_id"])
    flt = RiskFilter(segments=(segment,))
    scoped = demo_store.shap_importance(flt)
    expected = shap[shap["customer_id"].isin(members)][features].abs().mean()
    assert scoped.set_index("feature")["mean_abs_shap"].to_dict() == pytest.approx(expected.to_dict())
    assert scoped["mean_abs_shap"].is_monotonic_decreasing
    assert demo_store.shap_importance(RiskFilter(bands=("no such band",))).empty
    values_shap, values = demo_store.shap_sample_where(["seats", "plan"], 10_000, flt)
    assert len(values_shap) == len(values) == len(members)
    assert set(values["customer_id"]) == members
    assert values_shap["customer_id"].tolist() == values["customer_id"].tolist()


def test_probability_and_value_ranks_every_customer(demo_store: RunStore, telco_store: RunStore,
                                                    demo_frame: pd.DataFrame) -> None:
    assert demo_store.value_column == "predicted_revenue_next_12m"
    assert telco_store.value_column == "predicted_MonthlyCharges"
    ranked = demo_store.probability_and_value()
    assert len(ranked) == len(demo_frame) and ranked["churn_probability"].is_monotonic_decreasing
    truth = demo_frame.set_index("customer_id").loc[ranked["id"], "predicted_revenue_next_12m"]
    assert ranked["value"].to_numpy() == pytest.approx(truth.clip(lower=0).fillna(0).to_numpy())
    # revenue at risk is probability x that value
    merged = demo_frame.set_index("customer_id").loc[ranked["id"]]
    assert (ranked["churn_probability"] * ranked["value"]).to_numpy() == pytest.approx(
        merged["revenue_at_risk"].to_numpy())


def test_shap_contrast_is_the_mean_shap_of_the_chosen_against_the_rest(demo_store: RunStore, demo_run: Path,
                                                                       demo_frame: pd.DataFrame) -> None:
    shap = pd.read_parquet(demo_run / "shap.parquet").set_index("customer_id")
    features = demo_store.shap_features
    segment = int(demo_frame["segment_id"].value_counts().index[-1])
    inside = demo_frame.loc[demo_frame["segment_id"] == segment, "customer_id"]
    out = demo_store.shap_contrast(RiskFilter(segments=(segment,)))
    assert out["difference"].abs().is_monotonic_decreasing and len(out) == len(features)
    got = out.set_index("feature")
    assert got["selected"].to_dict() == pytest.approx(shap.loc[inside, features].mean().to_dict(), abs=1e-6)
    rest = shap.drop(index=inside)[features].mean()
    assert got["rest"].to_dict() == pytest.approx(rest.to_dict(), abs=1e-6)
    assert (got["customers_selected"] == len(inside)).all()
    assert (got["customers_rest"] == len(shap) - len(inside)).all()

    ids = demo_frame["customer_id"].iloc[:40].tolist()  # chosen by id, as a lasso does
    by_ids = demo_store.shap_contrast(ids=ids).set_index("feature")
    assert by_ids["selected"].to_dict() == pytest.approx(shap.loc[ids, features].mean().to_dict(), abs=1e-6)
    rest = shap.drop(index=ids)[features].mean()
    assert by_ids["rest"].to_dict() == pytest.approx(rest.to_dict(), abs=1e-6)
    assert int(by_ids["customers_selected"].iloc[0]) == 40

    bands = ("high", "very high")  # segments and bands come from the stored sums; conditions need a pass
    largest = int(demo_frame["segment_id"].value_counts().index[0])
    in_bands = demo_frame[(demo_frame["segment_id"] == largest)
                          & demo_frame["risk_band"].astype(str).isin(bands)]
    assert len(in_bands) > 0
    got = demo_store.shap_contrast(RiskFilter(bands=bands, segments=(largest,))).set_index("feature")
    assert got["selected"].to_dict() == pytest.approx(
        shap.loc[in_bands["customer_id"], features].mean().to_dict(), abs=1e-6)
    pro = demo_frame.loc[demo_frame["plan"] == "Pro", "customer_id"]
    got = demo_store.shap_contrast(RiskFilter(conditions=(ColumnFilter("plan", "in", values=("Pro",)),)))
    assert got.set_index("feature")["selected"].to_dict() == pytest.approx(
        shap.loc[pro, features].mean().to_dict(), abs=1e-6)


def test_shap_groups_are_counted_when_a_run_lacks_the_file(demo_store: RunStore, demo_run: Path) -> None:
    older = RunStore(demo_run / "customers.parquet", demo_run / "shap.parquet", id_column="customer_id",
                     target="churned", revenue_column="revenue_next_12m")  # as a run from before the file
    stored = demo_store.shap_groups.sort_values(["segment_id", "risk_band"], ignore_index=True)
    counted = older.shap_groups.sort_values(["segment_id", "risk_band"], ignore_index=True)
    pd.testing.assert_frame_equal(counted, stored, check_dtype=False, atol=1e-9)
    first = RiskFilter(segments=(0,))
    pd.testing.assert_frame_equal(older.shap_contrast(first), demo_store.shap_contrast(first),
                                  check_dtype=False, atol=1e-9)


def test_integer_ids_are_found_by_their_text(tmp_path: Path, demo_frame: pd.DataFrame) -> None:
    frame = demo_frame.assign(customer_id=np.arange(1000, 1000 + len(demo_frame), dtype=np.int64))
    path = tmp_path / "customers.parquet"
    frame.to_parquet(path, index=False, row_group_size=256)
    store = RunStore(path, id_column="customer_id", target="churned", revenue_column="revenue_next_12m")
    row = store.customer("1007")
    assert row is not None and row["customer_id"] == 1007
    assert store.customer(1007)["customer_id"] == 1007
    for near_miss in ("01007", "C1007", "1e3"):
        assert store.customer(near_miss) is None, near_miss
    assert set(store.percentiles("1007", ["monthly_fee"])) == {"monthly_fee"}


def test_map_density_counts_every_customer_once(demo_store: RunStore, demo_frame: pd.DataFrame) -> None:
    density = demo_store.map_density(bins=30)
    assert int(density["customers"].sum()) == len(demo_frame)
    assert density["ix"].between(0, 29).all() and density["iy"].between(0, 29).all()
    assert not density.duplicated(["ix", "iy"]).any()
    x0, x1 = demo_frame["x"].min(), demo_frame["x"].max()
    ix = np.minimum(np.floor((demo_frame["x"] - x0) / (x1 - x0) * 30), 29).astype(int)
    assert density.groupby("ix")["customers"].sum().to_dict() == ix.value_counts().to_dict()


def test_an_optional_file_the_manifest_does_not_list_is_never_read(tmp_path: Path, demo_run: Path) -> None:
    """A map.parquet (a large run's map sample) dropped into a small run: verification refuses the run, and a
    store opened on it without verification still ignores the file. Listed, the same file is used."""
    from insight.runs.integrity import seal, sha256_of

    run = tmp_path / demo_run.name
    shutil.copytree(demo_run, run)
    planted = pd.read_parquet(run / "customers.parquet").head(10)
    planted.to_parquet(run / "map.parquet", index=False)
    assert any(p.startswith("map.parquet: a file not listed") for p in verify_run(run))
    store = RunStore.from_run(open_run(run, verify=False))
    assert not store.has_map_sample and len(store.map_points(limit=100_000)) == store.count()

    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"]["map.parquet"] = {"sha256": sha256_of(run / "map.parquet"),
                                        "bytes": (run / "map.parquet").stat().st_size}
    (run / "manifest.json").write_text(json.dumps(seal(manifest, key=b"")))
    assert verify_run(run) == []
    listed = RunStore.from_run(open_run(run))
    assert listed.has_map_sample and len(listed.map_points(limit=100_000)) == len(planted)
