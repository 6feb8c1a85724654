"""The dashboard's Streamlit layer: the run facade (cached queries), the shared sidebar, widgets and the page
guard.

The only Streamlit code outside app.py and pages/. `context` and `tables` are plain Python (no Streamlit), so
they can be tested and reused without a running app; numbers are formatted by `insight.formatting`.
"""
