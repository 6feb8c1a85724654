"""Upload and train in a real headless Chromium against a real Streamlit server, as an analyst would: on a
dashboard with no run yet, open the upload page from the sidebar, upload a small CSV, pick the columns, start
the training, watch its progress, and find the new run in the run picker.

The server is this module's own, on an empty runs folder (the first run a stakeholder trains); the training
runs in a real worker process with the CLI's default settings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from insight.data.demo import demo_data
from insight.jobs import manager
from insight.runs.run import list_runs, verify_run
from tests.e2e.conftest import PROJECT, _free_port, _wait_healthy, open_tab

pytestmark = pytest.mark.e2e

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
LOAD_MS = 90_000
TRAIN_MS = 150_000


@pytest.fixture(scope="module")
def upload_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("upload-runs")


class Server:
    """`streamlit run app.py` on the runs folder (as tests/e2e/conftest.py's server, on other runs), which can
    be stopped and started again on the same address."""

    def __init__(self, runs: Path, log_dir: Path) -> None:
        self.runs, self.log_dir, self.port = runs, log_dir, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log_path = self.log_dir / f"streamlit-{self.starts}.log"
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                   "--server.port", str(self.port), "--server.address", "127.0.0.1",
                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        env = {**os.environ, "INSIGHT_RUNS_DIR": str(self.runs)}
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT)
        _wait_healthy(self.url, self.process, log_path)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        self.process = None


@pytest.fixture(scope="module")
def upload_server(upload_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(upload_runs, tmp_path_factory.mktemp("upload-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        for job in manager.list_jobs(upload_runs):  # a failed test leaves no worker behind
            manager.cancel(job.folder)


@pytest.fixture()
def tab(browser: Browser, upload_server: Server, request: pytest.FixtureRequest,
        tmp_path: Path) -> Iterator[Page]:
    """A fresh browser tab on this module's server (conftest's open_tab)."""
    with open_tab(browser, upload_server.url, request, tmp_path) as page:
        yield page


def settled(page: Page) -> None:
    page.wait_for_selector(IDLE, timeout=LOAD_MS)


def open_upload_page(tab: Page) -> None:
    tab.goto("/")
    tab.locator('[data-testid="stSidebarNav"] a').filter(has_text="Upload and train").click()
    expect(tab.get_by_role("heading", name="Upload and train", exact=True)).to_be_visible(timeout=LOAD_MS)
    settled(tab)


def test_upload_a_csv_train_it_and_find_the_run_in_the_picker(tab: Page, upload_runs: Path,
                                                               tmp_path: Path) -> None:
    table = tmp_path / "team customers.csv"
    demo_data(rows=300, seed=3).customers.to_csv(table, index=False)
    tab.goto("/")
    expect(tab.get_by_text("There is no trained run")).to_be_visible(timeout=LOAD_MS)
    open_upload_page(tab)

    tab.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(table))
    expect(tab.get_by_text("39 columns, 300 rows")).to_be_visible(timeout=LOAD_MS)
    expect(tab.get_by_text("What training will use:")).to_be_visible(timeout=LOAD_MS)  # id and target guessed
    settled(tab)
    aux = tab.locator('[data-testid="stMultiSelect"]').filter(has_text="Aux targets").locator("input")
    aux.click()
    aux.press_sequentially("revenue_next")  # the list is long: type to narrow it, as a person would
    tab.get_by_role("option").filter(has_text=re.compile(r"^revenue_next_12m$")).click()
    tab.keyboard.press("Escape")
    settled(tab)
    guards = tab.locator('[data-testid="stDataFrame"]').filter(has_text="Why")
    expect(guards).to_be_visible()
    expect(tab.locator('[data-testid="stAlertContentError"]')).to_have_count(0)

    tab.get_by_role("button", name="Start training").click()
    progress = tab.locator('[data-testid="stProgress"]')
    expect(progress).to_be_visible(timeout=LOAD_MS)
    expect(tab.locator('[data-testid="stMain"]')).to_contain_text(re.compile(r"… \d+%"))  # stage and share
    expect(tab.get_by_role("button", name="Cancel")).to_be_visible()
    [job] = manager.list_jobs(upload_runs)
    assert job.status.active and job.info.source_name == "team customers.csv"

    done = tab.get_by_text(re.compile(r"team customers\.csv: trained run \d{8}-\d{6}-team-customers-\w{4}"))
    expect(done).to_be_visible(timeout=TRAIN_MS)
    [run] = list_runs(upload_runs)
    assert verify_run(run) == []
    sidebar = tab.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_contain_text("Data: team customers.csv", timeout=LOAD_MS)  # the app reran on it
    sidebar.locator('.st-key-run_picker [data-testid="stSelectbox"]').click()
    option = tab.get_by_role("option").filter(has_text=run.name)
    expect(option).to_contain_text("team customers.csv · 300 rows")
    tab.keyboard.press("Escape")

    tab.get_by_role("button", name="Open this run").click()
    expect(tab.get_by_role("heading", name="Overview", exact=True)).to_be_visible(timeout=LOAD_MS)
    expect(tab).to_have_url(re.compile(rf"run={re.escape(run.name)}"))
    expect(tab.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    assert not (PROJECT / "runs" / ".jobs" / job.id).exists()  # the upload lives only under the runs folder


def test_a_training_outlives_a_server_restart(tab: Page, upload_server: Server, upload_runs: Path,
                                              tmp_path: Path) -> None:
    """The server stops mid-training and starts again: the worker (its own session) trains on, and the new
    server's upload page follows it to the run, which then is in the picker."""
    table = tmp_path / "restart.csv"
    demo_data(rows=300, seed=4).customers.to_csv(table, index=False)
    before = {p.name for p in list_runs(upload_runs)}
    open_upload_page(tab)
    tab.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(table))
    expect(tab.get_by_text("What training will use:")).to_be_visible(timeout=LOAD_MS)
    settled(tab)
    tab.get_by_role("button", name="Start training").click()
    expect(tab.locator('[data-testid="stProgress"]')).to_be_visible(timeout=LOAD_MS)
    [job] = [j for j in manager.list_jobs(upload_runs) if j.info.source_name == "restart.csv"]

    upload_server.stop()
    assert manager.job_status(job.folder).active  # the server is gone, its training is not
    upload_server.start()
    open_upload_page(tab)  # the analyst comes back
    done = tab.get_by_text(re.compile(r"restart\.csv: trained run \d{8}-\d{6}-restart-\w{4}"))
    expect(done).to_be_visible(timeout=TRAIN_MS)
    [run] = [p for p in list_runs(upload_runs) if p.name not in before]
    assert verify_run(run) == [] and manager.job_status(job.folder).run_id == run.name
    settled(tab)
    tab.locator('[data-testid="stSidebar"] .st-key-run_picker [data-testid="stSelectbox"]').click()
    expect(tab.get_by_role("option").filter(has_text=run.name)).to_contain_text("restart.csv · 300 rows")
