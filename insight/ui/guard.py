"""Keep Python tracebacks away from stakeholders: a failing page is logged in full and shown as a short
message."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from insight.errors import InputError, RunError
from insight.formatting import markdown_text

log = logging.getLogger("insight.ui")

FRIENDLY_PREFIX = "Sorry, this page could not be shown"


@contextmanager
def page_guard(page: str) -> Iterator[None]:
    """Run a page; any exception is logged with its traceback and shown as one friendly st.error.

    Streamlit's own control flow (st.stop, st.rerun, page switches) is not an Exception and passes through.
    """
    try:
        yield
    except (RunError, InputError) as e:  # messages written for people: show them as they are
        log.warning("page %s: %s", page, e)
        st.error(f"{FRIENDLY_PREFIX}. {markdown_text(e)}", icon=":material/error:")
    except Exception:
        log.exception("page %s failed", page)
        st.error(f"{FRIENDLY_PREFIX} because of an unexpected problem. The details were written to the "
                 "server log; try another page or run, or reload.", icon=":material/error:")


def configure_logging(level: int = logging.INFO) -> None:
    """Send the library's and the dashboard's log records to the server's stderr (once per process)."""
    logger = logging.getLogger("insight")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)
