"""How the run facade's queries are cached (insight.ui.facade): Streamlit's cache decorators with the hash
functions for the two arguments Streamlit cannot hash quickly: the facade itself (by its run's fingerprint, so
that a changed run is verified and queried again) and a `RiskFilter` (by its text, exact and fast even for a
filter holding a lasso's 100,000 ids)."""

from __future__ import annotations

import functools
from typing import Any

import streamlit as st

from insight.runs.tables import RiskFilter

HASH_FUNCS: dict[Any, Any] = {"insight.ui.facade.RunFacade": lambda run: run.key, RiskFilter: repr}
data = functools.partial(st.cache_data, hash_funcs=HASH_FUNCS, show_spinner=False)
resource = functools.partial(st.cache_resource, hash_funcs=HASH_FUNCS, show_spinner=False)
