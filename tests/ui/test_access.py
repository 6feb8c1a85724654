"""insight.ui.access in real Streamlit runs (AppTest): the sign-in page, a stranger's refusal, and what
each role may do, with the sign-in settings as the secrets file would give them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from insight.ui import access

from tests.app.appkit import TIMEOUT, assert_clean, new_app

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s" * 32,
        "client_id": "dashboard", "client_secret": "x",
        "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}
STRANGER = "eve@elsewhere.org"
ACCESS = {"analysts": ["ana@example.com"], "viewers": ["@example.com"], "exports": False}


def signed_in(email: str | None) -> dict[str, object]:
    return {"is_logged_in": email is not None, **({"email": email, "email_verified": True} if email else {})}


def app_with(monkeypatch: pytest.MonkeyPatch, runs: Path, user: dict[str, object], *,
             exports: bool = False) -> AppTest:
    for name in ("INSIGHT_ANALYSTS", "INSIGHT_VIEWERS", "INSIGHT_EXPORTS"):
        monkeypatch.delenv(name, raising=False)
    at = new_app(monkeypatch, runs)
    at.secrets["auth"] = AUTH
    at.secrets["insight"] = {"access": {**ACCESS, "exports": exports}}
    at.user = user
    return at.run()


def no_data(at: AppTest) -> None:
    assert not at.metric and not at.dataframe and not at.get("plotly_chart") and not at.sidebar.selectbox


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, demo_run: Path) -> Path:
    import shutil

    folder = tmp_path_factory.mktemp("access-runs")
    shutil.copytree(demo_run, folder / demo_run.name)
    return folder


def test_not_signed_in_sees_only_the_sign_in_button(monkeypatch: pytest.MonkeyPatch, runs: Path) -> None:
    at = app_with(monkeypatch, runs, signed_in(None))
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    no_data(at)


def test_a_stranger_is_refused_with_a_sign_out_button(monkeypatch: pytest.MonkeyPatch, runs: Path) -> None:
    at = app_with(monkeypatch, runs, signed_in(STRANGER))
    assert not at.exception
    assert len(at.error) == 1 and f"`{STRANGER}`" in at.error[0].value
    assert "not allowed" in at.error[0].value
    assert [b.label for b in at.button] == ["Sign out"]
    no_data(at)


def test_an_unverified_address_is_a_stranger(monkeypatch: pytest.MonkeyPatch, runs: Path) -> None:
    unverified = {"is_logged_in": True, "email": "ana@example.com", "email_verified": False}
    at = app_with(monkeypatch, runs, unverified)
    assert len(at.error) == 1 and "not allowed" in at.error[0].value
    no_data(at)


def test_a_viewer_sees_the_overview(monkeypatch: pytest.MonkeyPatch, runs: Path) -> None:
    at = app_with(monkeypatch, runs, signed_in("bob@example.com"))
    assert_clean(at, "overview as a viewer")
    assert at.metric, "the overview shows the run"
    captions = [c.value for c in at.sidebar.caption]
    assert "Signed in as `bob@example.com` · viewer" in captions


def _roles_script() -> None:
    import streamlit as st

    from insight.ui import access

    user = access.current_user()
    st.write(f"role={user.role}")
    for action in ("view", "export", "upload", "train"):
        st.write(f"{action}={access.can(action)}")
    access.require("upload")
    st.write("after require")


def roles(secrets: dict[str, object], user: dict[str, object]) -> tuple[list[str], AppTest]:
    at = AppTest.from_function(_roles_script, default_timeout=TIMEOUT)
    for key, value in secrets.items():
        at.secrets[key] = value
    at.user = user
    at.run()
    assert not at.exception
    return [m.value for m in at.markdown], at


@pytest.mark.parametrize(("email", "exports", "expected"), [
    ("ana@example.com", False, ["role=analyst", "view=True", "export=True", "upload=True", "train=True",
                                "after require"]),
    ("bob@example.com", False, ["role=viewer", "view=True", "export=False", "upload=False", "train=False"]),
    ("bob@example.com", True, ["role=viewer", "view=True", "export=True", "upload=False", "train=False"]),
])
def test_what_each_role_may_do_in_the_app(monkeypatch: pytest.MonkeyPatch, email: str, exports: bool,
                                          expected: list[str]) -> None:
    for name in ("INSIGHT_ANALYSTS", "INSIGHT_VIEWERS", "INSIGHT_EXPORTS"):
        monkeypatch.delenv(name, raising=False)
    shown, at = roles({"auth": AUTH, "insight": {"access": {**ACCESS, "exports": exports}}}, signed_in(email))
    assert shown == expected
    if "after require" not in shown:
        assert len(at.warning) == 1 and "may not upload" in at.warning[0].value


def test_environment_variables_set_the_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHT_ANALYSTS", "bob@example.com")
    monkeypatch.setenv("INSIGHT_EXPORTS", "off")
    shown, _ = roles({"auth": AUTH}, signed_in("bob@example.com"))
    assert shown[:2] == ["role=analyst", "view=True"]


def test_without_signin_everyone_is_an_analyst(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHT_VIEWERS", "@example.com")
    shown, _ = roles({"other": {"x": 1}}, {})
    assert shown == ["role=analyst", "view=True", "export=True", "upload=True", "train=True", "after require"]


@pytest.fixture
def every_interface() -> Iterator[None]:
    """The server's address option as `streamlit run app.py --server.address 0.0.0.0` sets it."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        yield
    finally:
        config.set_option("server.address", before)


def test_beyond_loopback_without_signin_nobody_sees_anything(monkeypatch: pytest.MonkeyPatch, runs: Path,
                                                            every_interface: None) -> None:
    monkeypatch.delenv("INSIGHT_NO_AUTH", raising=False)
    at = new_app(monkeypatch, runs).run()
    assert not at.exception
    assert len(at.error) == 1 and "without sign-in, so it shows nothing" in at.error[0].value
    no_data(at)
    shown, _ = roles({}, {})
    assert shown[:3] == ["role=None", "view=False", "export=False"]


def test_no_auth_serves_everyone_as_an_analyst(monkeypatch: pytest.MonkeyPatch, runs: Path,
                                               every_interface: None) -> None:
    monkeypatch.setenv("INSIGHT_NO_AUTH", "1")  # what `insight serve --no-auth` passes on
    at = new_app(monkeypatch, runs).run()
    assert_clean(at, "overview served with --no-auth")
    assert at.metric


@pytest.mark.parametrize(("email", "exports", "enabled"), [
    ("bob@example.com", False, False), ("bob@example.com", True, True), ("ana@example.com", False, True)])
def test_export_buttons_follow_the_export_setting(monkeypatch: pytest.MonkeyPatch, runs: Path, email: str,
                                                  exports: bool, enabled: bool) -> None:
    from streamlit.runtime.media_file_manager import MediaFileManager

    built: dict[str, object] = {}  # the deferred downloads' data callables, as a browser's click runs them
    register = MediaFileManager.add_deferred

    def add_deferred(self: MediaFileManager, data: object, *args: object, **kwargs: object) -> str:
        built[str(kwargs.get("file_name"))] = data
        return register(self, data, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    at = app_with(monkeypatch, runs, signed_in(email), exports=exports)
    for page in ("pages/risk.py", "pages/targeting.py"):
        at.switch_page(page).run()
        assert_clean(at, page)
        buttons = at.get("download_button")
        assert buttons, f"{page}: no export button"
        assert all(b.proto.disabled is not enabled for b in buttons), page
        assert (access.EXPORTS_OFF in [c.value for c in at.caption]) is not enabled, page
    assert bool(built) or not enabled  # a disabled button registers no download at all
    assert all((len(data()) > 0) is enabled for data in built.values())  # type: ignore[operator]
