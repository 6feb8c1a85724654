"""The dashboard's report download: the same self-contained HTML file as `insight report`, built only when
someone asks for it ("Prepare report"), once per run version, and only for users who may export."""

from __future__ import annotations

import logging

import streamlit as st

from insight.ui import access
from insight.ui.facade import RunFacade

log = logging.getLogger(__name__)

PREPARE_KEY = "report_prepare"
DOWNLOAD_KEY = "report_download"


@st.cache_resource(max_entries=4, show_spinner="Writing the report (a few seconds)…")
def report_bytes(run_id: str, version: str, _run: RunFacade) -> bytes:
    """The report of the run shown (insight.report.build.report_html) as UTF-8, built once per run id and
    version of its files, shared by every session (read-only bytes); `_run` is not part of the key."""
    from insight.report.build import report_html

    del run_id, version  # the cache key only
    return report_html(_run).encode("utf-8")


def ready_key(run_id: str) -> str:
    """The session-state flag that this session asked for the report of `run_id`."""
    return f"report_ready_{run_id}"


def _asked(run_id: str) -> None:
    if access.can("export"):
        st.session_state[ready_key(run_id)] = True


def report_download(run: RunFacade) -> None:
    """A "Prepare report" button, then the report's download button; disabled, with the reason, for a user
    who may not export (access.can("export"), asked when the page renders)."""
    st.subheader("Report for people who do not open the dashboard")
    st.caption("One HTML file with this page's figures, the segments and their profiles, the drivers and "
               "model quality. It opens in any browser without a network (plotly.js is inside it, so it is "
               "about 5 MB); `insight report` writes the same file.")
    exports = access.can("export")
    ready = exports and bool(st.session_state.get(ready_key(run.id)))
    if not ready:  # the click's callback sets the flag before the rerun, which then shows the download
        st.button("Prepare report", key=PREPARE_KEY, icon=":material/description:", disabled=not exports,
                  on_click=_asked, args=(run.id,),
                  help="Build the report of this run; its download appears here when it is ready.")
    else:
        data = report_bytes(run.id, run.key, run)
        log.info("report of run %s offered (%d bytes)", run.id, len(data))
        st.download_button(f"Download the report (HTML, {len(data) / 1e6:.1f} MB)", data=data,
                           file_name=f"report-{run.id}.html",
                           mime="text/html", key=DOWNLOAD_KEY, on_click="ignore", icon=":material/download:")
    if not exports:
        st.caption(access.EXPORTS_OFF)
