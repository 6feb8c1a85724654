"""The package as a new user gets it: `python -m build` on the project's files, the wheel installed on its own
(no source tree), and from a folder outside the clone `insight demo-data`, `insight train` and `insight serve`
serving every page of the dashboard to a real Chromium.

The wheel is installed with `pip install --no-deps --target DIR` and run with PYTHONPATH=DIR: its
dependencies are this environment's, its code only the wheel's (checked through `insight.__file__`).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic"]
APP_FILES = {"app.py", ".streamlit/config.toml", "assets/icon.svg", "assets/logo.svg"}
HEADINGS = {  # sidebar link -> the page's heading
    "Overview": "Overview", "Churn risk": "Churn risk", "Targeting": "Targeting", "Customer": "Customer",
    "Drivers": "Drivers of churn", "Segments": "Segments", "Model quality": "Model quality",
    "Changes": "What changed",
    "Upload and train": "Upload and train",  # listed for analysts: everyone, on 127.0.0.1 without sign-in
}
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SERVER_START_S = 90
PAGE_MS = 90_000
ROWS = 600


def _project_files() -> list[str]:
    """The files a clone holds: tracked ones, plus new ones not yet committed that git does not ignore (in a
    shared working tree other engineers' new modules are not committed yet). Deleted files are left out."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT, check=True, capture_output=True).stdout.decode().split("\0")
    return sorted(f for f in listed if f and (PROJECT / f).is_file())


def test_every_insight_package_is_in_the_wheel_configuration() -> None:
    """pyproject.toml lists the packages (the dashboard is mapped in as insight._app): a new subpackage of
    insight/ missing there would be missing from the wheel."""
    setuptools = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(init.parent.relative_to(PROJECT).parts)
             for init in (PROJECT / "insight").rglob("__init__.py")}
    listed = set(setuptools["packages"])
    assert not found - listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == {"insight._app", "insight._app.pages", "insight._app.assets"}
    assert setuptools["package-dir"] == {"insight._app": "."}


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    site: Path  # the --target folder: the wheel's files and nothing else
    insight: Path  # its console script
    home: Path  # the user's folder outside the clone, where the commands run
    env: dict[str, str]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """`python -m build` (sdist, then the wheel from the sdist) on a copy of the project's files."""
    source, dist = tmp_path_factory.mktemp("clone"), tmp_path_factory.mktemp("dist")
    for name in _project_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT / name, source / name)
    # --no-isolation: setuptools and build come from the test extras, so no download is needed
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist),
                             str(source)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,), (sdist,) = dist.glob("*.whl"), dist.glob("*.tar.gz")
    return Built(wheel=wheel, sdist=sdist)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel alone in a folder of its own, and a user's folder (with its own HOME, so no
    ~/.streamlit/config.toml leaks in) outside the clone."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target",
                    str(site), str(built.wheel)], check=True, timeout=180)
    home = tmp_path_factory.mktemp("newuser")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSIGHT_", "STREAMLIT_", "PYTHON"))}
    # one OpenMP thread: LightGBM's spinning threads crawl on a 2-core machine that other processes share
    env.update(PYTHONPATH=str(site), HOME=str(home), PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1")
    return Installed(site=site, insight=site / "bin" / "insight", home=home, env=env)


def _run(installed: Installed, *args: str, timeout: float = 600) -> str:
    result = subprocess.run([str(a) for a in args], cwd=installed.home, env=installed.env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.slow
def test_the_wheel_ships_the_dashboard_and_not_tests_or_benchmarks(built: Built) -> None:
    names = set(zipfile.ZipFile(built.wheel).namelist())
    pages = {f"insight/_app/pages/{p.name}" for p in (PROJECT / "pages").glob("*.py")}
    modules = {f for f in _project_files() if f.startswith("insight/") and f.endswith((".py", ".typed"))}
    assert pages and pages <= names
    assert {f"insight/_app/{f}" for f in APP_FILES} <= names
    assert modules <= names, f"modules missing from the wheel: {sorted(modules - names)}"
    top = {n.split("/")[0] for n in names}
    assert top == {"insight", "customer_insight-0.1.0.dist-info"}, f"unexpected top-level names: {top}"
    assert not [n for n in names if re.search(r"(^|/)(tests?|benchmarks)/", n)]
    entry_points = zipfile.ZipFile(built.wheel).read("customer_insight-0.1.0.dist-info/entry_points.txt")
    assert b"insight = insight.cli:main" in entry_points
    with tarfile.open(built.sdist) as sdist:  # the wheel was built from it, so it holds the app's files too
        held = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"app.py", "pyproject.toml", *APP_FILES} <= held
    assert not [n for n in held if n.startswith("benchmarks")]


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_the_installed_package_trains_and_serves_every_page(installed: Installed) -> None:
    """From a folder outside the clone: demo data, a training, and the dashboard on it in a real Chromium."""
    where = _run(installed, sys.executable, "-c", "import insight, insight.appfiles as a; "
                                                  "print(insight.__file__); print(a.app_script())").split()
    assert all(Path(p).is_relative_to(installed.site) for p in where), where
    assert Path(where[1]) == installed.site / "insight" / "_app" / "app.py"

    _run(installed, installed.insight, "demo-data", "--out", "data", "--rows", str(ROWS))
    run_id = _run(installed, installed.insight, "train", "data/customers.csv", "--id", "customer_id",
                  "--target", "churned", "--aux", "revenue_next_12m", "--aux", "seat_change_next_12m",
                  "--runs-dir", "runs").strip().splitlines()[-1]
    assert (installed.home / "runs" / run_id / "manifest.json").is_file()

    with _served(installed, "runs") as url:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            assert response.status == 200 and response.read().strip() == b"ok"
        _check_every_page(url, ROWS, installed.home)


def _check_every_page(url: str, rows: int, shots: Path) -> None:
    """Every page in the sidebar opens with its heading, the run's data and no error; the logo (assets/) and
    the theme (.streamlit/config.toml beside app.py) come from the installed package. On a failure the page's
    screenshot is saved in `shots`."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; run `make chromium` "
                    "(never `playwright install`).")
    from playwright.sync_api import Page, expect, sync_playwright

    def settled(tab: Page, heading: str) -> None:
        expect(tab.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=PAGE_MS)
        tab.wait_for_selector(IDLE, timeout=PAGE_MS)
        expect(tab.locator('[data-stale="true"]')).to_have_count(0, timeout=PAGE_MS)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1600, "height": 1000}, base_url=url)
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        try:
            tab.goto("/")
            settled(tab, HEADINGS["Overview"])
            sidebar = tab.locator('[data-testid="stSidebar"]')
            nav = sidebar.locator('[data-testid="stSidebarNav"] a')
            titles = [t.split("\n")[-1] for t in nav.all_inner_texts()]  # the title follows the icon's name
            assert sorted(titles) == sorted(HEADINGS)
            logo = sidebar.get_by_role("img", name="Logo")
            expect(logo).to_be_visible()
            assert logo.evaluate("img => img.complete && img.naturalWidth > 0"), "the logo did not load"
            colour = sidebar.evaluate("e => getComputedStyle(e).backgroundColor")
            assert colour == "rgb(243, 246, 250)", "the theme of .streamlit/config.toml was not applied"
            for link, heading in HEADINGS.items():
                nav.filter(has_text=re.compile(rf"{re.escape(link)}$")).click()
                settled(tab, heading)
                expect(tab.locator('[data-testid="stException"]'), link).to_have_count(0)
                expect(tab.locator('[data-testid="stAlertContentError"]'), link).to_have_count(0)
                expect(sidebar).to_contain_text(f"Data: customers.csv\nCustomers: {rows}")
            assert not errors, f"uncaught JavaScript errors: {errors}"
        except BaseException:
            tab.screenshot(path=str(shots / "failure.png"), full_page=True)
            print(f"screenshot of the failure: {shots / 'failure.png'}")
            raise
        finally:
            browser.close()


class _served:
    """`insight serve --runs-dir DIR --port FREE` run by the user; stopped (its Streamlit child too) on
    exit."""

    def __init__(self, installed: Installed, runs_dir: str) -> None:
        self.installed, self.runs_dir = installed, runs_dir
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.log = installed.home / "serve.log"

    def __enter__(self) -> str:
        with self.log.open("wb") as log:  # its own process group: `insight serve` runs Streamlit as a child
            command = [str(self.installed.insight), "serve", "--runs-dir", self.runs_dir, "--port",
                       str(self.port)]
            self.process = subprocess.Popen(command, cwd=self.installed.home, env=self.installed.env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{self.port}"
        try:
            self._wait_healthy(url)
        except BaseException:
            self.__exit__()
            raise
        return url

    def _wait_healthy(self, url: str) -> None:
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"`insight serve` exited with {self.process.returncode}:\n{self._tail()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        pytest.fail(f"no answer on {url}/_stcore/health within {SERVER_START_S} s:\n{self._tail()}")

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def __exit__(self, *exc: object) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            deadline = time.monotonic() + 15
            try:
                os.killpg(self.process.pid, sig)
                while time.monotonic() < deadline:
                    self.process.poll()  # reap `insight serve`, so that only live members keep the group
                    os.killpg(self.process.pid, 0)
                    time.sleep(0.1)
            except ProcessLookupError:  # every process of the group has exited
                break
        self.process.wait(timeout=15)
