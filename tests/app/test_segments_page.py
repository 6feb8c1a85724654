"""The Segments page on real runs (AppTest: no browser, no mocks): colouring the map, the view kept in the
address, handing a segment to the risk table, and the SHAP drivers of a selection.

Chart selections (lasso, box) need a browser: tests/e2e/test_dashboard.py drives them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from appkit import array, assert_clean, metric, new_app, plain, table_with
from streamlit.testing.v1 import AppTest

from insight.formatting import label
from insight import formatting as fmt


def open_segments(monkeypatch: pytest.MonkeyPatch, runs: Path, run: Path, **params: str) -> AppTest:
    at = new_app(monkeypatch, runs)
    at.query_params["run"] = run.name
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/segments.py").run()
    assert_clean(at, "segments")
    return at


def map_figure(at: AppTest) -> dict[str, Any]:
    for chart in at.get("plotly_chart"):
        if chart.proto.id.endswith("segment_map"):
            return json.loads(chart.proto.spec)
    raise AssertionError("no customer map")


def map_customers(figure: dict[str, Any]) -> list[str]:
    """The customer ids the map draws (each point's text), every trace together."""
    return [str(i) for t in figure["data"] if t["type"] == "scattergl" for i in t["text"]]


def heading(at: AppTest) -> str:
    return next(plain(h.value) for h in at.subheader if h.value.endswith(" vs the rest"))


def test_colour_by_a_feature(monkeypatch: pytest.MonkeyPatch, app_runs: Path, demo_run: Path) -> None:
    frame = pd.read_parquet(demo_run / "customers.parquet")
    at = open_segments(monkeypatch, app_runs, demo_run)
    assert "color" not in at.query_params  # the default colouring keeps the address clean
    assert sorted(map_customers(map_figure(at))) == sorted(frame["customer_id"])  # every customer

    at.segmented_control(key="map_color").set_value("Feature").run()
    assert label("plan") in at.selectbox(key="map_column").options  # options as shown
    at.selectbox(key="map_column").set_value("plan").run()
    assert_clean(at, "coloured by plan")
    assert at.query_params["color"] == "plan"
    figure = map_figure(at)
    traces = [t for t in figure["data"] if t["type"] == "scattergl"]
    assert figure["layout"]["legend"]["title"]["text"] == label("plan")
    plans = frame.set_index("customer_id")["plan"].astype(str)
    for trace in traces:  # one trace per plan, holding exactly that plan's customers
        ids = [str(i) for i in trace["text"]]
        assert set(plans.loc[ids]) == {trace["name"]}, trace["name"]
        assert "Churn probability" in trace["hovertemplate"] and "%{hovertext}" in trace["hovertemplate"]
        assert all(f"<br>Plan: {trace['name']}" in h for h in trace["hovertext"])
    assert {t["name"] for t in traces} == set(plans)
    assert sum(len(t["text"]) for t in traces) == len(frame)

    at.selectbox(key="map_column").set_value("monthly_fee").run()  # a number: one continuous scale
    assert_clean(at, "coloured by monthly fee")
    figure = map_figure(at)
    scale = figure["layout"]["coloraxis"]
    fees = frame.set_index("customer_id")["monthly_fee"]
    for trace in (t for t in figure["data"] if t["type"] == "scattergl" and t["marker"].get("coloraxis")):
        ids = [str(i) for i in trace["text"]]
        assert array(trace["marker"]["color"]) == pytest.approx(fees.loc[ids].to_numpy())
    assert scale["cmin"] < scale["cmax"] and "Monthly fee" in scale["colorbar"]["title"]["text"]


def test_query_params_reproduce_the_view(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                         demo_run: Path) -> None:
    frame = pd.read_parquet(demo_run / "customers.parquet")
    segments = json.loads((demo_run / "segments.json").read_text())["segments"]
    segment = min(segments, key=lambda s: s["size"])
    bands = ["high", "very high"]
    at = open_segments(monkeypatch, app_runs, demo_run, color="seats", bands=",".join(bands),
                       segment=str(segment["id"]))
    assert at.segmented_control(key="map_color").value == "Feature"
    assert at.selectbox(key="map_column").value == "seats"
    assert at.pills(key="map_bands").value == bands
    assert at.selectbox(key="compare_segment").value == segment["id"]
    assert heading(at) == f"{segment['name']} vs the rest"
    in_bands = frame[frame["risk_band"].astype(str).isin(bands)]
    assert sorted(map_customers(map_figure(at))) == sorted(in_bands["customer_id"])
    members = in_bands[in_bands["segment_id"] == segment["id"]]
    assert table_with(at, "Mean churn probability")["Customers"].iloc[0] == fmt.count(len(members))
    assert dict(at.query_params) | {"run": demo_run.name} == {
        "run": demo_run.name, "color": "seats", "bands": "high,very high", "segment": str(segment["id"])}

    # changing the view writes it back into the address: a link to it opens the same view
    at.pills(key="map_bands").set_value([]).run()
    at.segmented_control(key="map_color").set_value("Churn probability").run()
    assert_clean(at, "after changing the view")
    assert "bands" not in at.query_params and at.query_params["color"] == "churn_probability"
    again = open_segments(monkeypatch, app_runs, demo_run,
                          **{k: at.query_params[k] for k in at.query_params if k != "run"})
    assert again.segmented_control(key="map_color").value == "Churn probability"
    assert map_figure(again) == map_figure(at)


def test_open_in_risk_table_shows_exactly_the_segments_customers(monkeypatch: pytest.MonkeyPatch,
                                                                 app_runs: Path, telco_run: Path,
                                                                 downloads: dict) -> None:
    frame = pd.read_parquet(telco_run / "customers.parquet")
    segments = json.loads((telco_run / "segments.json").read_text())["segments"]
    segment = sorted(segments, key=lambda s: s["size"])[len(segments) // 2]
    members = frame[frame["segment_id"] == segment["id"]]
    assert 0 < len(members) < len(frame)
    at = open_segments(monkeypatch, app_runs, telco_run, segment=str(segment["id"]))
    button = at.button(key="open_in_risk")
    assert button.label == f"Open these {fmt.count(len(members))} customers in the risk table"
    button.click().run()
    assert_clean(at, "risk table from the segment")
    assert at.title[0].value == "Churn risk"
    assert metric(at, "Customers shown") == fmt.count(len(members))
    assert any(f"segment '{segment['name']}'" in plain(i.value) for i in at.info)
    export = pd.read_csv(io.BytesIO(downloads[f"churn-risk-{telco_run.name}.csv"]()), encoding="utf-8-sig")
    assert sorted(export["customerID"]) == sorted(members["customerID"])

    at.switch_page("pages/risk.py").run()  # AppTest reruns the page it last opened; a browser stays here
    assert metric(at, "Customers shown") == fmt.count(len(members))  # still restricted to the segment
    at.pills(key="filter_bands").set_value(["very high"]).run()  # the risk page's filters apply on top
    assert_clean(at, "risk table, segment and band")
    both = members[members["risk_band"].astype(str) == "very high"]
    assert metric(at, "Customers shown") == fmt.count(len(both))
    at.button(key="risk_drop_handover").click().run()
    assert_clean(at, "after dropping the segment")
    very_high = int((frame["risk_band"].astype(str) == "very high").sum())
    assert metric(at, "Customers shown") == fmt.count(very_high)


def test_shap_drivers_match_shap_parquet(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                         demo_run: Path) -> None:
    frame = pd.read_parquet(demo_run / "customers.parquet")
    shap = pd.read_parquet(demo_run / "shap.parquet").set_index("customer_id")
    segments = json.loads((demo_run / "segments.json").read_text())["segments"]
    segment = max(segments, key=lambda s: s["churn_rate"] or 0)
    at = open_segments(monkeypatch, app_runs, demo_run, segment=str(segment["id"]))
    drivers = table_with(at, "Selected (mean SHAP)")
    inside = frame.loc[frame["segment_id"] == segment["id"], "customer_id"]
    features = shap.columns.drop("base_value")
    selected = shap.loc[inside, features].mean()
    rest = shap.drop(index=inside)[features].mean()
    expected = (selected - rest).abs().sort_values(ascending=False).head(len(drivers)).index
    assert 0 < len(drivers) <= len(features)
    assert drivers["Feature"].tolist() == [label(f) for f in expected]
    assert drivers["Selected (mean SHAP)"].to_numpy() == pytest.approx(selected[expected].to_numpy(),
                                                                       abs=1e-6)
    assert drivers["Rest (mean SHAP)"].to_numpy() == pytest.approx(rest[expected].to_numpy(), abs=1e-6)
    assert drivers["Difference"].to_numpy() == pytest.approx((selected - rest)[expected].to_numpy(), abs=1e-6)
    for words, s, r in zip(drivers["In words"], selected[expected], rest[expected], strict=True):
        assert words.startswith("Raises" if s > 0 else "Lowers"), words
