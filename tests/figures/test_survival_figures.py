"""Time-to-churn figures (insight.figures.survival) built from real survival tables: Kaplan-Meier curves and
log-rank inputs from insight.survival.groups, calibration from insight.survival.metrics. They show what they
claim (one line and one band per segment, markers where the customer is and is expected to leave, predicted
against observed risk per horizon), survive infinite medians and empty groups, and serialise for the browser."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from insight.figures import survival as figs
from insight.figures.charts import segment_colors
from insight.survival.groups import kaplan_meier_curves
from insight.survival.metrics import horizon_calibration


def _valid(fig: go.Figure) -> dict:
    assert isinstance(fig, go.Figure)
    return json.loads(fig.to_json())


@pytest.fixture(scope="module")
def simulated() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three segments (ids 0, 1, 4) with exponential times; segment 4 stays so long its median is not reached."""
    rng = np.random.default_rng(0)
    rates = {0: 0.2, 1: 0.06, 4: 0.005}
    g = rng.choice(list(rates), size=1500)
    t = rng.exponential(1 / np.array([rates[s] for s in g]))
    c = rng.uniform(0, 36, size=len(g))
    return np.minimum(t, c).round(), t <= c, g


@pytest.fixture(scope="module")
def curves(simulated) -> pd.DataFrame:
    d, e, g = simulated
    return kaplan_meier_curves(d, e, g)


NAMES = {0: "Month-to-month · high risk", 1: "One-year contracts", 4: "Two-year · loyal"}


def test_kaplan_meier_figure_one_line_and_band_per_segment(curves: pd.DataFrame) -> None:
    fig = figs.kaplan_meier_figure(curves, NAMES, unit="months")
    _valid(fig)
    lines = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in lines] == [*NAMES.values(), "Everyone"]
    colors = segment_colors(NAMES)
    for s, name in NAMES.items():
        line = next(t for t in lines if t.name == name)
        km = curves[curves["group"] == str(s)]
        np.testing.assert_allclose(line.y, km["survival"])
        assert line.line.color == colors[s] and line.line.shape == "hv"
        upper, lower = (t for t in fig.data if t.legendgroup == str(s) and t.showlegend is False)
        assert lower.fill == "tonexty" and "rgba(" in lower.fillcolor  # translucent band under the line
        assert (np.asarray(upper.y) >= np.asarray(line.y) - 1e-12).all()
        assert (np.asarray(lower.y) <= np.asarray(line.y) + 1e-12).all()
        assert (np.asarray(upper.y) - np.asarray(lower.y)).max() > 0.02
    everyone = lines[-1]
    assert everyone.line.dash == "dash"
    np.testing.assert_allclose(everyone.y, curves[curves["group"] == "everyone"]["survival"])
    assert "months" in fig.layout.xaxis.title.text
    # the long-staying segment never halves (an infinite median): still drawn, above one half to the end
    assert min(next(t for t in lines if t.name == NAMES[4]).y) > 0.5


def test_kaplan_meier_figure_of_one_segment_and_of_segments_without_curves(curves: pd.DataFrame) -> None:
    one = figs.kaplan_meier_figure(curves, NAMES, unit="days", shown=[1])
    assert [t.name for t in one.data if t.showlegend is not False] == [NAMES[1], "Everyone"]
    assert one.data[0].line.width == 0  # the band's edges are invisible
    # a segment with no curve (no customer in the run's curves) and an empty table: no crash, nothing drawn
    names = {**NAMES, 9: "Empty segment"}
    fig = figs.kaplan_meier_figure(curves, names, unit="months")
    assert "Empty segment" not in [t.name for t in fig.data]
    empty = figs.kaplan_meier_figure(curves.iloc[:0], NAMES, unit="months")
    _valid(empty)
    assert len(empty.data) == 0
    bare = figs.kaplan_meier_figure(curves, NAMES, unit="months", bands=False)
    assert len(bare.data) == len(NAMES) + 1


def exponential_curve(rate: float, times: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"time": times, "survival": np.exp(-rate * times)})


def test_customer_survival_figure_marks_now_and_the_expected_leaving_time() -> None:
    times = np.linspace(0, 72, 73)
    rate, elapsed = 0.05, 10.0
    leave_at = elapsed + np.log(2) / rate  # the conditional median of an exponential, counted from the start
    fig = figs.customer_survival_figure(exponential_curve(rate, times), exponential_curve(0.03, times),
                                        exponential_curve(0.02, times), elapsed=elapsed, leave_at=leave_at,
                                        unit="months", segment_name="One-year contracts",
                                        segment_color="#2E9E6A")
    _valid(fig)
    names = [t.name for t in fig.data]
    assert names[:3] == ["Everyone (mean)", "One-year contracts (mean)", "This customer"]
    now = next(t for t in fig.data if t.name.startswith("Now"))
    assert now.x[0] == elapsed and now.y[0] == pytest.approx(np.exp(-rate * elapsed), abs=2e-3)
    assert "10 months" in now.name
    leave = next(t for t in fig.data if t.name.startswith("Expected to leave"))
    assert leave.x[0] == pytest.approx(leave_at)
    assert leave.y[0] == pytest.approx(now.y[0] / 2, abs=3e-3)  # half of those still there now have left
    assert "23.9 months" in leave.name
    assert next(t for t in fig.data if t.name.startswith("One-year")).line.color == "#2E9E6A"
    assert "months" in fig.layout.xaxis.title.text


def test_customer_survival_figure_without_an_expected_leaving_time_or_comparison_curves() -> None:
    times = np.linspace(0, 24, 25)
    for leave_at in (float("inf"), float("nan"), None):
        fig = figs.customer_survival_figure(exponential_curve(0.001, times), None, pd.DataFrame(
            columns=["time", "survival"]), elapsed=3.0, leave_at=leave_at, unit="weeks")
        _valid(fig)
        names = [t.name for t in fig.data]
        assert names[0] == "This customer" and not any(n.startswith("Expected") for n in names)
        assert "Not expected to leave" in fig.layout.annotations[0].text
    beyond = figs.customer_survival_figure(exponential_curve(0.05, times), None, None, elapsed=3.0,
                                           leave_at=40.0, unit="weeks")
    assert "beyond the curve" in beyond.layout.annotations[0].text
    # a customer whose time so far lies beyond the curve gets no 'Now' marker rather than a wrong one
    late = figs.customer_survival_figure(exponential_curve(0.05, times), None, None, elapsed=30.0,
                                         leave_at=float("inf"), unit="weeks")
    assert not any(t.name.startswith("Now") for t in late.data)


@pytest.fixture(scope="module")
def calibration(simulated) -> dict:
    d, e, g = simulated
    rng = np.random.default_rng(1)
    rates = np.where(g == 0, 0.2, np.where(g == 1, 0.06, 0.005))
    out: dict = {"survival": {}, "cox": {}, "kaplan_meier": {}}
    for h in (1.0, 3.0, 12.0):
        label = f"{h:g}"
        truth = 1 - np.exp(-rates * h)
        out["survival"][label] = horizon_calibration(truth, d, e, h)
        out["cox"][label] = horizon_calibration(np.clip(truth * rng.uniform(0.5, 1.5, len(d)), 0, 1), d, e, h)
        out["kaplan_meier"][label] = horizon_calibration(np.full(len(d), truth.mean()), d, e, h)
    return out


def test_horizon_calibration_figure_one_panel_per_horizon(calibration: dict) -> None:
    fig = figs.horizon_calibration_figure(calibration, unit="months")
    _valid(fig)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["Within 1 month", "Within 3 months", "Within 12 months"]
    for col, label in enumerate(("1", "3", "12"), start=1):
        axis = "x" if col == 1 else f"x{col}"
        panel = [t for t in fig.data if t.xaxis == axis and t.name != "Perfect"]
        assert [t.name for t in panel] == ["Survival model", "Cox PH", "Kaplan-Meier"]
        table = calibration["survival"][label]["table"]
        np.testing.assert_allclose(panel[0].x, table["predicted"])
        np.testing.assert_allclose(panel[0].y, table["observed"])
    # the true risks are calibrated: the survival model's points lie near the diagonal at 12 months
    twelve = next(t for t in fig.data if t.xaxis == "x3" and t.name == "Survival model")
    assert np.abs(np.asarray(twelve.x) - np.asarray(twelve.y)).mean() < 0.06
    assert sum(t.showlegend is not False for t in fig.data) == 4  # one legend entry per model, and Perfect


def test_horizon_calibration_figure_from_the_manifest_json(calibration: dict) -> None:
    as_json = json.loads(json.dumps({m: {h: {**v, "table": v["table"].to_dict(orient="records")}
                                         for h, v in per.items()} for m, per in calibration.items()}))
    fig = figs.horizon_calibration_figure(as_json, unit="months", models=("survival", "cox"))
    assert {t.name for t in fig.data} == {"Perfect", "Survival model", "Cox PH"}
    np.testing.assert_allclose(next(t for t in fig.data if t.name == "Survival model").x,
                               calibration["survival"]["1"]["table"]["predicted"])
    dict_of_columns = {"survival": {"3": {"horizon": 3.0, "error": 0.01,
                                          "table": {"predicted": [0.1, 0.2], "observed": [0.12, 0.18],
                                                    "count": [50, 50]}}}}
    assert len(figs.horizon_calibration_figure(dict_of_columns, unit="days").data) == 2
    _valid(figs.horizon_calibration_figure({}, unit="months"))
    _valid(figs.horizon_calibration_figure({"survival": {"1": {"horizon": 1.0, "table": []}}}, unit="months"))
