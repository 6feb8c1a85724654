"""The Segments page's "Time to churn" section on a real survival run (AppTest, no mocks): each segment's
Kaplan-Meier curve as lifelines computes it from the run's own customers, the log-rank test of the chosen
segment in words, the table per segment, the one-segment view; and a run without --duration shows nothing new.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from appkit import array, assert_clean, open_page, plain, plotly_figure, table_with
from streamlit.testing.v1 import AppTest

from insight import formatting as fmt
from insight.runs import layout
from insight.runs.run import open_run
from insight.survival.encoding import event_indicator
from insight.survival.tables import p_text
from runkit import runs_folder

PAGE = "pages/segments.py"

pytestmark = pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0")  # lifelines 0.30


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, survival_run: Path, demo_run: Path) -> Path:
    """A runs folder of this module's own: the survival run (LATEST) and the demo run without --duration."""
    return runs_folder(tmp_path_factory.mktemp("segments-survival-runs"), demo_run, survival_run, latest=survival_run)


@pytest.fixture(scope="module")
def customers(survival_run: Path) -> pd.DataFrame:
    """The run's customers with `duration` and `event` as lifelines takes them."""
    run = open_run(survival_run)
    frame = pd.read_parquet(survival_run / layout.CUSTOMERS)
    frame["duration"] = frame[run.manifest.survival["duration_column"]].astype(float)
    frame["event"] = event_indicator(frame[run.manifest.spec.target])
    return frame


def names_of(customers: pd.DataFrame) -> dict[int, str]:
    pairs = customers[[layout.SEGMENT_ID, layout.SEGMENT_NAME]].drop_duplicates()
    return dict(sorted(zip(pairs[layout.SEGMENT_ID].astype(int), pairs[layout.SEGMENT_NAME], strict=True)))


def shown(name: str) -> str:
    """A segment's name as the figure's legend shows it (cut at 40 characters)."""
    return name if len(name) <= 40 else name[:39] + "…"


def legend(figure: dict) -> list[str]:
    return [t["name"] for t in figure["data"] if t.get("showlegend", True) is not False]


def sentence(at: AppTest) -> str:
    found = [plain(m.value) for m in at.markdown if "log-rank" in m.value]
    assert len(found) == 1, [m.value for m in at.markdown]
    return found[0]


def test_kaplan_meier_per_segment_and_the_log_rank_of_the_chosen_one(
        monkeypatch: pytest.MonkeyPatch, runs: Path, survival_run: Path, customers: pd.DataFrame) -> None:
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test

    at = open_page(monkeypatch, runs, survival_run, PAGE)
    assert "Time to churn" in [h.value for h in at.subheader]
    names = names_of(customers)
    figure = plotly_figure(at, "segments_km")
    assert legend(figure) == [*(shown(n) for n in names.values()), "Everyone"]
    unit = open_run(survival_run).manifest.survival["unit"]
    assert unit in figure["layout"]["xaxis"]["title"]["text"]

    first = next(iter(names))  # the segment the page compares with the rest by default
    mine = customers[layout.SEGMENT_ID] == first
    km = KaplanMeierFitter().fit(customers.loc[mine, "duration"], customers.loc[mine, "event"])
    line = next(t for t in figure["data"] if t.get("legendgroup") == str(first) and t.get("showlegend", True))
    np.testing.assert_allclose(array(line["x"]), km.survival_function_.index.to_numpy(float))
    np.testing.assert_allclose(array(line["y"]), km.survival_function_.iloc[:, 0], atol=1e-9)
    everyone = KaplanMeierFitter().fit(customers["duration"], customers["event"])
    dashed = next(t for t in figure["data"] if t["name"] == "Everyone")
    np.testing.assert_allclose(array(dashed["y"]), everyone.survival_function_.iloc[:, 0], atol=1e-9)

    test = logrank_test(customers.loc[mine, "duration"], customers.loc[~mine, "duration"],
                        event_observed_A=customers.loc[mine, "event"],
                        event_observed_B=customers.loc[~mine, "event"])
    rest = KaplanMeierFitter().fit(customers.loc[~mine, "duration"], customers.loc[~mine, "event"])
    said = sentence(at)
    assert said.startswith(f"Customers of {names[first]} ")
    assert f"median {fmt.duration(km.median_survival_time_, unit)} vs " \
           f"{fmt.duration(rest.median_survival_time_, unit)} for the rest" in said
    p = float(test.p_value)
    assert said.endswith(f"log-rank {p_text(p)}.")
    if p < 0.05:
        sooner = km.median_survival_time_ < rest.median_survival_time_
        assert ("leave sooner than the rest" if sooner else "stay longer than the rest") in said

    table = table_with(at, "Median time to churn")
    assert table["Segment"].tolist() == [*names.values(), "Everyone"]
    sizes = customers[layout.SEGMENT_ID].value_counts()
    assert table["Customers"].tolist()[:-1] == [fmt.count(sizes[s]) for s in names]
    churned = customers.groupby(layout.SEGMENT_ID)["event"].sum()
    assert table["Churned"].tolist()[:-1] == [fmt.count(churned[s]) for s in names]
    assert table["Customers"].iloc[-1] == fmt.count(len(customers))
    assert table["Median time to churn"].iloc[-1] == fmt.duration(everyone.median_survival_time_, unit)


def test_one_segment_against_everyone_and_another_segment(
        monkeypatch: pytest.MonkeyPatch, runs: Path, survival_run: Path, customers: pd.DataFrame) -> None:
    names = names_of(customers)
    at = open_page(monkeypatch, runs, survival_run, PAGE)
    at.toggle(key="survival_only_chosen").set_value(True).run()
    assert_clean(at, "one segment")
    first = next(iter(names))
    assert legend(plotly_figure(at, "segments_km")) == [shown(names[first]), "Everyone"]
    other = list(names)[-1]
    at.selectbox(key="compare_segment").set_value(other).run()
    assert_clean(at, "another segment")
    assert sentence(at).startswith(f"Customers of {names[other]} ")
    assert legend(plotly_figure(at, "segments_km")) == [shown(names[other]), "Everyone"]
    at.toggle(key="survival_only_chosen").set_value(False).run()
    assert legend(plotly_figure(at, "segments_km")) == [shown(n) for n in names.values()] + ["Everyone"]


def test_a_run_without_duration_shows_nothing_new(monkeypatch: pytest.MonkeyPatch, runs: Path,
                                                  demo_run: Path) -> None:
    at = open_page(monkeypatch, runs, demo_run, PAGE)
    assert "Time to churn" not in [h.value for h in at.subheader]
    assert [h.value for h in at.subheader][0] == "Segment profiles" and len(at.subheader) == 2
    assert not any(c.proto.id.endswith("segments_km") for c in at.get("plotly_chart"))
    assert not at.toggle and not any("log-rank" in m.value for m in at.markdown)
    with pytest.raises(AssertionError):
        table_with(at, "Median time to churn")
