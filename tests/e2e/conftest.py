"""Browser-test fixtures: the real dashboard server on the session's real runs, and Debian's Chromium.

The server is `streamlit run app.py` in a subprocess on a free port, over a runs folder holding copies of the
session's demo and Telco runs (LATEST: the Telco run). Playwright drives /usr/bin/chromium; Playwright's own
browser download is never used (`make chromium` installs Debian's).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from insight.runs.run import set_latest

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic"]
SERVER_START_S = 90
VIEWPORT = {"width": 1600, "height": 1000}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Keep each phase's report on the test item, so that the page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def e2e_runs(tmp_path_factory: pytest.TempPathFactory, demo_run: Path, telco_run: Path) -> Path:
    """Copies of the session's two runs, LATEST on the Telco run: runs that other tests write into the shared
    runs folder cannot change which run the browser sees."""
    runs = tmp_path_factory.mktemp("e2e-runs")
    for run in (demo_run, telco_run):
        shutil.copytree(run, runs / run.name)
    set_latest(runs, telco_run.name)
    return runs


@pytest.fixture(scope="session")
def server(e2e_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard served by a real Streamlit process: its base URL. Stopped at the end, also on failure."""
    with serve_runs(e2e_runs, tmp_path_factory.mktemp("e2e-server")) as url:
        yield url


@contextmanager
def serve_runs(runs: Path, log_dir: Path) -> Iterator[str]:
    """`streamlit run app.py` on `runs` (a real Streamlit process on 127.0.0.1 and a free port, its log in
    `log_dir`): its base URL once it answers /_stcore/health. Stopped on leaving, also on failure."""
    port = _free_port()
    log_path = log_dir / "streamlit.log"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats",
               "false", "--server.fileWatcherType", "none"]
    env = {**os.environ, "INSIGHT_RUNS_DIR": str(runs)}
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the Streamlit server exited with code {process.returncode}:\n"
                        f"{log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"the Streamlit server did not answer /_stcore/health within {SERVER_START_S} s:\n"
                f"{log_path.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def missing_chromium() -> str | None:
    """What to do when Debian's Chromium is missing (None when it is there). The tests then fail, never skip:
    CI must really run them."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return None
    return (f"Chromium is not installed at {CHROMIUM}; run `make chromium` (apt-get install chromium). "
            "Do not run `playwright install`: it downloads a browser and fails without open internet.")


@pytest.fixture(scope="module")
def browser(missing_chromium: str | None) -> Iterator[Browser]:
    """Debian's headless Chromium, one per test module."""
    if missing_chromium:
        pytest.fail(missing_chromium, pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def open_tab(browser: Browser, base_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A fresh browser tab (its own cookies and Streamlit session) on `base_url`. When the test fails, a
    screenshot and the page's HTML are saved in the test's tmp dir; uncaught JavaScript errors fail it."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, base_url=base_url)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield tab
        report = getattr(request.node, "report_call", None)
        if report is not None and report.passed:
            assert not errors, f"uncaught JavaScript errors in the page: {errors}"
    finally:
        report = getattr(request.node, "report_call", None)
        if report is None or report.failed:
            try:
                tab.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
                (tmp_path / "failure.html").write_text(tab.content())
                print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
            except (PlaywrightError, OSError) as e:  # the browser may be the thing that broke
                print(f"no screenshot: {e}")
        context.close()


@pytest.fixture()
def page(browser: Browser, server: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A fresh browser tab on the session's server (open_tab)."""
    with open_tab(browser, server, request, tmp_path) as tab:
        yield tab
