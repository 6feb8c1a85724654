"""`python -m benchmarks load [--runs-dir DIR | --rows 100000] [--sessions 20] [--json FILE]`: many people at once.

1. the run: the newest run in `--runs-dir`, else a demo run of `--rows` customers trained here first
   (`insight train` on `insight demo-data`, in its own process);
2. the dashboard served by a real Streamlit process on 127.0.0.1 (a free port), as `insight serve` serves it;
3. `--sessions` real-browser sessions at once (one headless Chromium, one browser context each: its own
   cookies, websocket and Streamlit session), each opening every page of the navigation by its URL and then
   making one box selection on the Segments page's map, as a person would drag it;
4. printed: errors (a failed step, an exception or error box on a page: must be 0), the median and 95th
   percentile of the page times (from navigation until the page's script has finished and nothing is stale)
   and of the selection time, and the server's resident memory at start (after the first page), at its peak
   (sampled every 0.1 s) and after the sessions have closed (Streamlit drops a session's state when its
   websocket closes; the figure is read `--settle` seconds later). With `--waves N` the sessions run N times,
   one wave after another, and the memory after each wave tells growth from a plateau (caches filled once).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
STEP_TIMEOUT_MS = 300_000
MB = 1024**2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs-dir", type=Path, help="serve the newest run of this folder (default: train a demo "
                                                      "run of --rows customers first)")
    parser.add_argument("--rows", type=int, default=100_000, help="demo customers when no --runs-dir is given")
    parser.add_argument("--sessions", type=int, default=20, help="browser sessions at once")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after the sessions close before the "
                                                                  "last memory reading")
    parser.add_argument("--waves", type=int, default=1, help="run the sessions this many times, one wave after "
                                                             "another (memory after each: growth or a plateau)")
    parser.add_argument("--work", type=Path, help="keep the demo data and run here (default: a temporary folder)")
    parser.add_argument("--json", help="also write the figures to this JSON file")


# ------------------------------------------------------------------------------------------ the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MemoryMeter:
    """The resident memory of one process, sampled every `interval` seconds: now, and the peak so far."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self.process, self.peak = psutil.Process(pid), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def now(self) -> int:
        rss = int(self.process.memory_info().rss)
        self.peak = max(self.peak, rss)
        return rss

    def _run(self, interval: float) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                self.now()
            except psutil.Error:
                return
            self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def start_server(runs_dir: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The dashboard in its own Streamlit process on 127.0.0.1 and a free port: the process and its URL, once it
    answers its health check."""
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(PROJECT / "app.py"), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    env = {**os.environ, "INSIGHT_RUNS_DIR": str(runs_dir.resolve())}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return process, url
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    process.kill()
    raise RuntimeError(f"the server did not answer within 120 s:\n{log_path.read_text()[-3000:]}")


def page_paths() -> list[str]:
    """Every page of the dashboard's navigation by its URL path (Streamlit names a page after its file; the
    first page is the root)."""
    os.environ["STREAMLIT_LOGGER_LEVEL"] = "error"  # importing the UI outside a server warns about caches
    try:
        from insight.ui.shell import PAGES
    finally:
        del os.environ["STREAMLIT_LOGGER_LEVEL"]
    return ["/" if i == 0 else "/" + Path(entry[0]).stem for i, entry in enumerate(PAGES)]


# ------------------------------------------------------------------------------------------ one session


async def _settled(tab: Any) -> None:
    """The page's script has run to its end and nothing on it is stale."""
    await tab.locator('[data-testid="stMain"] h1').first.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    await tab.wait_for_selector(IDLE, timeout=STEP_TIMEOUT_MS)
    await tab.wait_for_function("() => document.querySelectorAll('[data-stale=\"true\"]').length === 0",
                                timeout=STEP_TIMEOUT_MS)


async def _page_errors(tab: Any) -> int:
    return int(await tab.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count())


CENTRAL_POINT = """gd => {
  // the viewport position of the plotted customer nearest to the middle of the plot area, and that area
  const svg = gd.querySelector('.main-svg').getBoundingClientRect();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const left = svg.left + xa._offset, top = svg.top + ya._offset, w = xa._length, h = ya._length;
  let best = null;
  for (const t of gd._fullData) {
    for (let i = 0; i < t.x.length; i++) {
      const x = left + xa.l2p(t.x[i]), y = top + ya.l2p(t.y[i]);
      const d = Math.hypot(x - left - w / 2, y - top - h / 2);
      if (!best || d < best.d) best = {x, y, d};
    }
  }
  return {x: best.x, y: best.y, left, top, w, h};
}"""
"""JavaScript for a plotly chart: the customer nearest the plot's middle (also used by tests/e2e's selections)."""


async def _select_on_map(tab: Any) -> None:
    """Box Select on the map's modebar, then a box dragged around the customer nearest the middle of the map,
    until the page compares the selection with the rest."""
    chart = tab.locator('[data-testid="stPlotlyChart"]').first
    await chart.scroll_into_view_if_needed(timeout=STEP_TIMEOUT_MS)
    await chart.hover()
    await chart.locator('.modebar-btn[data-title="Box Select"]').click()
    plot = tab.locator('[data-testid="stMain"] .js-plotly-plot').first
    await tab.wait_for_function("() => document.querySelector('[data-testid=\"stPlotlyChart\"] .js-plotly-plot')"
                                "._fullLayout.dragmode === 'select'", timeout=STEP_TIMEOUT_MS)
    c = await plot.evaluate(CENTRAL_POINT)
    x0, x1 = max(c["left"] + 2, c["x"] - 0.2 * c["w"]), min(c["left"] + c["w"] - 2, c["x"] + 0.2 * c["w"])
    y0, y1 = max(c["top"] + 2, c["y"] - 0.25 * c["h"]), min(c["top"] + c["h"] - 2, c["y"] + 0.25 * c["h"])
    await tab.mouse.move(x0, y0)
    await tab.mouse.down()
    for k in range(1, 13):
        await tab.mouse.move(x0 + (x1 - x0) * k / 12, y0 + (y1 - y0) * k / 12)
    await tab.mouse.up()
    heading = tab.get_by_role("heading", name="vs the rest").filter(has_text="Your selection of")
    await heading.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    await tab.wait_for_selector(IDLE, timeout=STEP_TIMEOUT_MS)


async def one_session(browser: Any, url: str, paths: list[str], start: asyncio.Event) -> dict[str, Any]:
    """Every page by its URL, then a map selection; the seconds of each step and the errors seen."""
    context = await browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=url)
    tab = await context.new_page()
    failures: list[str] = []
    tab.on("pageerror", lambda e: failures.append(f"JavaScript: {e}"))
    pages: dict[str, float] = {}
    selection = None
    await start.wait()
    try:
        for path in paths:
            began = time.perf_counter()
            try:
                await tab.goto(path, timeout=STEP_TIMEOUT_MS)
                await _settled(tab)
                pages[path] = time.perf_counter() - began
                if errors := await _page_errors(tab):
                    failures.append(f"{path}: {errors} error box(es)")
            except Exception as e:  # noqa: BLE001 - a benchmark counts every kind of failure
                failures.append(f"{path}: {type(e).__name__}: {str(e).splitlines()[0]}")
        began = time.perf_counter()
        try:
            await tab.goto("/segments", timeout=STEP_TIMEOUT_MS)
            await _settled(tab)
            began = time.perf_counter()
            await _select_on_map(tab)
            selection = time.perf_counter() - began
            if errors := await _page_errors(tab):
                failures.append(f"selection: {errors} error box(es)")
        except Exception as e:  # noqa: BLE001
            failures.append(f"selection: {type(e).__name__}: {str(e).splitlines()[0]}")
    finally:
        await context.close()
    return {"pages": pages, "selection": selection, "failures": failures}


async def _sessions(url: str, count: int, paths: list[str]) -> list[dict[str, Any]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            start = asyncio.Event()
            tasks = [asyncio.create_task(one_session(browser, url, paths, start)) for _ in range(count)]
            await asyncio.sleep(1.0)  # every context open before any session starts
            start.set()
            return list(await asyncio.gather(*tasks))
        finally:
            await browser.close()


async def _warm_up(url: str, paths: list[str]) -> dict[str, Any]:
    """One session alone: the figures of a single user, and the server's caches filled as after any first
    visit."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            start = asyncio.Event()
            start.set()
            return await one_session(browser, url, paths, start)
        finally:
            await browser.close()


# ------------------------------------------------------------------------------------------ the benchmark


def _demo_run(rows: int, folder: Path) -> Path:
    from benchmarks.dask import insight_command

    runs, data = folder / "runs", folder / "data"
    subprocess.run(insight_command("demo-data", "--rows", str(rows), "--out", str(data)), check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(insight_command("train", str(data / "customers.csv"), "--id", "customer_id", "--target", "churned",
                                   "--aux", "revenue_next_12m", "--aux", "seat_change_next_12m", "--runs-dir", str(runs),
                                   "--seed", "0"), check=True, stdout=subprocess.DEVNULL)
    return runs


def _cpu_seconds(process: Any) -> float:
    """User + system CPU seconds the server process has used so far (the browsers share the same cores)."""
    times = process.cpu_times()
    return float(times.user + times.system)


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median_s": None, "p95_s": None, "max_s": None, "n": 0}
    v = np.asarray(values)
    return {"median_s": round(float(np.median(v)), 2), "p95_s": round(float(np.percentile(v, 95)), 2),
            "max_s": round(float(v.max()), 2), "n": len(values)}


def load_benchmark(*, runs_dir: Path | None = None, rows: int = 100_000, sessions: int = 20, settle: float = 10.0,
                   waves: int = 1, work: Path | None = None) -> dict[str, Any]:
    from insight.runs.run import latest_run, read_manifest

    folder = Path(work) if work else Path(tempfile.mkdtemp(prefix="insight-load-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if runs_dir is None:
            runs_dir = folder / "runs"
            if latest_run(runs_dir) is None:
                runs_dir = _demo_run(rows, folder)
        run = latest_run(runs_dir)
        if run is None:
            raise SystemExit(f"no run in {runs_dir}: train one first or leave out --runs-dir")
        customers = read_manifest(run).source.rows
        paths = page_paths()
        process, url = start_server(runs_dir, folder / "server.log")
        meter = MemoryMeter(process.pid)
        try:
            started = time.perf_counter()
            alone = asyncio.run(_warm_up(url, paths))
            warm_up_s = time.perf_counter() - started
            rss_start = meter.now()
            meter.peak = rss_start
            cpu_before = _cpu_seconds(meter.process)
            started = time.perf_counter()
            results, after_waves = [], []
            for _ in range(waves):
                results += asyncio.run(_sessions(url, sessions, paths))
                time.sleep(settle)
                after_waves.append(round(meter.now() / MB))
            wall = time.perf_counter() - started - settle * waves
            server_cpu = _cpu_seconds(meter.process) - cpu_before
            peak = meter.peak
        finally:
            meter.stop()
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        failures = [f for r in results for f in r["failures"]]
        return {
            "benchmark": "load", "run": run.name, "customers": customers, "sessions": sessions, "pages": paths,
            "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
            "errors": len(failures), "error_examples": failures[:10],
            "one_session_alone": {"seconds": round(warm_up_s, 1), "page": _quantiles(list(alone["pages"].values())),
                                  "selection_s": alone["selection"], "errors": len(alone["failures"])},
            "wall_seconds": round(wall, 1), "server_cpu_seconds": round(server_cpu, 1),
            "page": _quantiles([s for r in results for s in r["pages"].values()]),
            "page_by_path": {p: _quantiles([r["pages"][p] for r in results if p in r["pages"]]) for p in paths},
            "selection": _quantiles([r["selection"] for r in results if r["selection"] is not None]),
            "waves": waves,
            "server_rss_mb": {"start": round(rss_start / MB), "peak": round(peak / MB), "after": after_waves[-1],
                              "after_each_wave": after_waves},
        }
    finally:
        if work is None:
            shutil.rmtree(folder, ignore_errors=True)


def print_load(result: dict[str, Any]) -> None:
    page, sel, rss = result["page"], result["selection"], result["server_rss_mb"]
    alone = result["one_session_alone"]
    print(f"load: {result['waves']} wave(s) of {result['sessions']} browser sessions at once on run {result['run']} "
          f"({result['customers']:,} customers), {len(result['pages'])} pages each and one map selection, "
          f"{result['cpus']} CPUs")
    print(f"  errors: {result['errors']}" + "".join(f"\n    {e}" for e in result["error_examples"]))
    print(f"  one session alone: page median {alone['page']['median_s']} s, selection {alone['selection_s']:.2f} s"
          if alone["selection_s"] is not None else "  one session alone: no selection")
    print(f"  all sessions: {result['wall_seconds']} s (server CPU {result['server_cpu_seconds']} s, the rest of the "
          f"cores' time went to the browsers); page median {page['median_s']} s, p95 {page['p95_s']} s, "
          f"max {page['max_s']} s ({page['n']} page loads); selection median {sel['median_s']} s, "
          f"p95 {sel['p95_s']} s ({sel['n']})")
    for path, q in result["page_by_path"].items():
        print(f"    {path:<12} median {q['median_s']} s  p95 {q['p95_s']} s")
    print(f"  server RSS: start {rss['start']} MB, peak {rss['peak']} MB, after the sessions {rss['after']} MB"
          + (f" (after each wave: {', '.join(map(str, rss['after_each_wave']))} MB)" if result["waves"] > 1 else ""))
