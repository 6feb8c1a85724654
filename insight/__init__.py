"""Customer insight: churn risk, SHAP explanations and target-aware segments.

The library keeps heavy imports (torch, umap, shap, lightgbm) inside the functions that need them, so that
the dashboard can import `insight` modules without paying for them.
"""

__version__ = "0.1.0"
