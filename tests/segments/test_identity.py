"""insight.segments.identity: a retrained run's segments keep the ids, names and colours of the earlier run's
segments they share customers with; new and vanished segments are recorded in the manifest and shown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from insight.config import SegmentConfig, TrainConfig
from insight.data.demo import demo_data, demo_spec
from insight.figures.mapfigure import customer_map
from insight.pipeline import train
from insight.runs.manifest import segment_profiles
from insight.runs.run import open_run
from insight.segments.clustering import UNASSIGNED
from insight.segments.identity import MIN_SHARED, Earlier, earlier_segments, match_segments

PROJECT = Path(__file__).resolve().parents[2]
ID = "customer_id"


def small_config() -> TrainConfig:
    """tests/conftest.py's small_config (which a test module cannot import once tests/app's conftest is in)."""
    return TrainConfig(seed=0, threads=1, segments=SegmentConfig(fit_sample=1500, trustworthiness_sample=1000))


@dataclass(frozen=True)
class Lineage:
    runs: Path
    first: Path
    second: Path
    removed: int
    """The first run's segment whose customers the second run's table lacks."""
    newcomers: frozenset[str]
    """Customers only the second run has: copies, under new ids, of the removed segment's customers."""


def customers_of(run: Path) -> pd.DataFrame:
    return pd.read_parquet(run / "customers.parquet")


@pytest.fixture(scope="module")
def lineage(tmp_path_factory: pytest.TempPathFactory) -> Lineage:
    """Two real runs in a runs folder of their own: 1,500 demo customers, then the same table without the
    customers of the first run's highest-revenue segment and with as many newcomers like them (new ids)."""
    runs = tmp_path_factory.mktemp("identity-runs")
    table = demo_data(rows=1500, seed=0).customers
    first = train(table, demo_spec(), small_config(), runs_dir=runs, source_name="month-1.csv")
    stored = customers_of(first)
    assigned = stored[stored["segment_id"] != UNASSIGNED]
    removed = int(assigned.groupby("segment_id")["revenue_next_12m"].mean().idxmax())
    gone = set(stored.loc[stored["segment_id"] == removed, ID])
    newcomers = table[table[ID].isin(gone)].copy()
    newcomers[ID] = [f"N{i:06d}" for i in range(1, len(newcomers) + 1)]
    later = pd.concat([table[~table[ID].isin(gone)], newcomers], ignore_index=True)
    second = train(later, demo_spec(), small_config(), runs_dir=runs, source_name="month-2.csv")
    return Lineage(runs=runs, first=first, second=second, removed=removed,
                   newcomers=frozenset(newcomers[ID]))


def identity_of(run: Path) -> dict:
    return open_run(run).manifest.segment_report.get("identity", {})


def test_a_first_run_keeps_todays_numbering(lineage: Lineage) -> None:
    stored = customers_of(lineage.first)
    assert identity_of(lineage.first) == {}
    sizes = stored.loc[stored["segment_id"] != UNASSIGNED, "segment_id"].value_counts()
    assert sorted(sizes.index) == list(range(len(sizes)))  # 0..k-1 ...
    assert list(sizes.sort_index()) == sorted(sizes, reverse=True)  # ... the largest first


def test_the_manifest_records_the_match(lineage: Lineage) -> None:
    identity = identity_of(lineage.second)
    assert identity["previous_run"] == lineage.first.name
    assert identity["shared_share"] > 0.8 and identity["shared_customers"] > 1000
    first_ids = set(customers_of(lineage.first)["segment_id"]) - {UNASSIGNED}
    second_ids = set(customers_of(lineage.second)["segment_id"]) - {UNASSIGNED}
    matched = {m["id"] for m in identity["matched"]}
    assert matched and matched <= first_ids & second_ids
    assert all(m["jaccard"] >= 0.3 and 0 < m["share_of_segment"] <= 1 for m in identity["matched"])
    assert set(identity["new_ids"]) == second_ids - matched
    assert set(identity["vanished_ids"]) == first_ids - matched
    assert set(identity["ids_used"]) == first_ids | second_ids
    stored = open_run(lineage.second).json("segments.json")
    assert stored["identity"] == identity  # segments.json carries the same report


def test_the_removed_segment_vanished_and_the_newcomers_are_new(lineage: Lineage) -> None:
    identity = identity_of(lineage.second)
    first_names = dict(customers_of(lineage.first).groupby("segment_id")["segment_name"].first())
    assert lineage.removed in identity["vanished_ids"]
    (gone,) = [v for v in identity["vanished"] if v["id"] == lineage.removed]
    assert gone["name"] == first_names[lineage.removed] and gone["shared"] == 0
    stored = customers_of(lineage.second)
    newcomers = stored[stored[ID].isin(lineage.newcomers)]
    home = int(newcomers["segment_id"].mode()[0])
    assert (newcomers["segment_id"] == home).mean() > 0.8  # the newcomers form a segment of their own ...
    assert home in identity["new_ids"] and home not in first_names  # ... with an id the first run never used
    name = stored.loc[stored["segment_id"] == home, "segment_name"].iloc[0]
    assert name not in first_names.values()  # and a name no earlier segment had


def test_matched_segments_keep_ids_names_and_colours(lineage: Lineage) -> None:
    identity = identity_of(lineage.second)
    first, second = customers_of(lineage.first), customers_of(lineage.second)
    first_names = dict(first.groupby("segment_id")["segment_name"].first())
    second_names = dict(second.groupby("segment_id")["segment_name"].first())
    for m in identity["matched"]:
        assert second_names[m["id"]] == first_names[m["id"]] == m["name"]
    both = first.merge(second, on=ID, suffixes=("_1", "_2"))
    assigned = (both["segment_id_1"] != UNASSIGNED) & (both["segment_id_2"] != UNASSIGNED)
    assert (both.loc[assigned, "segment_id_1"] == both.loc[assigned, "segment_id_2"]).mean() > 0.7
    profiles = segment_profiles(open_run(lineage.second).json("segments.json"))
    assert {p.id: p.name for p in profiles} == second_names
    assert [p.id for p in profiles] == sorted(p.id for p in profiles if p.id != UNASSIGNED) + \
        [UNASSIGNED] * any(p.id == UNASSIGNED for p in profiles)
    colours = [_map_colours(frame) for frame in (first, second)]
    for m in identity["matched"]:
        assert colours[0][m["name"]] == colours[1][m["name"]]


def _map_colours(frame: pd.DataFrame) -> dict[str, str]:
    figure = customer_map(frame, id_column=ID, color_by="segment", hover=())
    names = dict(frame.groupby("segment_id")["segment_name"].first())
    from insight.figures.charts import shorten

    by_trace = {t.name: t.marker.color for t in figure.data if t.type == "scattergl"}
    return {name: by_trace[shorten(name)] for name in names.values()}


def segments_page(monkeypatch: pytest.MonkeyPatch, lineage: Lineage, run: Path) -> AppTest:
    """The Segments page of `run` (AppTest: the real app, no browser)."""
    monkeypatch.setenv("INSIGHT_RUNS_DIR", str(lineage.runs))
    at = AppTest.from_file(str(PROJECT / "app.py"), default_timeout=180)
    at.query_params["run"] = run.name
    at.run()
    at.switch_page("pages/segments.py").run()
    assert not at.exception and not at.error
    return at


def test_the_segments_page_shows_new_and_vanished(lineage: Lineage, monkeypatch: pytest.MonkeyPatch) -> None:
    identity = identity_of(lineage.second)
    at = segments_page(monkeypatch, lineage, lineage.second)
    (note,) = [c.value for c in at.caption if c.value.startswith("Matched to run")]
    text = note.replace("\\", "")
    assert lineage.first.name in text
    for n in identity["new"]:
        assert n["name"] in text.split("new: ")[1]
    for v in identity["vanished"]:
        assert f"~~{v['name']}~~" in text.split("vanished: ")[1]
    badged = [m.value.replace("\\", "") for m in at.markdown if "green-badge" in m.value]
    assert sorted(badged) == sorted(f"**{n['name']}** :green-badge[:material/fiber_new: New]"
                                    for n in identity["new"])

    at = segments_page(monkeypatch, lineage, lineage.first)  # a run matched to none shows neither
    assert not [c for c in at.caption if c.value.startswith("Matched to run")]
    assert not [m for m in at.markdown if "green-badge" in m.value]


# --- the rule, on small frames ------------------------------------------------------------------------------


def earlier(members: dict[str, int], names: dict[int, str], used: tuple[int, ...] = ()) -> Earlier:
    frame = pd.DataFrame({"id": list(members), "segment": list(members.values())})
    return Earlier(run_id="before", members=frame, names=names,
                   ids_used=tuple(sorted(set(used) | set(names) - {UNASSIGNED})))


def test_a_split_keeps_the_id_for_the_closer_half_and_a_poor_match_is_new() -> None:
    ids = [f"c{i}" for i in range(100)]
    before = earlier({i: 0 if n < 60 else 1 for n, i in enumerate(ids)}, {0: "Big", 1: "Small"})
    # now: segment 5 holds 40 of Big's customers, 6 the other 20 of Big's, 7 all of Small's
    labels = [5 if n < 40 else 6 if n < 60 else 7 for n in range(100)]
    match = match_segments(pd.Series(ids), np.array(labels), before, names={5: "A", 6: "B", 7: "C"})
    assert match.ids[5] == 0 and match.names[0] == "Big"  # Jaccard 40/60
    assert match.ids[7] == 1 and match.names[1] == "Small"  # Jaccard 40/40 over shared customers
    assert match.ids[6] == 2 and match.names[2] == "B"  # Big went to 5 (one to one): 6 is new
    assert match.report["new_ids"] == [2] and match.report["vanished_ids"] == []


def test_a_merged_segment_vanishes_into_the_one_that_holds_its_customers() -> None:
    ids = [f"c{i}" for i in range(50)]
    before = earlier({i: 0 if n < 30 else 1 for n, i in enumerate(ids)}, {0: "Thirty", 1: "Twenty"})
    match = match_segments(pd.Series(ids), np.zeros(50, dtype=int), before, names={0: "All"})
    assert match.ids[0] == 0 and match.names[0] == "Thirty"  # Jaccard 30/50 beats 20/50
    assert match.report["vanished"] == [{"id": 1, "name": "Twenty", "shared": 20,
                                         "mostly_in": {"id": 0, "name": "Thirty", "share": 1.0}}]


def test_new_ids_are_never_ones_the_lineage_used_and_names_do_not_repeat() -> None:
    ids = [f"c{i}" for i in range(50)]
    before = earlier({i: 0 for i in ids[:25]} | {i: 1 for i in ids[25:]}, {0: "Pro plan · low churn", 1: "Old"},
                     used=(0, 1, 2, 3))  # ids 2 and 3 vanished before
    labels = np.array([0] * 25 + [1] * 25)
    newcomers = pd.Series(ids[:25] + [f"n{i}" for i in range(25)])  # segment 1 holds newcomers only
    match = match_segments(newcomers, labels, before, names={0: "Pro plan · high churn",
                                                             1: "Pro plan · low churn"})
    assert match.ids[0] == 0 and match.names[0] == "Pro plan · low churn"  # inherited as it was
    assert match.ids[1] == 4  # 0-3 were used
    assert match.names[4] == "Pro plan (4) · low churn"  # its own name was an earlier segment's
    assert match.report["vanished"] == [{"id": 1, "name": "Old", "shared": 0}]
    assert match.report["ids_used"] == [0, 1, 2, 3, 4]


def test_the_earlier_run_needs_the_same_id_column_and_enough_shared_customers(lineage: Lineage) -> None:
    stored = customers_of(lineage.first)[ID]
    found = earlier_segments(lineage.runs, ID, stored)
    assert found is not None and found.run_id == lineage.second.name  # the newest
    outsiders = pd.Series([f"X{i}" for i in range(1000)])
    few = pd.concat([stored.head(int(MIN_SHARED * 1000) - 10), outsiders], ignore_index=True)
    enough = pd.concat([stored.head(int(MIN_SHARED * 1000) + 300), outsiders], ignore_index=True)
    assert earlier_segments(lineage.runs, ID, outsiders) is None
    assert earlier_segments(lineage.runs, ID, few) is None
    assert earlier_segments(lineage.runs, ID, enough) is not None
    assert earlier_segments(lineage.runs, "account_id", stored) is None
