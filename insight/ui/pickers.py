"""Choosing one customer: by id search or from the riskiest, remembered in the URL."""

from __future__ import annotations

import streamlit as st

from insight.ui.facade import RunFacade

CUSTOMER_PARAM = "customer"
TOP = 50


def customer_picker(active: RunFacade) -> str | None:
    """A search box and a list (the riskiest customers, or the search's matches); the choice is kept in
    the `customer` query parameter, so a link opens the same customer."""
    search_col, pick_col = st.columns([1, 2])
    search = search_col.text_input("Find by customer id", key="customer_search",
                                   placeholder="Part of an id…")
    if search:
        options = active.search_ids(search, limit=TOP)
        if not options:
            search_col.warning("No customer id contains that text.")
            return None
    else:
        options = list(active.riskiest_ids(TOP))
    wanted = st.query_params.get(CUSTOMER_PARAM)
    if not search and wanted and wanted not in options and active.customer(wanted) is not None:
        options.insert(0, wanted)
    chosen = pick_col.selectbox(
        "Customer" if search else f"Customer (the {TOP} riskiest are listed; search to find others)", options,
        index=options.index(wanted) if wanted in options else 0, key="customer_pick")
    if chosen and chosen != wanted:
        st.query_params[CUSTOMER_PARAM] = chosen
    return chosen
