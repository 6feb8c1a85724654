"""insight.uplift.run_parts through insight.pipeline.train and `insight train --treatment`: a run with a past
campaign stores its uplift model, columns and held-out evaluation; bad campaign columns exit 2 with nothing
written; runs without --treatment are unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from insight.cli import app
from insight.data.demo_campaign import demo_campaign_data
from insight.runs import layout
from insight.runs.models import load_models
from insight.runs.run import open_run, verify_run
from insight.data.features import encode
from insight.uplift.model import UpliftModel

pytestmark = pytest.mark.slow
UPLIFT_COLUMNS = {layout.UPLIFT, layout.UPLIFT_LOWER, layout.UPLIFT_UPPER, layout.CHURN_IF_NOT_OFFERED,
                  layout.UPLIFT_GROUP, *layout.RESPONSE_REASONS}
DEMO = ["--id", "customer_id", "--target", "churned", "--aux", "revenue_next_12m", "--aux", "seat_change_next_12m"]
runner = CliRunner()


def test_an_uplift_run_stores_its_model_columns_and_evaluation(uplift_run: Path) -> None:
    assert layout.UPLIFT_MODEL in {p.name for p in uplift_run.iterdir()} and verify_run(uplift_run) == []
    run = open_run(uplift_run)
    manifest = run.manifest
    assert manifest.uplift["treatment_column"] == "retention_offer"
    assert manifest.uplift["kind"] in ("x", "dr") and manifest.uplift["check"]["randomised"]
    assert "retention_offer" not in manifest.features  # customers to come have no such flag
    metrics = manifest.uplift_metrics
    assert set(metrics["test"]["scores"]) == {"model", "risk", "random"}
    customers = pd.read_parquet(run.file(layout.CUSTOMERS))
    assert UPLIFT_COLUMNS <= set(customers.columns)
    assert (customers[layout.UPLIFT_LOWER] <= customers[layout.UPLIFT] + 1e-12).all()
    assert (customers[layout.UPLIFT] <= customers[layout.UPLIFT_UPPER] + 1e-12).all()
    assert set(customers[layout.UPLIFT_GROUP]) <= {"persuadable", "sure thing", "lost cause", "sleeping dog"}
    assert customers[layout.RESPONSE_REASONS[0]].str.contains(" — ").all()
    truth = demo_campaign_data(rows=1500, seed=0).truth[["customer_id", "uplift"]]
    both = customers[["customer_id", layout.UPLIFT]].merge(truth, on="customer_id", suffixes=("", "_true"))
    assert np.corrcoef(both[layout.UPLIFT], both["uplift_true"])[0, 1] > 0.3  # it finds whom the offer moves
    model = UpliftModel.from_json(run.text(layout.UPLIFT_MODEL))
    fmap = load_models(run).fmap
    assert np.allclose(model.predict(encode(customers, fmap)), customers[layout.UPLIFT], atol=1e-5)


@pytest.mark.parametrize("which", ["demo_run", "telco_run", "survival_run"])
def test_a_run_without_treatment_has_no_uplift_parts(which: str, request: pytest.FixtureRequest) -> None:
    run: Path = request.getfixturevalue(which)
    manifest = json.loads((run / layout.MANIFEST).read_text())
    assert "uplift" not in manifest and "uplift" not in manifest["metrics"]
    assert layout.UPLIFT_MODEL not in {p.name for p in run.iterdir()}
    assert "treatment_column" not in manifest["spec"] and "propensity_column" not in manifest["spec"]
    assert not UPLIFT_COLUMNS & set(pd.read_parquet(run / layout.CUSTOMERS).columns)


@pytest.fixture(scope="module")
def campaign_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("campaign") / "customers.csv"
    demo_campaign_data(rows=900, seed=2).customers.to_csv(path, index=False)
    return path


def _bad(campaign_csv: Path, tmp_path: Path, edit) -> Path:  # noqa: ANN001
    frame = pd.read_csv(campaign_csv)
    edit(frame)
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("edit", "args", "message"), [
    (None, ["--treatment", "no_such_column"], "is not a column of the table"),
    (None, ["--propensity", "retention_offer"], "--propensity needs --treatment"),
    (lambda f: f.__setitem__("retention_offer", f["retention_offer"].replace(1, 2)), ["--treatment",
                                                                                     "retention_offer"],
     "rows hold other values: 2"),
    (lambda f: f.__setitem__("retention_offer", (f.index < 40).astype(int)), ["--treatment", "retention_offer"],
     "needs at least"),
    (lambda f: f.__setitem__("retention_offer", (f["billing_cycle"] == "monthly").astype(int)),
     ["--treatment", "retention_offer"], "almost perfectly"),
    (lambda f: f.__setitem__("offer_odds", 1.5), ["--treatment", "retention_offer", "--propensity", "offer_odds"],
     "strictly between 0 and 1"),
])
def test_a_bad_campaign_exits_2_and_writes_nothing(edit, args: list[str], message: str,  # noqa: ANN001
                                                   campaign_csv: Path, tmp_path: Path) -> None:
    data = campaign_csv if edit is None else _bad(campaign_csv, tmp_path, edit)
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["train", str(data), *DEMO, *args, "--runs-dir", str(runs)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not runs.exists() or not [p for p in runs.iterdir() if not p.name.startswith(".")]
