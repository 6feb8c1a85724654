"""The customer map: every customer drawn with their id, selections mapped back to rows, a compact payload."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from insight.figures import mapfigure
from insight.formatting import display_value
from insight.runs.store import RunStore


def _valid(fig: go.Figure) -> dict:
    assert isinstance(fig, go.Figure)
    return json.loads(fig.to_json())


def _map_ids(fig: go.Figure) -> list[str]:
    """The customer ids the map draws (each point's text), every trace together."""
    return [str(i) for t in fig.data if isinstance(t, go.Scattergl) for i in t.text]


def _map_rows(fig: go.Figure) -> list[int]:
    """Each point's row in the frame the map was drawn from (customdata[0])."""
    return [int(row[0]) for t in fig.data if isinstance(t, go.Scattergl) for row in t.customdata]


def test_color_kind_and_map_values() -> None:
    assert mapfigure.color_kind(pd.Series([1.5, 2.0, np.nan])) == "continuous"
    assert mapfigure.color_kind(pd.Series([0.0, 1.0, np.nan])) == "discrete"  # a 0/1 target
    assert mapfigure.color_kind(pd.Series([3.0, 7.0]), "categorical") == "discrete"
    assert mapfigure.color_kind(pd.Series(["a", "b"])) == "discrete"
    assert mapfigure.color_kind(pd.to_datetime(pd.Series(["2024-01-01", None]))) == "continuous"
    assert mapfigure.map_values(pd.Series([1.0, 0.0, np.nan])).tolist() == ["yes", "no", "missing"]
    assert mapfigure.map_values(pd.Series([1234.0, 12.34, 0.0421, np.nan]), "numeric").tolist() == [
        "1,234", "12.3", "0.042", "missing"]
    assert mapfigure.map_values(pd.Series(["Pro", None]), "categorical").tolist() == ["Pro", "missing"]
    dates = pd.to_datetime(pd.Series(["2025-03-04 10:00", None]))
    assert mapfigure.map_values(dates).tolist() == ["2025-03-04", "missing"]


def test_map_hover_sends_numbers_as_numbers_and_the_rest_as_text(demo_store: RunStore,
                                                                 demo_roles: dict[str, str]) -> None:
    points = demo_store.map_points(limit=50, extra=["revenue_next_12m", "top_reason", "auto_renew"])
    hover = mapfigure.map_hover(points, ["revenue_next_12m", "top_reason", "auto_renew"], roles=demo_roles)
    assert hover.labels == ("Churn probability", "Revenue next 12m", "Segment", "Main reason", "Auto renew")
    assert hover.numbers.shape == (len(points), 3) and hover.numbers.dtype == np.float32
    assert hover.numbers[:, 0].tolist() == list(range(len(points)))  # each point's row
    np.testing.assert_allclose(hover.numbers[:, 1], points["churn_probability"], rtol=1e-6)
    np.testing.assert_allclose(hover.numbers[:, 2], points["revenue_next_12m"], rtol=1e-6)
    assert "Churn probability: %{customdata[1]:.0%}" in hover.lines
    assert "Revenue next 12m: %{customdata[2]:" in hover.lines and hover.lines.endswith("%{hovertext}")
    row = points.iloc[0]
    assert hover.text[0].startswith(f"<br>Segment: {row['segment_name']}<br>Main reason: ")
    assert hover.text[0].split("<br>Auto renew: ")[1] in ("yes", "no", "missing")

    only = mapfigure.map_hover(points, segment=False)
    assert only.labels == ("Churn probability",) and only.text is None
    assert only.numbers.shape == (len(points), 2)


def test_map_hover_shows_missing_numbers_as_missing() -> None:
    points = pd.DataFrame({"churn_probability": [0.2, 0.5], "segment_name": ["A", "B"],
                           "fee": [12.5, np.nan], "signup": pd.to_datetime(["2024-02-03", None])})
    hover = mapfigure.map_hover(points, ["fee", "signup"], roles={"fee": "numeric", "signup": "date"},
                                segment=False)
    assert hover.numbers.shape == (2, 2)  # row and probability only: the fee has a gap
    assert hover.text.tolist() == ["<br>Fee: 12.5<br>Signup: 2024-02-03",
                                   "<br>Fee: missing<br>Signup: missing"]


def test_customer_map_draws_every_customer_and_colours_by_any_column(demo_store: RunStore,
                                                                      demo_roles: dict[str, str]) -> None:
    points = demo_store.map_points(limit=100_000,
                                   extra=["plan", "monthly_fee", "revenue_next_12m", "signup_date"])
    everyone = sorted(points["customer_id"].astype(str))
    by_segment = mapfigure.customer_map(points, id_column="customer_id", roles=demo_roles,
                                        hover=["revenue_next_12m"])
    data = _valid(by_segment)["data"]
    assert all(t["type"] == "scattergl" for t in data) and len(data) == points["segment_id"].nunique()
    assert sorted(_map_ids(by_segment)) == everyone
    assert sorted(_map_rows(by_segment)) == list(range(len(points)))
    ids = points["customer_id"].astype(str).to_numpy()
    for trace in by_segment.data:  # text and row agree: a selection's rows name the customers hovered
        assert [ids[int(r[0])] for r in trace.customdata] == list(trace.text)
    template = data[0]["hovertemplate"]
    assert template.startswith("<b>%{text}</b><br>Segment: ")
    assert "Churn probability: %{customdata[1]:.0%}" in template
    assert "Revenue next 12m: %{customdata[2]:" in template

    by_plan = mapfigure.customer_map(points, id_column="customer_id", color_by="plan", roles=demo_roles)
    _valid(by_plan)
    assert sorted(_map_ids(by_plan)) == everyone
    plans = points.set_index(points["customer_id"].astype(str))["plan"]
    for trace in by_plan.data:  # discrete: one trace per value, its own colour
        assert set(plans.loc[list(trace.text)]) == {trace.name}
    assert len({t.marker.color for t in by_plan.data}) == len(by_plan.data)

    by_fee = mapfigure.customer_map(points, id_column="customer_id", color_by="monthly_fee", roles=demo_roles)
    _valid(by_fee)
    assert by_fee.layout.coloraxis.colorscale is not None
    fees = points.set_index(points["customer_id"].astype(str))["monthly_fee"]
    for trace in (t for t in by_fee.data if t.marker.coloraxis):  # customers missing a fee: grey traces
        expected = fees.loc[list(trace.text)].to_numpy()
        assert np.asarray(trace.marker.color, dtype=float) == pytest.approx(expected)
    by_p = mapfigure.customer_map(points, id_column="customer_id", color_by="churn_probability",
                                  roles=demo_roles)
    assert (by_p.layout.coloraxis.cmin, by_p.layout.coloraxis.cmax) == (0, 1)
    by_date = mapfigure.customer_map(points, id_column="customer_id", color_by="signup_date",
                                     roles=demo_roles)
    _valid(by_date)
    assert "year" in by_date.layout.coloraxis.colorbar.title.text


def test_rows_from_selection_reads_the_row_from_customdata() -> None:
    points = [{"customdata": [3, 0.5], "x": 1}, {"customdata": 7}, {"customdata": [3.0, 0.5]}, {"x": 3},
              {"customdata": ["not a row"]}, {"customdata": {"0": 9, "1": 0.25, "2": 512.0}}]
    assert mapfigure.rows_from_selection(points) == [3, 7, 9]  # a typed array arrives as {"0": ..., ...}
    assert mapfigure.rows_from_selection([]) == []


def test_selection_rows_follow_the_frame_drawn_not_its_index(demo_store: RunStore) -> None:
    points = demo_store.map_points(limit=400)
    shown = points[points["risk_band"].astype(str) == "high"]  # a filtered frame keeps its old index
    fig = mapfigure.customer_map(shown, id_column="customer_id")
    rows = _map_rows(fig)
    assert sorted(rows) == list(range(len(shown)))
    picked = [{"customdata": list(fig.data[0].customdata[i])} for i in range(min(3, len(fig.data[0].x)))]
    chosen = mapfigure.rows_from_selection(picked)
    named = shown["customer_id"].astype(str).to_numpy()[chosen].tolist()
    assert named == list(fig.data[0].text[:len(chosen)])


def test_density_layer_counts_every_customer(demo_store: RunStore) -> None:
    density = demo_store.map_density(bins=40)
    layer = mapfigure.density_layer(density)
    z = np.asarray(layer.z, dtype=float)
    assert z.shape == (int(density["iy"].max()) + 1, int(density["ix"].max()) + 1)
    assert np.nansum(10 ** z - 1) == pytest.approx(demo_store.count())  # log10(customers + 1) per cell
    points = demo_store.map_points(limit=300)
    fig = mapfigure.customer_map(points, id_column="customer_id", density=density)
    _valid(fig)
    assert isinstance(fig.data[0], go.Heatmap) and fig.data[0].hoverinfo == "skip"
    assert sorted(_map_ids(fig)) == sorted(points["customer_id"].astype(str))


def test_a_hundred_thousand_point_map_stays_compact() -> None:
    """Every customer is drawn, their numbers travel as binary and only short text per point remains (its
    build and send times are benchmark figures, not tests: python -m benchmarks dashboard)."""
    import plotly.io as pio

    n = 100_000
    rng = np.random.default_rng(0)
    points = pd.DataFrame({
        "customer_id": [f"C{i:07d}" for i in range(n)], "x": rng.normal(size=n), "y": rng.normal(size=n),
        "segment_id": rng.integers(0, 8, n), "churn_probability": rng.random(n),
        "revenue_next_12m": rng.gamma(2.0, 300.0, n), "plan": rng.choice(["Personal", "Pro", "Studio"], n)})
    points["segment_name"] = "Segment " + points["segment_id"].astype(str)
    by_segment = mapfigure.customer_map(points, id_column="customer_id", hover=["revenue_next_12m"])
    assert all(t.hovertext is None for t in by_segment.data)  # numbers only: no text per point but the id
    for color_by, budget in (("segment", 50), ("plan", 110)):  # by plan, each hover names the segment
        fig = mapfigure.customer_map(points, id_column="customer_id", color_by=color_by,
                                     hover=["revenue_next_12m"])
        spec = pio.to_json(fig, validate=False)  # what st.plotly_chart sends
        assert sum(len(t.x) for t in fig.data) == n
        assert len(spec) < budget * n, f"{color_by}: {len(spec) / n:.0f} bytes per customer"
        assert all(t["customdata"].get("bdata") for t in json.loads(spec)["data"])  # binary, not text


def test_display_value_matches_the_hover_text() -> None:
    assert mapfigure.map_values(pd.Series([3.0, 0.5]), "numeric").tolist() == [
        display_value(3.0, "numeric"), display_value(0.5, "numeric")]
