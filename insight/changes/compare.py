"""What changed between two runs (`insight compare`, the Changes page): one JSON-ready dict.

Run A is the earlier one (the reference), B the newer. Keys:

- `runs`: {a, b}: id, created, source, rows, customers, id column, target, and the as-of date and snapshot
  of runs trained with a time column (insight.changes.sides.describe);
- `metrics`: the churn model's metrics side by side (held-out test, out of time when recorded), churn rates
  and segment counts (insight.changes.metrics);
- `feature_drift`: every feature both runs have, worst first (insight.monitoring.drift.FeatureDrift.to_dict:
  feature, psi, test, p_value, p_adjusted, drifted, ...), A's customers the reference, B's the current;
  `drift_method` says how it was measured and `features_only_in` lists features one run lacks;
- `risk_shift`: mean predicted churn probability, band counts and shares, histograms, and for customers in
  both runs the mean change and band moves (insight.changes.risk);
- `drivers`: global mean |SHAP| per feature in each run and the change, the largest change first;
- `segment_transitions`: segment migration of the customers in both runs (insight.changes.transitions);
- `became_high_risk`: customers in both runs whose band rose into the top bands, with the features whose SHAP
  value moved most;
- `notes`: caveats a reader should know (different targets, no customers in common, ...).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from insight.changes.metrics import driver_change, metrics_side_by_side
from insight.changes.risk import became_high_risk, overlap, risk_shift
from insight.changes.sides import KEY, RunSide, describe, load_side, segment_identity
from insight.changes.transitions import segment_transitions
from insight.errors import InputError
from insight.monitoring import drift
from insight.runs.run import jsonable

log = logging.getLogger(__name__)


def compare_runs(run_a: Path, run_b: Path) -> dict[str, Any]:
    """Everything that changed from run A (earlier, the reference) to run B (newer); RunError when either run
    is damaged, InputError when they cannot be compared (different id columns, no features in common)."""
    a, b = load_side(Path(run_a)), load_side(Path(run_b))
    return compare_sides(a, b)


def compare_sides(a: RunSide, b: RunSide) -> dict[str, Any]:
    """`compare_runs` of two loaded runs."""
    check_comparable(a, b)
    notes = []
    if a.manifest.spec.target != b.manifest.spec.target:
        notes.append(f"The runs predict different targets ({a.manifest.spec.target!r} in A, "
                     f"{b.manifest.spec.target!r} in B): their metrics and risks measure different things.")
    both = overlap(a, b)
    only_a = int((~a.customers[KEY].isin(b.customers[KEY])).sum())
    only_b = int((~b.customers[KEY].isin(a.customers[KEY])).sum())
    if both.empty:
        notes.append("No customer is in both runs (ids compared as text): segment migration and customers who "
                     "became high-risk need customers in common.")
    features = common_features(a, b)
    kinds = {f: b.roles.get(f) or a.roles.get(f) for f in features}
    kinds = {f: k for f, k in kinds.items() if k in drift.KIND_ALIASES}
    drifted = drift.feature_drift(a.customers, b.customers, kinds, columns=features)
    result = {
        "runs": {"a": describe(a), "b": describe(b)},
        "metrics": metrics_side_by_side(a.manifest, b.manifest),
        "feature_drift": [d.to_dict() for d in drifted],
        "drift_method": {
            "reference": "A's customers", "current": "B's customers", "score": "psi",
            "psi": f"{drift.BINS} quantile bins of A (numbers and dates) or A's categories, plus missing and "
                   "new-category bins", "tests": "Kolmogorov-Smirnov (numbers, dates), chi-squared (categories)",
            "correction": drift.CORRECTION, "alpha": drift.ALPHA, "min_psi": drift.MIN_PSI,
            "max_test_rows": drift.MAX_TEST_ROWS, "flagged": sum(d.drifted for d in drifted)},
        "features_only_in": {"a": [f for f in a.features if f not in set(features)],
                             "b": [f for f in b.features if f not in set(features)]},
        "risk_shift": risk_shift(a, b, both),
        "drivers": driver_change(a.manifest, b.manifest),
        "segment_transitions": segment_transitions(both, only_a=only_a, only_b=only_b,
                                                   identity=segment_identity(b), run_a=a.id),
        "became_high_risk": became_high_risk(a, b, both),
        "notes": notes,
    }
    log.info("compared run %s with %s: %d customers in both, %d features drifted", a.id, b.id, len(both),
             result["drift_method"]["flagged"])
    return jsonable(result)


def common_features(a: RunSide, b: RunSide) -> list[str]:
    """The features both runs have, in B's order."""
    in_a = set(a.features)
    return [f for f in b.features if f in in_a]


def check_comparable(a: RunSide, b: RunSide) -> None:
    """InputError unless both runs identify customers by the same column and share at least one feature."""
    ida, idb = a.id_column, b.id_column
    if ida != idb:
        raise InputError(f"runs {a.id} and {b.id} identify customers by different columns ({ida!r} in A, {idb!r} "
                         "in B): compare runs trained on the same kind of table.")
    if not common_features(a, b):
        raise InputError(f"runs {a.id} and {b.id} have no feature in common, so nothing can be compared: compare "
                         "runs trained on the same kind of table.")
