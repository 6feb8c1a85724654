"""The dashboard's Streamlit layer: cached loaders, the shared sidebar, widgets and the page guard.

The only Streamlit code outside app.py and pages/. `context` and `format` are plain Python (no Streamlit), so
they can be tested and reused without a running app.
"""
