"""The dashboard benchmark: how quickly the app answers on a (large) run, measured server-side.

    python -m benchmarks dashboard --runs-dir DIR [--run RUN_ID] [--reruns 200]

- cold start: a fresh Python process imports the app and renders its first page (streamlit.testing's
  AppTest, which runs app.py exactly as `streamlit run` does, without a browser); wall seconds from the start
  of the process, and which heavy libraries (torch, umap, shap, numba) the page load imported;
- every page: the first render (its caches cold) and a second one (warm);
- interactions: risk-table filters, sort and paging, the segment picker and colour of the map, each a rerun
  of the page with the new widget value;
- a lasso on the map: AppTest cannot draw on a plotly chart, so the selection is timed as the functions the
  Segments page calls with a selection (summary, contrast, SHAP drivers) on a region of the map;
- memory: the process's resident memory after 20 reruns of a session and after `reruns`.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROJECT = Path(__file__).resolve().parents[1]
APP = PROJECT / "app.py"
HEAVY = ("torch", "umap", "shap", "numba", "pynndescent")
COLD_BUDGET_S, PAGE_BUDGET_S, INTERACTION_BUDGET_S = 5.0, 2.0, 1.0
TIMEOUT = 600


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _app(runs_dir: Path, run_id: str | None) -> Any:
    from streamlit.testing.v1 import AppTest

    os.environ["INSIGHT_RUNS_DIR"] = str(runs_dir)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if run_id:
        at.query_params["run"] = run_id
    return at


def _run_path(runs_dir: Path, run_id: str | None) -> Path:
    from insight.runs.run import find_run, latest_run

    path = find_run(runs_dir, run_id) if run_id else latest_run(runs_dir)
    if path is None:
        raise SystemExit(f"no run in {runs_dir}: train one first (python -m benchmarks --sizes 1000000 "
                         "--keep-runs DIR keeps the benchmark's run)")
    return path


def _timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    at = action()
    return time.perf_counter() - started, at


def _problems(at: Any) -> list[str]:
    return [str(e.value)[:160] for e in (*at.exception, *at.error)]


def cold_start(runs_dir: Path, run_id: str | None) -> dict[str, Any]:
    """In this (fresh) process: the app's first page, timed from the process's start."""
    at = _app(runs_dir, run_id)
    at.run()
    seconds = time.time() - float(os.environ.get("INSIGHT_BENCH_STARTED", _process_start()))
    return {"seconds": round(seconds, 2), "heavy_imports": [m for m in HEAVY if m in sys.modules],
            "problems": _problems(at), "first_page_title": next((t.value for t in at.title), None)}


def _process_start() -> float:
    """When this process started (wall clock), from /proc: the cold start when no parent passed it."""
    with open("/proc/self/stat") as f:
        ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")


def _cold_in_child(runs_dir: Path, run_id: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cold.json"
        command = [sys.executable, "-m", "benchmarks", "dashboard-cold", "--runs-dir", str(runs_dir),
                   "--json", str(out)] + (["--run", run_id] if run_id else [])
        env = {**os.environ, "INSIGHT_BENCH_STARTED": repr(time.time())}
        subprocess.run(command, check=True, env=env, cwd=PROJECT)
        return json.loads(out.read_text())


def _selection_timing(runs_dir: Path, run_id: str | None) -> dict[str, Any]:
    """The Segments page's work for a lasso (a disc around the map's densest point holding ~5 % of it), done
    as the page does it: the selected rows, the group comparison, what sets them apart, their SHAP drivers."""
    import numpy as np

    from insight.segments.contrast import contrast
    from insight.segments.contrast import compare_groups
    from insight.ui.context import open_active_run

    run_path = _run_path(runs_dir, run_id)
    active = open_active_run(run_path)
    points = active.map_frame
    active.store.shap_groups  # noqa: B018 - read once per run (a stored file), as the page's first visit does
    xy = points[["x", "y"]].to_numpy()
    centre = np.median(xy, axis=0)
    distance = np.hypot(*(xy - centre).T)
    rows = np.flatnonzero(distance <= np.quantile(distance, 0.05))
    started = time.perf_counter()
    mask = np.zeros(len(points), dtype=bool)
    mask[rows] = True
    ids = [str(i) for i in points[active.id_column].to_numpy()[mask]]
    compare_groups(points, mask, target=active.target,
                   revenue="revenue_at_risk" if active.revenue_column else None)
    features = {f: active.roles[f] for f in active.features if f in points.columns and f in active.roles}
    contrast(points, mask, features)
    active.store.shap_contrast(None, ids=ids)
    return {"selected": int(mask.sum()), "map_points": int(len(points)),
            "seconds": round(time.perf_counter() - started, 3)}


def dashboard_benchmark(runs_dir: Path, run_id: str | None = None, *, reruns: int = 200) -> dict[str, Any]:
    import pandas as pd

    from insight.runs.run import read_manifest

    run_path = _run_path(runs_dir, run_id)
    run_id = run_path.name
    rows = read_manifest(run_path).source.rows
    result: dict[str, Any] = {"benchmark": "dashboard", "run": run_id, "rows": rows}
    result["cold_start"] = _cold_in_child(runs_dir, run_id)

    at = _app(runs_dir, run_id)
    at.run()
    pages = sorted(f"pages/{p.name}" for p in (PROJECT / "pages").glob("*.py"))
    result["pages"] = {}
    for page in pages:
        first, _ = _timed(lambda p=page: at.switch_page(p).run())
        problems = _problems(at)
        second, _ = _timed(lambda: at.run())
        result["pages"][page] = {"first_s": round(first, 2), "warm_s": round(second, 2), "problems": problems}

    customers = pd.read_parquet(run_path / "customers.parquet", columns=["top_reason", "segment_id"])
    reason = str(customers["top_reason"].value_counts().index[0])
    segment = int(customers.loc[customers["segment_id"] >= 0, "segment_id"].value_counts().index[-1])
    interactions: dict[str, float] = {}

    def interact(name: str, action: Any) -> None:
        seconds, _ = _timed(action)
        interactions[name] = round(seconds, 3)
        if _problems(at):
            interactions[name + " (problems)"] = _problems(at)  # type: ignore[assignment]

    at.switch_page("pages/risk.py").run()
    interact("risk: band 'very high'", lambda: at.pills(key="filter_bands").set_value(["very high"]).run())
    interact("risk: main reason", lambda: at.multiselect(key="filter_top_reason").set_value([reason]).run())
    interact("risk: segment", lambda: at.multiselect(key="filter_segments").set_value([segment]).run())
    interact("risk: sort ascending", lambda: at.segmented_control(key="risk_order").set_value("Lowest first").run())
    interact("risk: next page", lambda: at.number_input(key="risk_page").set_value(2).run())
    interact("risk: clear filters", lambda: at.pills(key="filter_bands").set_value([]).run())
    at.switch_page("pages/segments.py").run()
    interact("segments: pick a segment", lambda: at.selectbox(key="compare_segment").set_value(segment).run())
    interact("segments: colour by probability",
             lambda: at.segmented_control(key="map_color").set_value("Churn probability").run())
    interact("segments: map bands high + very high",
             lambda: at.pills(key="map_bands").set_value(["high", "very high"]).run())
    interact("segments: map all bands", lambda: at.pills(key="map_bands").set_value([]).run())
    result["interactions"] = interactions
    selection = _selection_timing(runs_dir, run_id)
    # A lasso reruns the page with a selection: its warm render plus the selection's own work (AppTest cannot
    # draw on a chart, so the two are measured apart and added).
    rerun = result["pages"]["pages/segments.py"]["warm_s"]
    selection["with_page_rerun_s"] = round(selection["seconds"] + rerun, 3)
    result["map_selection"] = selection

    at.switch_page("pages/risk.py").run()
    bands = (["very high"], ["high", "very high"], [])
    gc.collect()
    memory = {}
    half = max(21, reruns // 2)
    for i in range(1, reruns + 1):
        at.pills(key="filter_bands").set_value(bands[i % len(bands)]).run()
        if i in (20, half, reruns):
            gc.collect()
            memory[i] = round(_rss_mb(), 1)
    # a plateau: the second half of the reruns adds (next to) nothing, whatever the first filled in caches
    result["memory_mb"] = {"after_20_reruns": memory[20], f"after_{half}_reruns": memory[half],
                           f"after_{reruns}_reruns": memory[reruns],
                           "growth_mb": round(memory[reruns] - memory[20], 1),
                           "growth_second_half_mb": round(memory[reruns] - memory[half], 1)}
    worst_page = max(p["warm_s"] for p in result["pages"].values())
    worst_interaction = max([v for v in interactions.values() if isinstance(v, float)]
                            + [result["map_selection"]["with_page_rerun_s"]])
    result["verdict"] = {
        "cold_start_under_5s": result["cold_start"]["seconds"] < COLD_BUDGET_S,
        "no_heavy_imports": not result["cold_start"]["heavy_imports"],
        "every_page_under_2s_warm": worst_page < PAGE_BUDGET_S,
        "every_page_under_2s_first": max(p["first_s"] for p in result["pages"].values()) < PAGE_BUDGET_S,
        "interactions_under_1s": worst_interaction < INTERACTION_BUDGET_S,
        "no_problems": not any(p["problems"] for p in result["pages"].values()),
    }
    return result


def print_dashboard(result: dict[str, Any]) -> None:
    cold = result["cold_start"]
    print(f"dashboard on run {result['run']} ({result['rows']:,} customers), server-side (AppTest):")
    print(f"  cold start to the first page: {cold['seconds']:.2f} s; heavy libraries imported: "
          f"{', '.join(cold['heavy_imports']) or 'none'}")
    for page, t in result["pages"].items():
        note = f"  PROBLEMS: {t['problems']}" if t["problems"] else ""
        print(f"  {page:<24} first {t['first_s']:>6.2f} s   warm {t['warm_s']:>6.2f} s{note}")
    for name, seconds in result["interactions"].items():
        print(f"  {name:<40} {seconds}")
    sel = result["map_selection"]
    print(f"  map lasso of {sel['selected']:,} of {sel['map_points']:,} map customers: "
          f"{sel['seconds']:.3f} s "
          f"of selection work, {sel['with_page_rerun_s']:.3f} s with the page's rerun")
    mem = result["memory_mb"]
    print(f"  memory: {', '.join(f'{k} {v}' for k, v in mem.items())}")
    print("  " + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in result["verdict"].items()))
