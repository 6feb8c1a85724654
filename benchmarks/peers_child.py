"""One peer, built on the run's model and rows, in the peers' environment (benchmarks/peers.py starts it).

    <peers-venv>/bin/python benchmarks/peers_child.py explainerdashboard|shapash PREPARED_JSON OUT_JSON

Standalone: it imports neither insight nor benchmarks (they are not installed there), only numpy, pandas,
lightgbm and the peer. The model is the run's churn_model.txt loaded as a lightgbm.Booster and set into an
sklearn LGBMClassifier: the classifier is first fitted for one tree on a few of the same rows (so that the
scikit-learn state, classes, feature names and count, is set by LightGBM itself), then its booster is replaced
by the run's. The rows are the run's model matrix (one float column per feature; categories as the integer
codes the booster splits on) and the churn labels.

Seconds count from the process's start (INSIGHT_BENCH_STARTED, set by the parent) to the peer being built;
after that, outside the timing, the classifier's raw scores and the peer's SHAP values are compared with the
run's (max absolute difference), and the result is written as JSON.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

STARTED = float(os.environ.get("INSIGHT_BENCH_STARTED", time.time()))
# Run as a script, its folder (benchmarks/, which has a shap.py) would come first on sys.path and hide the real
# shap from the peers.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
log = logging.getLogger("peers_child")


def high_water_gb() -> float:
    """This process's peak resident memory so far (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) * 1024 / 1e9, 2)
    return 0.0


def classifier(booster: Any, X: Any, y: Any) -> Any:
    """An sklearn LGBMClassifier that predicts with `booster` (the run's model, unchanged)."""
    import lightgbm as lgb
    import numpy as np

    first = np.flatnonzero(y.to_numpy() == 0)[:50].tolist() + np.flatnonzero(y.to_numpy() == 1)[:50].tolist()
    model = lgb.LGBMClassifier(n_estimators=1, num_leaves=2, min_child_samples=1, verbose=-1)
    model.fit(X.iloc[first], y.iloc[first])
    if list(model.booster_.feature_name()) != list(booster.feature_name()):
        raise ValueError("the model matrix's columns are not the run's features")
    model._Booster = booster  # the run's model; everything else the one-tree fit set stays right
    model.set_params(n_estimators=booster.num_trees())
    return model


def build(tool: str, model: Any, X: Any, y: Any, phases: dict[str, float]) -> Any:
    mark = time.time()
    if tool == "explainerdashboard":
        from explainerdashboard import ClassifierExplainer, ExplainerDashboard

        phases["import peer"] = time.time() - mark
        mark = time.time()
        explainer = ClassifierExplainer(model, X, y, model_output="logodds")
        phases["ClassifierExplainer"] = time.time() - mark
        mark = time.time()
        ExplainerDashboard(explainer, shap_interaction=False)
        phases["ExplainerDashboard"] = time.time() - mark
        return explainer
    if tool == "shapash":
        from shapash import SmartExplainer

        phases["import peer"] = time.time() - mark
        mark = time.time()
        explainer = SmartExplainer(model=model)
        explainer.compile(x=X, y_target=y)
        phases["compile"] = time.time() - mark
        return explainer
    raise ValueError(f"unknown peer {tool!r}: explainerdashboard or shapash")


def shap_of(tool: str, explainer: Any) -> Any:
    """The peer's SHAP values of the positive class, one column per feature, as a DataFrame."""
    if tool == "explainerdashboard":
        return explainer.get_shap_values_df()
    contributions = explainer.explainer.contributions  # SmartExplainer keeps them on its inner Explainer
    return contributions[-1] if isinstance(contributions, list) else contributions


def main(tool: str, prepared: str, out: str) -> int:
    phases: dict[str, float] = {}
    mark = time.time()
    import lightgbm as lgb
    import numpy as np
    import pandas as pd

    phases["start and import"] = time.time() - STARTED
    mark = time.time()
    info = json.loads(open(prepared).read())
    frame = pd.read_parquet(info["matrix"])
    X = frame[info["features"]]
    y = frame[info["target"]].astype("int64")
    model = classifier(lgb.Booster(model_file=info["model"]), X, y)
    phases["read model and rows"] = time.time() - mark
    explainer = build(tool, model, X, y, phases)
    seconds = time.time() - STARTED
    peak = high_water_gb()
    checks: dict[str, Any] = {}
    try:  # outside the timing: the same model, the same explanation
        raw = model.predict(X, raw_score=True)
        checks["raw_score_max_diff"] = float(np.max(np.abs(raw - frame[info["raw_score"]].to_numpy())))
        reference = pd.read_parquet(info["reference_shap"])
        values = pd.DataFrame(shap_of(tool, explainer)).reindex(columns=info["features"])
        checks["shap_max_diff"] = float(np.nanmax(np.abs(values.to_numpy(dtype=np.float64)
                                                         - reference.to_numpy(dtype=np.float64))))
        checks["shap_rows"] = int(len(values))
    except Exception as e:  # noqa: BLE001 - a check that cannot run is reported, the figures stand
        log.exception("checking %s against the run failed", tool)
        checks["error"] = f"{type(e).__name__}: {e}"[:300]
    import importlib.metadata as metadata

    result = {"tool": tool, "seconds": round(seconds, 2), "phases": {k: round(v, 2) for k, v in phases.items()},
              "peak_gb_when_ready": peak, "checks": checks,
              "versions": {n: metadata.version(n) for n in (tool, "lightgbm", "shap", "pandas")}}
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main(*sys.argv[1:4]))
