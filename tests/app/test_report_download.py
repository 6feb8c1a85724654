"""The Overview page's report download (insight.ui.report_download) in real Streamlit runs (AppTest): built
only when asked, the same file as `insight report`, kept across reruns, and disabled with the reason for a
viewer whose exports are off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from appkit import TIMEOUT, assert_clean, new_app, open_page
from streamlit.testing.v1 import AppTest

from insight import formatting as fmt
from insight.report.template import GENERATOR
from insight.runs.run import open_run
from insight.ui import access
from insight.ui.report_download import PREPARE_KEY, ready_key

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s" * 32,
        "client_id": "dashboard", "client_secret": "x",
        "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}


@pytest.fixture()
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The data of every HTML file the app hands Streamlit's media file manager for a download, by name."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    files: dict[str, bytes] = {}
    add = MediaFileManager.add

    def capture(self: MediaFileManager, data: Any, *args: Any, **kwargs: Any) -> str:
        name = kwargs.get("file_name") or ""
        if str(name).endswith(".html"):
            files[str(name)] = data if isinstance(data, bytes) else bytes(data)
        return add(self, data, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", capture)
    return files


def prepare_button(at: AppTest) -> Any:
    buttons = [b for b in at.button if b.key == PREPARE_KEY]
    return buttons[0] if buttons else None


def test_the_report_is_built_when_asked_and_is_the_runs_report(monkeypatch: pytest.MonkeyPatch,
                                                               app_runs: Path, telco_run: Path,
                                                               served: dict[str, bytes]) -> None:
    at = open_page(monkeypatch, app_runs, telco_run, "pages/overview.py")
    button = prepare_button(at)
    assert button is not None and not button.disabled
    assert not at.get("download_button") and not served  # nothing built before the click
    button.click().run()
    assert_clean(at, "overview after Prepare report")
    downloads = at.get("download_button")
    assert len(downloads) == 1 and "MB)" in downloads[0].proto.label
    name = f"report-{telco_run.name}.html"
    assert list(served) == [name]
    html = served[name].decode("utf-8")
    assert f'<meta name="generator" content="{GENERATOR}">' in html[:4096]
    assert fmt.score(open_run(telco_run).manifest.test_metrics["roc_auc"]) in html
    assert prepare_button(at) is None  # the download replaces the button
    at.run()  # another rerun of the page: the download stays, from the cache
    assert_clean(at, "overview rerun")
    assert len(at.get("download_button")) == 1 and prepare_button(at) is None


def test_a_viewer_without_exports_sees_the_button_disabled_and_why(monkeypatch: pytest.MonkeyPatch,
                                                                   app_runs: Path, telco_run: Path,
                                                                   served: dict[str, bytes]) -> None:
    for name in ("INSIGHT_ANALYSTS", "INSIGHT_VIEWERS", "INSIGHT_EXPORTS"):
        monkeypatch.delenv(name, raising=False)
    at = new_app(monkeypatch, app_runs)
    at.secrets["auth"] = AUTH
    at.secrets["insight"] = {"access": {"analysts": ["ana@example.com"], "viewers": ["@example.com"],
                                        "exports": False}}
    at.user = {"is_logged_in": True, "email": "bob@example.com", "email_verified": True}
    at.run(timeout=TIMEOUT)
    at.switch_page("pages/overview.py").run()
    assert_clean(at, "overview as a viewer")
    button = prepare_button(at)
    assert button is not None and button.disabled
    assert access.EXPORTS_OFF in [c.value for c in at.caption]
    at.session_state[ready_key(telco_run.name)] = True  # even a forged request builds nothing
    at.run()
    assert_clean(at, "overview as a viewer, forged request")
    assert not at.get("download_button") and not served
