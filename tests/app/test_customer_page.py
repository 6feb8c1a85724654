"""The Customer page in AppTest: the comparison with the segment and everyone, the most similar customers,
what-if edits and the suggested change, each against what the library computes on its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from appkit import array, assert_clean, metric, open_page, plain, plotly_figure, table_with

from insight import formatting as fmt
from insight.formatting import label


def test_customer_page_compares_with_segment_and_lists_similar_customers(
        monkeypatch: pytest.MonkeyPatch, app_runs: Path, demo_run: Path) -> None:
    from insight.segments.similar import nearest

    frame = pd.read_parquet(demo_run / "customers.parquet")
    chosen = frame.iloc[100]
    at = open_page(monkeypatch, app_runs, demo_run, "pages/customer.py", customer=chosen["customer_id"])
    profile = table_with(at, "Their segment").set_index("Feature")
    members = frame[frame["segment_id"] == chosen["segment_id"]]
    assert profile.loc["Seats", "Their segment"] == fmt_value(members["seats"].median())
    assert profile.loc["Seats", "All customers"] == fmt_value(frame["seats"].median())

    latent = pd.read_parquet(demo_run / "latent.parquet")
    row = int(np.flatnonzero(latent["customer_id"] == chosen["customer_id"])[0])
    idx, _ = nearest(latent.filter(like="z").to_numpy(dtype=np.float32), row, 10)
    expected = latent["customer_id"].iloc[idx].tolist()
    similar = table_with(at, "What happened")
    assert similar["Customer"].tolist() == expected
    truth = frame.set_index("customer_id").loc[expected]
    assert similar["What happened"].tolist() == ["Churned" if y == 1 else "Stayed" for y in truth["churned"]]
    assert similar["Churn probability"].to_numpy() == pytest.approx(truth["churn_probability"].to_numpy())


def fmt_value(value: float) -> str:
    return fmt.display_value(float(value), "numeric")


def test_what_if_rescores_the_edited_customer_as_the_model_does(monkeypatch: pytest.MonkeyPatch,
                                                                app_runs: Path, demo_run: Path) -> None:
    """The planted mechanism: professionals' support trouble drives churn. Editing the tickets, resolution
    time and satisfaction of such a customer raises their risk, by exactly what the saved model says."""
    from insight.decisions.whatif import what_if
    from insight.runs.models import load_models
    from insight.runs.run import open_run

    frame = pd.read_parquet(demo_run / "customers.parquet")
    pros = frame[frame["plan"].isin(["Pro", "Studio"]) & (frame["support_tickets_90d"] <= 1)]
    chosen = pros.sort_values("churn_probability").iloc[len(pros) // 2]
    at = open_page(monkeypatch, app_runs, demo_run, "pages/customer.py", customer=chosen["customer_id"])
    edits = {"support_tickets_90d": 12.0, "avg_resolution_hours": 120.0, "csat_score": 1.0}
    for name, value in edits.items():
        at.number_input(key=f"whatif_in_{name}").set_value(value)
    next(b for b in at.button if b.label == "Score the edited customer").click().run()
    assert_clean(at, "what-if")

    expected = what_if(load_models(open_run(demo_run)), chosen, edits)
    assert metric(at, "Churn probability after the edits") == fmt.pct(expected["churn_probability"])
    assert expected["churn_probability"] > chosen["churn_probability"] + 0.05  # the planted direction
    shown = plain(" ".join(m.value for m in at.markdown))
    assert expected["reason_1"] in shown and "Support tickets 90d 1 → 12" in shown or \
        "Support tickets 90d 0 → 12" in shown
    waterfall = plotly_figure(at, "whatif_waterfall")
    assert array(waterfall["data"][0]["x"])[-1] == pytest.approx(expected["churn_score"])


def test_suggestion_is_the_models_best_single_change(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                                     demo_run: Path) -> None:
    from insight.data.demo import ACTIONABLE
    from insight.decisions.whatif import suggest, what_if
    from insight.runs.models import load_models
    from insight.runs.run import open_run

    frame = pd.read_parquet(demo_run / "customers.parquet")
    saved = load_models(open_run(demo_run))
    chosen = frame.sort_values(["churn_probability", "customer_id"], ascending=[False, True]).iloc[0]
    at = open_page(monkeypatch, app_runs, demo_run, "pages/customer.py", customer=chosen["customer_id"])
    assert at.multiselect(key="whatif_levers").value == list(ACTIONABLE)
    at.button(key="whatif_suggest").click().run()
    assert_clean(at, "suggestion")
    found = suggest(saved, chosen, list(ACTIONABLE), population=frame)
    assert found is not None
    after = what_if(saved, chosen, {found.feature: found.proposed})["churn_probability"]
    assert found.probability_after == pytest.approx(after, abs=1e-12)
    role = "boolean" if found.feature == "auto_renew" else None
    assert [plain(s.value) for s in at.success] == [
        f"**Change {label(found.feature)} from {fmt.display_value(found.current, role)} to "
        f"{fmt.display_value(found.proposed, role)}**: risk {fmt.pct(found.probability_before)} → {fmt.pct(after)} "
        f"({found.drop_points:.1f} points lower)."]


def test_telco_customers_get_suggestions_once_levers_are_chosen(monkeypatch: pytest.MonkeyPatch,
                                                                app_runs: Path, telco_run: Path) -> None:
    frame = pd.read_parquet(telco_run / "customers.parquet")
    chosen = frame[frame["Contract"] == "Month-to-month"].sort_values("churn_probability").iloc[-1]
    at = open_page(monkeypatch, app_runs, telco_run, "pages/customer.py", customer=chosen["customerID"])
    assert at.multiselect(key="whatif_levers").value == []  # Telco declares no actionable features
    assert at.button(key="whatif_suggest").disabled
    assert "Contract" in at.multiselect(key="whatif_levers").options
    at.multiselect(key="whatif_levers").set_value(["Contract"]).run()
    at.button(key="whatif_suggest").click().run()
    assert_clean(at, "telco suggestion")
    assert at.success and plain(at.success[0].value).startswith("**Change Contract from Month-to-month to ")
