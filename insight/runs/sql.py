"""SQL text for the store's DuckDB queries: the views a run's tables are read through, and quoting."""

from __future__ import annotations

CUSTOMERS = "customers"
SHAP = "shap"
SAMPLE_VIEW = "map_sample"
"""The map's random sample of a large run (map.parquet); the same view as CUSTOMERS when there is none."""
SAMPLE_SHAP_VIEW = "shap_sample"
"""SHAP values of the map's sample (map_shap.parquet); the same view as SHAP when there is none."""


def quote_ident(name: str) -> str:
    """A SQL identifier in double quotes, inner quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A SQL string literal (used only for file paths the program chose, never for user input)."""
    return "'" + str(text).replace("'", "''") + "'"
