"""The frame around every page: page config, logo, navigation, the sidebar's run picker, the states without
a usable run, and the error guard.

Every page starts with `with shell.page("Title") as active:`. That works whether the page runs inside
app.py's `st.navigation` or on its own: Streamlit runs a file in `pages/` directly (its older multipage mode)
when a fresh server's first visitor opens a page's URL, and AppTest does so after `switch_page`. In that
case the page sets up the navigation itself, so it looks and behaves the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.scriptrunner import get_script_run_ctx

from insight.runs.run import resolve_runs_dir
from insight.ui import access, guard, sidebar, widgets
from insight.ui.facade import RunFacade
from insight.ui.demo import demo_button

PAGES = (  # file in pages/, title, icon
    ("overview.py", "Overview", ":material/dashboard:"),
    ("risk.py", "Churn risk", ":material/format_list_numbered:"),
    ("targeting.py", "Targeting", ":material/campaign:"),
    ("customer.py", "Customer", ":material/person_search:"),
    ("drivers.py", "Drivers", ":material/insights:"),
    ("segments.py", "Segments", ":material/scatter_plot:"),
    ("model.py", "Model quality", ":material/verified:"),
    ("changes.py", "Changes", ":material/compare_arrows:"),
)
UPLOAD_PAGE = ("upload.py", "Upload and train", ":material/upload_file:")
"""Listed only for users who may upload (analysts), and only once pages/upload.py exists."""
_OUTSIDE_APP = object()
"""`_CHOICE` outside app.py's run: the page must set up navigation and the sidebar itself."""
_CHOICE: ContextVar[object] = ContextVar("insight_run_choice", default=_OUTSIDE_APP)


def project_root() -> Path:
    """The folder of the main script (app.py): pages/ and assets/ live there (the installed package's
    insight/_app/, or a source checkout's project folder: insight.appfiles)."""
    ctx = get_script_run_ctx()
    if ctx is not None and getattr(ctx, "main_script_path", None):
        return Path(ctx.main_script_path).resolve().parent
    from insight.appfiles import app_folder

    return app_folder()


def navigation() -> StreamlitPage:
    """Page config, logo and the navigation over every page; returns the page to run."""
    root = project_root()
    icon, logo = root / "assets" / "icon.svg", root / "assets" / "logo.svg"
    st.set_page_config(page_title="Customer Insight", layout="wide", initial_sidebar_state="expanded",
                       page_icon=str(icon) if icon.exists() else ":material/insights:")
    guard.configure_logging()
    if logo.exists():
        st.logo(str(logo), icon_image=str(icon) if icon.exists() else None, size="large")
    access.gate()  # sign-in page or a stranger's refusal (st.stop) before any page or data
    entries = list(PAGES)
    if (root / "pages" / UPLOAD_PAGE[0]).is_file() and access.can("upload"):
        entries.append(UPLOAD_PAGE)
    return st.navigation([st.Page(root / "pages" / file, title=title, icon=icon_name, default=i == 0)
                          for i, (file, title, icon_name) in enumerate(entries)])


def run_sidebar() -> sidebar.RunChoice | None:
    """The sidebar's run picker; None when it failed (the guard has shown why)."""
    choice = None
    with guard.page_guard("sidebar"):
        choice = sidebar.run_picker(resolve_runs_dir())
    return choice


@contextmanager
def inside_app(choice: sidebar.RunChoice | None) -> Iterator[None]:
    """Marks a page run started by app.py, which has already set up navigation and the sidebar."""
    token = _CHOICE.set(choice)
    try:
        yield
    finally:
        _CHOICE.reset(token)


@contextmanager
def page(title: str) -> Iterator[RunFacade]:
    """Set up a page and yield the run it shows (the run facade: everything a page asks about the run).

    Without any run it shows how to create one; with a refused run it says why; in both cases the page
    body does not run (st.stop). An exception in the body is logged and shown as a short message.
    """
    choice = _settled_choice()
    if choice is None:
        st.stop()
    if choice.run_id is None:
        widgets.no_run_intro(str(choice.runs_dir))
        if access.can("train"):  # training the demo run is an analyst's
            demo_button(choice.runs_dir)
        st.stop()
    if choice.active is None:
        widgets.run_refused(choice.run_id, choice.error or "")
        st.stop()
    with guard.page_guard(title):
        yield choice.active


@contextmanager
def runless_page(title: str) -> Iterator[Path]:
    """Set up a page that needs no run (the upload page) as `page` does, and yield the runs folder."""
    _settled_choice()
    with guard.page_guard(title):
        yield resolve_runs_dir()


def _settled_choice() -> sidebar.RunChoice | None:
    """The sidebar's choice: app.py's, or (a page opened on its own) made here after setting up navigation."""
    started = _CHOICE.get()
    if started is _OUTSIDE_APP:  # not started by app.py: set up what app.py would have
        navigation()
        return run_sidebar()
    return started if isinstance(started, sidebar.RunChoice) else None  # a failed picker's error shows once
