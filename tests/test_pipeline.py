"""insight.pipeline: train() end to end, on the session's demo and Telco runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from insight.config import ChurnConfig, DataSpec, SegmentConfig, TrainConfig
from insight.data.demo import demo_spec
from insight.errors import InputError
from insight.decisions.risk_bands import risk_band_thresholds, risk_bands
from insight.models.recipe import split_rows
from insight.pipeline import train
from insight.runs.layout import RISK_BANDS
from insight.runs.run import LATEST, list_runs, verify_run
from insight.runs.writer import fingerprint

RUN_FILES = {"manifest.json", "churn_model.txt", "calibration.json", "features.json", "multitask.pt",
             "multitask.json", "customers.parquet", "shap.parquet", "latent.parquet", "segments.json",
             "shap_groups.parquet", "map_fit.parquet"}
"""Every run's files; a run of more than insight.segments.mapsample.MAP_POINTS customers adds map.parquet and
map_shap.parquet (test_a_large_run_stores_the_map_sample)."""


def _manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("which", ["demo_run", "telco_run"])
def test_every_file_of_the_run_format(which: str, request: pytest.FixtureRequest) -> None:
    run: Path = request.getfixturevalue(which)
    assert {p.name for p in run.iterdir()} == RUN_FILES
    manifest = _manifest(run)
    assert set(manifest["files"]) == RUN_FILES - {"manifest.json"}
    assert verify_run(run) == []
    assert manifest["run_id"] == run.name
    for key in ("created", "source", "spec", "config", "metrics", "features", "versions", "risk_bands",
                "churn_rate", "global_importance", "dropped_columns", "timings_seconds"):
        assert key in manifest, key
    assert "churn_model.txt" in manifest["files"] and manifest["files"]["multitask.pt"]["bytes"] > 1000
    assert (run / "churn_model.txt").read_text().startswith("tree")  # LightGBM text, not a pickle


@pytest.mark.slow
def test_customers_table(demo_run: Path, demo_small: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers = pd.read_parquet(demo_run / "customers.parquet")
    raw, _ = demo_small
    spec = demo_spec()
    documented = [spec.id_column, *spec.targets, "churn_probability", "risk_band", "segment_id",
                  "segment_name", "x", "y", "reason_1"]
    for col in documented:
        assert col in customers.columns, col
    assert customers[spec.id_column].tolist() == sorted(raw[spec.id_column])  # stored in id order
    assert customers["churn_probability"].between(0, 1).all()
    assert set(customers["risk_band"].astype(str)) <= set(RISK_BANDS)
    assert customers["segment_name"].str.len().gt(0).all()
    assert np.isfinite(customers[["x", "y"]].to_numpy()).all()
    assert customers["reason_1"].str.contains(r" — (?:raises|lowers|barely)").all()
    assert set(customers["split"]) == {"train", "valid", "test"}
    for aux in spec.aux_targets:
        assert f"predicted_{aux}" in customers.columns
    # risk bands follow the probability
    order = customers.groupby("risk_band", observed=True)["churn_probability"].agg(["min", "max"])
    assert (order["max"].shift(1).dropna().to_numpy() <= order["min"].iloc[1:].to_numpy()).all()
    # revenue at risk = probability x the revenue head's prediction (the outcome is unknown for new customers)
    np.testing.assert_allclose(customers["revenue_at_risk"],
                               customers["churn_probability"] * customers["predicted_revenue_next_12m"].clip(lower=0))


@pytest.mark.slow
def test_latent_table(demo_run: Path) -> None:
    latent = pd.read_parquet(demo_run / "latent.parquet")
    dims = [c for c in latent.columns if c.startswith("z")]
    assert 8 <= len(dims) <= 32
    assert np.isfinite(latent[dims].to_numpy()).all()
    customers = pd.read_parquet(demo_run / "customers.parquet", columns=["customer_id"])
    assert latent["customer_id"].tolist() == customers["customer_id"].tolist()


@pytest.mark.slow
def test_metrics_in_the_manifest(demo_run: Path) -> None:
    metrics = _manifest(demo_run)["metrics"]
    test = metrics["lightgbm"]["test"]
    assert test["roc_auc"] > 0.7
    assert 0 <= test["ece"] < 0.15
    assert metrics["multitask"]["churned"]["roc_auc"] > 0.65
    sizes = metrics["split_sizes"]
    assert sizes["train"] + sizes["valid"] + sizes["test"] == 1500
    seg = metrics["segments"]
    assert seg["n_segments"] >= 2 and seg["projection"]["trustworthiness"] >= 0.9
    assert seg["planted_segments"] == 6
    # a floor that catches a broken segmentation (segments unrelated to the planted ones score ~0)
    assert seg["ari_vs_planted"] > 0.3


@pytest.mark.slow
@pytest.mark.parametrize("which", ["demo_run", "telco_run"])
def test_test_set_probabilities_of_the_three_models(which: str, request: pytest.FixtureRequest) -> None:
    """customers.parquet keeps every model's probability and the split, so the held-out metrics in the
    manifest can be recomputed (overall, per segment, at any threshold) from the stored test rows."""
    from insight.models.metrics import binary_metrics

    run: Path = request.getfixturevalue(which)
    manifest = _manifest(run)
    metrics, target = manifest["metrics"], manifest["spec"]["target"]
    customers = pd.read_parquet(run / "customers.parquet")
    test = customers[customers["split"] == "test"]
    assert len(test) == metrics["split_sizes"]["test"] and test[target].notna().all()
    y = test[target].to_numpy(dtype=float)
    recorded = {"churn_probability": metrics["lightgbm"]["test"],
                "mt_churn_probability": metrics["multitask"][target],
                "logistic_churn_probability": metrics["logistic"]["test"]}
    for column, m in recorded.items():
        assert customers[column].between(0, 1).all(), column
        again = binary_metrics(y, test[column].to_numpy(dtype=float))
        for key in ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "n"):
            assert again[key] == pytest.approx(m[key], rel=1e-9), (column, key)
    # the models differ: the baseline is a separate model, not a copy of LightGBM
    assert not np.allclose(test["churn_probability"], test["logistic_churn_probability"])
    for aux in manifest["spec"]["aux_targets"]:
        head = metrics["multitask"][aux]
        assert head["beats_train_mean"] is (head["r2"] > head["r2_of_train_mean"]), aux
    # On 1,500 demo customers the seat change (heavy-tailed: a churning enterprise drops every seat) is not
    # learnt by the head (R² about -0.2; scikit-learn's gradient boosting does no better at this size), so
    # only the heads that must beat the training mean at these sizes are asserted here.
    must_beat = {"demo_run": ["revenue_next_12m"], "telco_run": ["tenure", "MonthlyCharges"]}[which]
    for aux in must_beat:
        assert metrics["multitask"][aux]["beats_train_mean"], f"{aux}: no better than the training mean"


@pytest.mark.slow
@pytest.mark.parametrize("which", ["demo_run", "telco_run"])
def test_shap_additivity_against_the_customers_table(which: str, request: pytest.FixtureRequest) -> None:
    run: Path = request.getfixturevalue(which)
    manifest = _manifest(run)
    id_column = manifest["spec"]["id_column"]
    shap = pd.read_parquet(run / "shap.parquet")
    customers = pd.read_parquet(run / "customers.parquet",
                                columns=[id_column, "churn_score", "churn_probability"])
    assert shap[id_column].tolist() == customers[id_column].tolist()
    assert [c for c in shap.columns if c not in (id_column, "base_value")] == manifest["features"]
    total = shap[manifest["features"]].to_numpy().sum(axis=1) + shap["base_value"].to_numpy()
    np.testing.assert_allclose(total, customers["churn_score"], rtol=0, atol=1e-6)
    assert stats.spearmanr(total, customers["churn_probability"]).statistic >= 0.999


@pytest.mark.slow
def test_telco_run(telco_run: Path, runs_dir: Path) -> None:
    manifest = _manifest(telco_run)
    assert manifest["metrics"]["lightgbm"]["test"]["roc_auc"] > 0.8
    assert "customerID" not in manifest["features"] and "Churn" not in manifest["features"]
    assert "TotalCharges" in manifest["features"]
    customers = pd.read_parquet(telco_run / "customers.parquet")
    assert customers["TotalCharges"].dtype == np.float64  # numbers stored as text with blanks
    assert set(customers["Churn"].unique()) == {0.0, 1.0}
    assert customers["SeniorCitizen"].isin([0.0, 1.0]).all()
    features = json.loads((telco_run / "features.json").read_text())
    roles = {c["name"]: c["role"] for c in features["schema"]["columns"]}
    assert roles["Partner"] == "boolean" and roles["Contract"] == "categorical"
    assert manifest["spec"]["revenue_column"] == "MonthlyCharges"  # guessed from "charges"
    assert manifest["metrics"]["multitask"]["tenure"]["r2"] > manifest["metrics"]["multitask"]["tenure"][
        "r2_of_train_mean"]
    assert (runs_dir / LATEST).read_text().strip() == telco_run.name


@pytest.mark.slow
def test_failed_training_leaves_no_run(telco_run: Path, runs_dir: Path,
                                       demo_small: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    before = sorted(p.name for p in runs_dir.iterdir())
    latest = (runs_dir / LATEST).read_text()
    customers, _ = demo_small
    with pytest.raises(InputError, match="one class only"):
        train(customers.assign(churned="No"), demo_spec(), TrainConfig(), runs_dir=runs_dir)

    def fail_late(stage: str, done: float) -> None:  # a crash after the churn model is fitted
        if stage == "computing SHAP values":
            raise RuntimeError("crash in the middle of training")

    cheap = TrainConfig(threads=1, churn=ChurnConfig(num_leaves_grid=(4,), inner_folds=2, max_rounds=200))
    with pytest.raises(RuntimeError, match="crash in the middle"):
        train(customers, demo_spec(), cheap, runs_dir=runs_dir, progress=fail_late)
    assert sorted(p.name for p in runs_dir.iterdir()) == before
    assert (runs_dir / LATEST).read_text() == latest
    assert telco_run in list_runs(runs_dir)


def test_split_rows_is_stratified_and_disjoint() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.2).astype(float)
    y[rng.random(2000) < 0.05] = np.nan
    splits = split_rows(y, TrainConfig(seed=0))
    parts = [splits.train, splits.valid, splits.test]
    joined = np.concatenate(parts)
    assert len(np.unique(joined)) == len(joined) == int((~np.isnan(y)).sum())
    assert abs(len(splits.test) / len(joined) - 0.2) < 0.01
    assert abs(len(splits.valid) / len(joined) - 0.15) < 0.01
    rates = [np.mean(y[p]) for p in parts]
    assert max(rates) - min(rates) < 0.01
    labels = splits.labels(len(y))
    assert (labels[np.isnan(y)] == "unlabelled").all()
    again = split_rows(y, TrainConfig(seed=0))
    assert np.array_equal(again.test, splits.test)


def test_risk_bands() -> None:
    thresholds = risk_band_thresholds(0.2)
    assert thresholds == pytest.approx({"medium": 0.1, "high": 0.3, "very high": 0.5})
    bands = risk_bands(np.array([0.05, 0.1, 0.2, 0.35, 0.9]), thresholds)
    assert list(bands.astype(str)) == ["low", "medium", "medium", "high", "very high"]
    assert bands.ordered
    assert max(risk_band_thresholds(0.6).values()) <= 0.95


def test_fingerprint() -> None:
    a = pd.DataFrame({"id": [1, 2], "x": ["a", "b"]})
    assert fingerprint(a) == fingerprint(a.copy())
    assert fingerprint(a) != fingerprint(a.assign(x=["a", "c"]))
    assert fingerprint(a) != fingerprint(a.rename(columns={"x": "y"}))


def test_bad_spec_fails_before_any_work(tmp_path: Path,
                                        demo_small: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, _ = demo_small
    with pytest.raises(InputError, match="did you mean 'customer_id'"):
        train(customers, DataSpec(id_column="customer_ID", target="churned"), runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_revenue_column_is_guessed_from_whole_words() -> None:
    from insight.data.spec import guess_revenue_column

    assert guess_revenue_column(("tenure", "MonthlyCharges")) == "MonthlyCharges"
    assert guess_revenue_column(("seat_change", "revenue_next_12m")) == "revenue_next_12m"
    assert guess_revenue_column(("days_to_arrival", "carrier_score")) is None  # 'arr' only inside words


def test_a_run_records_only_the_actionable_columns_that_are_features() -> None:
    from insight.data.demo import ACTIONABLE, default_actionable
    from insight.data.spec import resolved_spec

    assert default_actionable([*ACTIONABLE, "seats"]) == ACTIONABLE  # `insight train`'s default on demo columns
    assert default_actionable(["tenure", "Contract"]) == ()
    chosen = DataSpec(id_column="id", target="y", actionable=("Contract", "gone"))
    assert resolved_spec(chosen, revenue=None, features=["tenure", "Contract"]).actionable == ("Contract",)


@pytest.mark.slow
def test_retraining_with_the_same_seed_gives_the_same_segments(demo_small: tuple, tmp_path: Path) -> None:
    """Segment ids, names and map positions are stable when the same data is retrained with the same seed."""
    customers, _ = demo_small
    config = TrainConfig(seed=3, threads=1, churn=ChurnConfig(num_leaves_grid=(8,), inner_folds=3),
                         segments=SegmentConfig(fit_sample=1500, trustworthiness_sample=500))
    first = train(customers, demo_spec(), config, runs_dir=tmp_path / "a")
    second = train(customers, demo_spec(), config, runs_dir=tmp_path / "b")
    names = [json.loads((run / "segments.json").read_text())["segments"] for run in (first, second)]
    assert [(s["id"], s["name"], s["size"]) for s in names[0]] == [(s["id"], s["name"], s["size"]) for s in names[1]]
    a, b = (pd.read_parquet(run / "customers.parquet") for run in (first, second))
    assert (a["segment_id"] == b["segment_id"]).all()
    np.testing.assert_allclose(a[["x", "y"]], b[["x", "y"]], atol=1e-5)
    np.testing.assert_allclose(a["churn_probability"], b["churn_probability"], atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["demo_run", "telco_run"])
def test_tables_are_stored_in_id_order_in_row_groups(which: str, request: pytest.FixtureRequest) -> None:
    import pyarrow.parquet as pq

    run: Path = request.getfixturevalue(which)
    id_column = _manifest(run)["spec"]["id_column"]
    ids = pd.read_parquet(run / "customers.parquet", columns=[id_column])[id_column]
    assert ids.is_monotonic_increasing and ids.is_unique
    shap_ids = pd.read_parquet(run / "shap.parquet", columns=[id_column])[id_column]
    assert shap_ids.tolist() == ids.tolist()  # row for row the same customers
    latent_ids = pd.read_parquet(run / "latent.parquet", columns=[id_column])[id_column]
    assert sorted(latent_ids) == ids.tolist()  # latent.parquet keeps the training order (batch scoring)
    assert pq.ParquetFile(run / "customers.parquet").metadata.row_group(0).num_rows <= 65_536


@pytest.mark.slow
def test_shap_group_sums_add_up_every_customers_shap_values(demo_run: Path) -> None:
    customers = pd.read_parquet(demo_run / "customers.parquet",
                                columns=["customer_id", "segment_id", "risk_band"])
    shap = pd.read_parquet(demo_run / "shap.parquet")
    groups = pd.read_parquet(demo_run / "shap_groups.parquet")
    features = [c for c in shap.columns if c not in ("customer_id", "base_value")]
    joined = customers.merge(shap, on="customer_id")
    joined["risk_band"] = joined["risk_band"].astype(str)
    expected = joined.groupby(["segment_id", "risk_band"])[features].sum()
    got = groups.set_index(["segment_id", "risk_band"])
    assert got["customers"].sum() == len(customers)
    np.testing.assert_allclose(got.loc[expected.index, features].to_numpy(), expected.to_numpy(), atol=1e-9)


@pytest.mark.slow
def test_a_large_run_stores_the_map_sample(demo_small: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           train_config: TrainConfig) -> None:
    """Beyond MAP_POINTS customers the run keeps the map's random sample (customers and their SHAP values)
    so the dashboard need not draw one out of millions; here the limits shrink to fit a small table."""
    from insight.segments import mapsample
    from insight.runs.run import open_run
    from insight.runs.store import RiskFilter, RunStore

    monkeypatch.setattr(mapsample, "MAP_POINTS", 1_000)
    monkeypatch.setattr(mapsample, "MAP_SAMPLE", 400)
    customers, truth = demo_small
    run = train(customers, demo_spec(), train_config, runs_dir=tmp_path, source_name="demo.csv", truth=truth)
    assert {p.name for p in run.iterdir()} == RUN_FILES | {"map.parquet", "map_shap.parquet"}
    assert verify_run(run) == []
    stored = pd.read_parquet(run / "customers.parquet").set_index("customer_id")
    sample = pd.read_parquet(run / "map.parquet").set_index("customer_id")
    assert len(sample) == 400 and sample.index.is_unique and sample.index.isin(stored.index).all()
    pd.testing.assert_frame_equal(sample, stored.loc[sample.index], check_dtype=False)
    sample_shap = pd.read_parquet(run / "map_shap.parquet")
    assert sample_shap["customer_id"].tolist() == sample.index.tolist()

    store = RunStore.from_run(open_run(run))
    assert store.has_map_sample and store.has_shap_sample
    points = store.map_points(limit=400, extra=["plan"])
    assert sorted(points["customer_id"]) == sorted(sample.index) and "plan" in points
    ids = sample.index[:60].tolist()
    fast = store.shap_contrast(ids=ids).set_index("feature")
    full = store.shap._shap_contrast_scan(None, ids).set_index("feature")
    both = ["selected", "rest"]
    np.testing.assert_allclose(fast.loc[full.index, both], full[both], atol=1e-9)
    assert fast["customers_selected"].iloc[0] == 60 and fast["customers_rest"].iloc[0] == len(stored) - 60
    flt = RiskFilter(bands=("high", "very high"), segments=(0,))
    np.testing.assert_allclose(store.shap_contrast(flt).set_index("feature").loc[full.index, both],
                               store.shap._shap_contrast_scan(flt, None).set_index("feature")[both], atol=1e-9)
    someone = str(stored.index[5])
    ranks = store.percentiles(someone, ["monthly_fee"])  # ranked among the sample
    fee = stored.loc[someone, "monthly_fee"]
    known = sample["monthly_fee"].dropna()
    expected = 100 * ((known < fee).mean() + 0.5 * (known == fee).mean())
    assert ranks["monthly_fee"] == pytest.approx(expected)


# --- present-state aux targets (--aux COL --keep COL) ------------------------------------------------------

KEPT_AUX = ("tenure", "MonthlyCharges", "PaperlessBilling")
"""Present-state values (the last a Yes/No flag): multi-task targets and churn-model features."""


@pytest.fixture(scope="module")
def telco_keep(telco_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    """A real run on 1,500 Telco customers with three kept aux targets and one future-like outcome
    (TotalCharges, a number stored as text, --aux alone)."""
    sample = telco_frame.sample(1500, random_state=1).reset_index(drop=True)
    spec = DataSpec(id_column="customerID", target="Churn", aux_targets=(*KEPT_AUX, "TotalCharges"), keep=KEPT_AUX)
    small = TrainConfig(seed=0, threads=1, segments=SegmentConfig(fit_sample=1500, trustworthiness_sample=1000))
    return sample, train(sample, spec, small, runs_dir=tmp_path_factory.mktemp("keep_runs"), source_name="telco")


@pytest.mark.slow
def test_a_kept_aux_target_is_a_churn_feature_and_a_multitask_head_but_no_network_input(
        telco_keep: tuple[pd.DataFrame, Path]) -> None:
    _, run = telco_keep
    manifest = _manifest(run)
    assert list(manifest["spec"]["keep"]) == list(KEPT_AUX)
    assert list(manifest["spec"]["aux_targets"]) == [*KEPT_AUX, "TotalCharges"]
    names = [f["name"] for f in json.loads((run / "features.json").read_text())["features"]]
    assert names == manifest["features"]
    assert set(KEPT_AUX) <= set(names) and "TotalCharges" not in names and "Churn" not in names
    roles = {f["name"]: f["role"] for f in json.loads((run / "features.json").read_text())["features"]}
    assert (roles["tenure"], roles["MonthlyCharges"], roles["PaperlessBilling"]) == ("numeric", "numeric",
                                                                                       "boolean")
    assert not {c["name"] for c in manifest["dropped_columns"]} & {*KEPT_AUX, "TotalCharges"}
    shap = pd.read_parquet(run / "shap.parquet")
    assert set(KEPT_AUX) <= set(shap.columns) and "TotalCharges" not in shap.columns
    assert shap["tenure"].abs().mean() > 0  # the churn model really uses it (tenure is a strong driver)
    assert "tenure" in [r["feature"] for r in manifest["global_importance"]]
    described = json.loads((run / "multitask.json").read_text())
    inputs = [names[i] for i in described["prep"]["numeric"] + described["prep"]["categorical"]]
    assert sorted(inputs) == sorted(n for n in names if n not in KEPT_AUX)
    assert [t["name"] for t in described["tasks"]] == ["Churn", *KEPT_AUX, "TotalCharges"]
    assert set(manifest["metrics"]["multitask"]) >= {"Churn", *KEPT_AUX, "TotalCharges"}
    customers = pd.read_parquet(run / "customers.parquet")
    assert list(customers.columns).count("tenure") == 1 and customers["tenure"].dtype == np.float64
    assert {f"predicted_{a}" for a in (*KEPT_AUX, "TotalCharges")} <= set(customers.columns)
    # revenue at risk: MonthlyCharges is known when a customer is scored, so its own value is used
    assert manifest["spec"]["revenue_column"] == "MonthlyCharges"
    np.testing.assert_allclose(customers["revenue_at_risk"],
                               customers["churn_probability"] * customers["MonthlyCharges"], rtol=1e-9)


@pytest.mark.slow
def test_a_run_with_kept_aux_targets_rescored_and_edited(telco_keep: tuple[pd.DataFrame, Path]) -> None:
    from insight.batch.scoring import PartitionScorer
    from insight.runs.run import open_run
    from insight.decisions.whatif import what_if
    from insight.runs.models import load_models

    raw, run = telco_keep
    scores = PartitionScorer(str(run.resolve()))(raw).sort_values("customerID", ignore_index=True)
    stored = pd.read_parquet(run / "customers.parquet").sort_values("customerID", ignore_index=True)
    assert (scores["customerID"] == stored["customerID"]).all()
    assert (scores["churn_probability"].to_numpy() == stored["churn_probability"].to_numpy()).all()
    latent = pd.read_parquet(run / "latent.parquet").sort_values("customerID", ignore_index=True)
    np.testing.assert_allclose(scores.filter(regex=r"^z\d+$"), latent.filter(regex=r"^z\d+$"), atol=1e-5)
    saved = load_models(open_run(run))
    row = stored.iloc[0]
    before = what_if(saved, row, {})["churn_probability"]
    assert before == pytest.approx(row["churn_probability"], abs=1e-12)
    after = what_if(saved, row, {"tenure": 72.0 if row["tenure"] < 36 else 1.0})["churn_probability"]
    assert after != before  # a what-if edit of a kept aux target moves the churn model


def test_the_clock_times_stages_that_run_side_by_side_and_never_goes_back() -> None:
    from insight.pipeline import StageClock

    shares: list[float] = []
    timings: dict[str, float] = {}
    clock = StageClock(lambda stage, done: shares.append(done), timings)
    clock.report("fitting the churn model", 0.0)
    clock.report("training the multi-task network", 0.0)  # starts while the churn model still fits
    clock.report("training the multi-task network", 0.5)
    clock.report("training the multi-task network", 1.0)
    clock.report("fitting the churn model", 0.5)  # its share is behind the network's: not reported backwards
    clock.report("fitting the churn model", 1.0)
    assert shares == sorted(shares) and shares[-1] > shares[0]
    assert set(timings) == {"fitting the churn model", "training the multi-task network"}
    assert timings["fitting the churn model"] >= timings["training the multi-task network"]
