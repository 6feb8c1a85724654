"""The Changes figures: migration Sankey (segment colours follow the ids, new segments marked), drift bars
(worst at the top, flagged in red) and the risk distribution of both runs as shares."""

from __future__ import annotations

import pytest

from insight.figures.changes import drift_bars, migration_sankey, risk_shift_figure
from insight.figures.charts import BAND_COLORS, NEUTRAL, segment_colors

TRANSITIONS = {
    "customers": 100, "new_ids": [7],
    "transitions": [
        {"from_id": 0, "from_name": "Solo", "to_id": 0, "to_name": "Solo", "customers": 60},
        {"from_id": 2, "from_name": "Teams", "to_id": 0, "to_name": "Solo", "customers": 25},
        {"from_id": 2, "from_name": "Teams", "to_id": 7, "to_name": "Bundle", "customers": 14},
        {"from_id": -1, "from_name": "Unassigned", "to_id": 7, "to_name": "Bundle", "customers": 1},
    ],
}


def test_sankey_flows_and_colours_follow_the_segment_ids():
    sankey = migration_sankey(TRANSITIONS).data[0]
    labels = list(sankey.node.label)
    assert labels == ["Solo", "Teams", "Unassigned", "Solo", "Bundle (new)"]
    colors = segment_colors([0, 2, 7, -1])
    assert list(sankey.node.color) == [colors[0], colors[2], colors[-1], colors[0], colors[7]]
    assert sum(sankey.link.value) == 100
    assert (list(sankey.link.source), list(sankey.link.target)) == ([0, 1, 1, 2], [3, 3, 4, 4])
    small = migration_sankey(TRANSITIONS, min_share=0.1).data[0]
    assert sum(small.link.value) == 99


def test_drift_bars_put_the_worst_on_top_and_flagged_in_red():
    drift = [{"feature": "logins_30d", "psi": 2.1, "drifted": True, "test": "ks", "p_adjusted": 0.0},
             {"feature": "plan", "psi": 0.2, "drifted": True, "test": "chi2", "p_adjusted": 1e-5},
             {"feature": "seats", "psi": 0.01, "drifted": False, "test": "ks", "p_adjusted": 0.4}]
    bars = drift_bars(drift, top=2).data[0]
    assert list(bars.y) == ["Plan", "Logins 30d"]  # plotly draws the last bar at the top
    assert list(bars.x) == [0.2, 2.1] and list(bars.marker.color) == [BAND_COLORS["very high"]] * 2
    assert list(drift_bars(drift).data[0].marker.color)[0] == NEUTRAL


def test_risk_shift_shows_each_runs_share_per_bin():
    fig = risk_shift_figure({"edges": [0.0, 0.5, 1.0], "a": [30, 10], "b": [5, 15]})
    a, b = fig.data
    assert (a.name, b.name) == ("A (earlier)", "B (newer)")
    assert list(a.y) == pytest.approx([0.75, 0.25]) and list(b.y) == pytest.approx([0.25, 0.75])
    assert list(a.x) == [25.0, 75.0]
