"""Plotly figures: pure functions of frames, no I/O and no Streamlit (the customer map in its own module)."""
