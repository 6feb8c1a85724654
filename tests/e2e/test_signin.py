"""Sign-in end to end: Streamlit's own st.login against a real OIDC provider on 127.0.0.1, in a real Chromium.

The provider is oidc-provider-mock (an OpenID Connect provider built on Authlib and Flask), served by
werkzeug on a free loopback port in this process; its authorisation page has one button per predefined
user. The dashboard is started the way a user starts it, `insight serve --secrets FILE`, with the [auth]
table pointing at that provider and an [insight.access] table: ana@example.com is an analyst, everyone at
@example.com a viewer (exports off), eve@elsewhere.org is on no list.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from insight.ui.access import EXPORTS_OFF

pytestmark = pytest.mark.e2e

ANALYST, VIEWER, STRANGER = "ana@example.com", "bob@example.com", "eve@elsewhere.org"
NAV = '[data-testid="stSidebarNav"] a'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
LOAD_MS = 90_000
UPLOAD_TITLE = "Upload and train"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A real OIDC provider on 127.0.0.1 (its issuer URL), with the three users predefined."""
    import werkzeug.serving
    from oidc_provider_mock import User, app

    users = [User(sub=email, claims={"email": email, "email_verified": True, "name": email.split("@")[0].title()})
             for email in (ANALYST, VIEWER, STRANGER)]
    server = werkzeug.serving.make_server("127.0.0.1", 0, app(user_claims=users), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def dashboard(provider: str, demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`insight serve --secrets FILE` on a copy of the demo run: its URL. Stopped (Streamlit too) at the end."""
    work = tmp_path_factory.mktemp("signin")
    runs = work / "runs"
    shutil.copytree(demo_run, runs / demo_run.name)
    port = _free_port()
    secrets = work / "secrets.toml"
    secrets.write_text(f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{os.urandom(24).hex()}"
client_id = "customer-insight"
client_secret = "test-client-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[insight.access]
analysts = ["{ANALYST}"]
viewers = ["@example.com"]
exports = false
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHT_")} | {"HOME": str(work)}
    insight = Path(sys.executable).parent / "insight"
    log_path = work / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(insight), "serve", "--secrets", str(secrets), "--port", str(port),
                                    "--runs-dir", str(runs)], cwd=work, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"insight serve exited {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no answer from {url} within 90 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.25)
        yield url
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=15)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue


def settled(page: Page) -> None:
    page.wait_for_selector(IDLE, timeout=LOAD_MS)
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=LOAD_MS)


def sign_in(browser: Browser, dashboard: str, email: str) -> Page:
    """A fresh browser (its own cookies) that signs in as `email` through the provider's page."""
    page = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=dashboard).new_page()
    page.set_default_timeout(30_000)
    page.goto("/")
    expect(page.get_by_text("Sign in with your organisation's account")).to_be_visible(timeout=LOAD_MS)
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(0)  # no data before sign-in
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=email, exact=True).click()  # the provider's authorisation page
    page.wait_for_url(re.compile(rf"^{re.escape(dashboard)}/?(\?.*)?$"), timeout=LOAD_MS)
    settled(page)
    return page


def nav_links(page: Page) -> list[str]:
    """The sidebar's page links by title (a link's text starts with its icon's name)."""
    return [text.strip().splitlines()[-1].strip() for text in page.locator(NAV).all_inner_texts()]


def test_a_stranger_is_refused_and_can_sign_out(browser: Browser, dashboard: str, provider: str) -> None:
    page = sign_in(browser, dashboard, STRANGER)
    expect(page.get_by_text("which is not allowed to see this dashboard")).to_be_visible()
    expect(page.get_by_text(STRANGER)).to_be_visible()
    expect(page.locator('a[href^="mailto:"]')).to_have_count(0)  # the address as text, not as a link
    for data in ('[data-testid="stMetric"]', '[data-testid="stDataFrame"]', ".js-plotly-plot", NAV):
        expect(page.locator(data)).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{provider}/oauth2/end_session?*", timeout=LOAD_MS)  # the provider's sign-out too
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{dashboard}/**", timeout=LOAD_MS)
    page.goto("/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=LOAD_MS)
    page.context.close()


def test_a_viewer_sees_the_pages_but_no_upload_and_no_export(browser: Browser, dashboard: str) -> None:
    page = sign_in(browser, dashboard, VIEWER)
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible(timeout=LOAD_MS)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text(f"Signed in as Bob · {VIEWER} · viewer")
    links = nav_links(page)
    assert "Churn risk" in links and "Segments" in links and UPLOAD_TITLE not in links, links
    page.locator(NAV).filter(has_text=re.compile(r"Churn risk$")).click()
    expect(page.get_by_role("heading", name="Churn risk", exact=True)).to_be_visible(timeout=LOAD_MS)
    settled(page)
    expect(page.get_by_text(EXPORTS_OFF)).to_be_visible()  # exports = false for viewers
    expect(page.get_by_role("button", name=re.compile(r"^Export .* as CSV"))).to_be_disabled()
    page.goto("/upload")  # the upload page's address typed in: no upload for a viewer
    settled(page)
    expect(page.locator('[data-testid="stFileUploader"]')).to_have_count(0)
    expect(page.get_by_role("heading", name=UPLOAD_TITLE)).to_have_count(0)
    page.context.close()


def test_an_analyst_can_upload(browser: Browser, dashboard: str, tmp_path: Path) -> None:
    page = sign_in(browser, dashboard, ANALYST)
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible(timeout=LOAD_MS)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text(f"Signed in as Ana · {ANALYST} · analyst")
    assert UPLOAD_TITLE in nav_links(page)
    page.locator(NAV).filter(has_text=re.compile(rf"{UPLOAD_TITLE}$")).click()
    expect(page.get_by_role("heading", name=UPLOAD_TITLE, exact=True)).to_be_visible(timeout=LOAD_MS)
    settled(page)
    table = tmp_path / "customers.csv"
    table.write_text("customer_id,churned,seats\n" + "".join(f"c{i},{i % 2},{i}\n" for i in range(40)))
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(table))
    expect(page.get_by_text("3 columns, 40 rows")).to_be_visible(timeout=LOAD_MS)  # the upload's preview
    settled(page)
    expect(page.get_by_text("you may not upload")).to_have_count(0)
    page.context.close()
