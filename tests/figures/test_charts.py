"""Figures: built from a real run's tables, showing what they claim to show, serialisable for the browser."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from insight.figures import charts
from insight.formatting import display_value
from insight.runs.run import open_run
from insight.runs.store import RunStore


def _valid(fig: go.Figure) -> dict:
    assert isinstance(fig, go.Figure)
    return json.loads(fig.to_json())


def test_risk_histogram_counts_every_customer(demo_store: RunStore, demo_run: Path) -> None:
    thresholds = open_run(demo_run).manifest.risk_bands
    fig = charts.risk_histogram(demo_store.risk_histogram(), thresholds=thresholds)
    _valid(fig)
    assert sum(int(np.sum(t.y)) for t in fig.data) == demo_store.count()
    assert {t.name for t in fig.data} <= {"Low", "Medium", "High", "Very high"}
    assert fig.layout.barmode == "stack"


def test_waterfall_adds_up_to_the_customers_score(demo_store: RunStore, demo_roles: dict[str, str]) -> None:
    row = demo_store.risk_table(limit=1).iloc[0]
    shap = demo_store.customer_shap(row["customer_id"])
    values = demo_store.customer(row["customer_id"])
    fig = charts.shap_waterfall(shap, values, base_value=float(shap["base_value"]), roles=demo_roles,
                                 to_probability=lambda s: 1 / (1 + np.exp(-s)), top=8)
    _valid(fig)
    bar = fig.data[0]
    assert list(bar.measure)[0] == "absolute" and list(bar.measure)[-1] == "total"
    assert len(bar.x) == 1 + 8 + 1 + 1  # average, 8 features, the rest pooled, this customer
    assert bar.x[-1] == pytest.approx(row["churn_score"], abs=1e-6)
    assert sum(bar.x[:-1]) == pytest.approx(row["churn_score"], abs=1e-6)
    assert bar.y[0].startswith("Average customer (") and bar.y[-1].startswith("This customer (")


def test_importance_bar_and_beeswarm(demo_store: RunStore, demo_run: Path,
                                     demo_roles: dict[str, str]) -> None:
    importance = pd.DataFrame(list(open_run(demo_run).manifest.global_importance))
    fig = charts.importance_bar(importance, top=10)
    _valid(fig)
    assert len(fig.data[0].x) == 10
    assert fig.data[0].x[-1] == pytest.approx(importance["mean_abs_shap"].max())  # the largest at the top
    features = importance["feature"].head(6).tolist()
    shap, values = demo_store.shap_sample(features, 400)
    swarm = charts.beeswarm(shap, values, features, roles=demo_roles)
    _valid(swarm)
    assert all(isinstance(t, go.Scattergl) for t in swarm.data)
    assert sum(len(t.x) for t in swarm.data) == 400 * len(features)


def test_model_quality_figures(demo_store: RunStore) -> None:
    test = demo_store.test_frame()
    y, p = test["y"].to_numpy(), test["churn_probability"].to_numpy()
    roc = charts.roc_figure(y, p)
    _valid(roc)
    assert "AUC" in roc.data[1].name and roc.data[1].x[0] == 0
    pr = charts.pr_figure(y, p)
    _valid(pr)
    calibration = charts.calibration_figure(y, p)
    _valid(calibration)
    assert sum(calibration.data[1].customdata) == len(y)
    lift = charts.lift_figure(y, p)
    _valid(lift)
    assert len(lift.data[0].x) == 10
    assert lift.data[0].y[0] > float(np.mean(y))  # the riskiest tenth churns more than average
    gains = charts.gains_figure(y, p)
    _valid(gains)
    assert gains.data[1].y[-1] == pytest.approx(1.0)


def test_segment_colors_are_stable_and_unassigned_is_grey() -> None:
    colors = charts.segment_colors([3, -1, 0, 1])
    assert colors[-1] == charts.UNASSIGNED_COLOR
    assert len({colors[0], colors[1], colors[3]}) == 3
    assert charts.segment_colors([0, 1, 3])[3] == colors[3]


def test_library_layers_do_not_import_streamlit_or_heavy_libraries() -> None:
    code = ("import sys, insight.runs.store, insight.figures.charts, insight.runs.export, insight.ui.context, "
            "insight.ui.tables, insight.formatting, insight.segments.latent, insight.decisions.targeting, "
            "insight.figures.mapfigure\n"
            "heavy = ('streamlit', 'torch', 'umap', 'shap', 'lightgbm')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dependence_plot_shows_every_sampled_customer(demo_store: RunStore,
                                                      demo_roles: dict[str, str]) -> None:
    from insight.models.explain import strongest_interaction

    shap, values = demo_store.shap_sample(demo_store.shap_features, 400)
    numeric = charts.dependence_plot(shap, values, "seats", color_by="plan", roles=demo_roles)
    _valid(numeric)
    known = values["seats"].notna()
    assert sum(len(t.x) for t in numeric.data) == int(known.sum())
    xs = np.concatenate([np.asarray(t.x, dtype=float) for t in numeric.data])
    ys = np.concatenate([np.asarray(t.y, dtype=float) for t in numeric.data])
    pairs = set(zip(values.loc[known, "seats"], shap.loc[known, "seats"], strict=True))
    assert set(zip(xs, ys, strict=True)) == pairs  # each dot is (value, SHAP) of one customer
    assert {t.name for t in numeric.data} <= set(values["plan"].dropna()) | {"other", "missing"}

    partner = strongest_interaction("billing_cycle", shap, values)
    category = charts.dependence_plot(shap, values, "billing_cycle", color_by=partner, roles=demo_roles)
    _valid(category)
    assert sum(len(t.x) for t in category.data) == len(values)  # categories keep missing values
    ticks = set(category.layout.xaxis.ticktext)
    assert ticks == {display_value(v, "categorical") for v in values["billing_cycle"]}
    assert "Billing cycle" in category.layout.xaxis.title.text
    flag = charts.dependence_plot(shap, values, "auto_renew", roles=demo_roles)
    assert set(flag.layout.xaxis.ticktext) <= {"yes", "no", "missing"}


def test_benefit_curve_figure_marks_the_best_cut() -> None:
    from insight.decisions.targeting import OfferEconomics, benefit_curve, best_cut

    p = np.random.default_rng(0).random(50_000)
    curve = benefit_curve(p, None, OfferEconomics(cost_per_contact=10, save_rate=0.3, value_per_customer=100))
    k = best_cut(curve)
    fig = charts.benefit_curve_figure(curve, best=k)
    _valid(fig)
    net = next(t for t in fig.data if t.name == "Net benefit")
    assert len(net.x) <= 601 and k in set(net.x)  # drawn from a subset that keeps the best cut
    assert max(net.y) == pytest.approx(curve["net_benefit"].max())
    assert fig.layout.shapes[0].x0 == k
