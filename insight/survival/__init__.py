"""Survival analysis: when customers leave and what it costs (issue 16).

person_period.py (the interval grid and person-period rows), encoding.py (frame -> matrices for trees and for
Cox), hazard.py (the discrete-time hazard model on LightGBM: survival curves, churn within horizons,
restricted mean lifetime, value lost, exact SHAP), baselines.py (Cox PH and Kaplan-Meier, lifelines),
metrics.py (concordance, Brier scores and calibration at horizons, scikit-survival), evaluate.py
(cross-validation of the three models).

Not wired into the CLI, the pipeline or the runs yet.
"""
