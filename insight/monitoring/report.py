"""The monitoring report of a scored batch (_monitoring.json, written by `insight score` beside its output).

It says, for one batch scored with one run: how far every feature has drifted from the customers the run
was fitted on (`insight.monitoring.drift.feature_drift`; the reference is the run's customers.parquet rows of
the train and valid splits, or, for a run trained on snapshots (`--time`), which stores only its latest
snapshot's customers, those), how well the model is expected to do on the batch without labels
(`insight.monitoring.performance.estimate_performance`: CBPE at the Targeting page's default cut), and, when
the batch carries its churn labels (`insight score ... --labels COL`), how well it did, beside the estimate.

It is computed on the driver after the partitions are scored, on either engine: the probabilities come from
the written parts (`part.<i>.parquet`), the features and labels from the input parts read again and cleaned
the way scoring cleaned them (`insight.data.rows.clean_rows`). Drift is measured on at most
MAX_DRIFT_ROWS customers of the batch (a seeded sample spread over the parts); the performance figures use
every customer.

    {"kind": "insight monitoring report", "run_id", "created", "data", "engine", "rows",
     "threshold": {"value", "definition"},
     "reference": {"rows", "splits": the splits used, [] for every customer the run stores},
     "drift": {"features", "drifted", "rows", "columns": [FeatureDrift.to_dict(), worst first]},
     "estimated": Performance.to_dict(),
     "labels": {"column", "known"} | null, "realised": Performance.to_dict() | null,
     "difference": {"roc_auc", "precision", "recall", "churn_rate": estimated - realised} | null,
     "estimated_labelled": the estimate on the labelled customers only, when some outcomes are blank
                           (the difference is taken on those)}
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from insight.errors import InputError

if TYPE_CHECKING:
    from insight.data.sources import Source

log = logging.getLogger(__name__)

MONITORING_FILE = "_monitoring.json"
"""Its leading underscore keeps Parquet readers (pandas, pyarrow, Dask) from taking it for a part of the
scores, as the score marker's."""
KIND = "insight monitoring report"
MAX_DRIFT_ROWS = 200_000
REFERENCE_SPLITS = ("train", "valid")
"""The customers the run's models were fitted on (the test split is held out, unlabelled rows unused)."""
THRESHOLD_DEFINITION = ("the Targeting page's default cut: customers whose churn probability is at least the "
                        "break-even probability of its default offer (cost a tenth of a kept customer's value, "
                        "30 % of contacted churners saved), 1/3")
COMPARED = ("roc_auc", "precision", "recall", "churn_rate")


def check_label_column(parts: Sequence[Source], labels: str, *, where: Any = None) -> None:
    """InputError unless every input part holds the column `labels` (before anything is scored)."""
    for part in parts:
        columns = part.columns()
        if labels not in columns:
            from insight.data.schema import _did_you_mean

            hint = _did_you_mean(labels, pd.Index(columns))
            raise InputError(f"--labels {labels!r} is not a column of {where or part.name}{hint}; give the column "
                             "that holds the batch's churn outcome (the values the run's target had).")


def data_name(data: str | Path) -> str:
    """The name of the scored data as it may be recorded: a database URL without its password."""
    from insight.data.warehouse import masked_url

    return masked_url(str(data))


def reference_features(run_path: Path, names: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """The run's fitted customers' feature values (customers.parquet, splits REFERENCE_SPLITS, else every
    customer when the run has none of them: a run trained on snapshots keeps only its latest snapshot's
    customers, all of them test or unlabelled) and the splits used ([] for every customer)."""
    import pyarrow.parquet as pq

    from insight.runs import layout

    path = Path(run_path) / layout.CUSTOMERS
    present = set(pq.read_schema(path).names)
    columns = [n for n in names if n in present]
    if len(columns) < len(names):
        log.warning("the run's customers lack feature column(s) %s; their drift is not measured",
                    sorted(set(names) - present))
    table = pd.read_parquet(path, columns=columns + ([layout.SPLIT] if layout.SPLIT in present else []))
    if layout.SPLIT in table:
        fitted = table[layout.SPLIT].isin(REFERENCE_SPLITS)
        if fitted.any():
            used = sorted(set(table.loc[fitted, layout.SPLIT]))
            return table.loc[fitted, columns].reset_index(drop=True), used
    return table[columns], []


def _batch(run_path: Path, parts: Sequence[Source], scored: Path, labels: str | None, positive: str,
           seed: int) -> tuple[np.ndarray, pd.DataFrame, np.ndarray | None]:
    """Every customer's probability, a sample of the cleaned features, every customer's label (or None)."""
    from insight.batch.scoring import load_scoring_run, part_name
    from insight.data.rows import clean_rows
    from insight.monitoring.performance import batch_labels
    from insight.runs import layout

    info = load_scoring_run(str(run_path))
    cap = math.ceil(MAX_DRIFT_ROWS / max(1, len(parts)))
    probabilities, features, outcomes = [], [], []
    for i, part in enumerate(parts):
        out = pd.read_parquet(scored / part_name(i), columns=[info.id_column, layout.CHURN_PROBABILITY])
        frame = part.read()
        if len(frame) != len(out):
            raise InputError(f"{part.name} changed while it was scored ({len(out)} rows scored, {len(frame)} now); "
                             "score it again when it is no longer being written.")
        probabilities.append(out[layout.CHURN_PROBABILITY].to_numpy(dtype=float))
        if labels is not None:
            outcomes.append(batch_labels(frame[labels], labels, positive))
        clean = clean_rows(frame, info.fmap, ids=frame[info.id_column])
        if len(clean) > cap:
            clean = clean.sample(cap, random_state=seed + i)
        features.append(clean.reset_index(drop=True))
    p = np.concatenate(probabilities) if probabilities else np.array([], dtype=float)
    sample = pd.concat(features, ignore_index=True) if features else pd.DataFrame(columns=info.fmap.names)
    y = (np.concatenate(outcomes) if outcomes else np.array([], dtype=float)) if labels is not None else None
    return p, sample, y


def batch_report(run_path: Path, parts: Sequence[Source], scored: Path, *, data: str | Path, engine: str,
                 labels: str | None = None, threshold: float | None = None, seed: int = 0) -> dict[str, Any]:
    """The monitoring report (module docstring) of the batch `parts` whose scores are in the folder `scored`.

    InputError when the `labels` column cannot be read as the run's churn outcome."""
    from insight.batch.scoring import load_scoring_run
    from insight.decisions.targeting import default_threshold
    from insight.monitoring.drift import feature_drift
    from insight.monitoring.performance import estimate_performance, realised_performance
    from insight.runs import layout
    from insight.runs.run import jsonable, open_run

    run_path = Path(run_path)
    info = load_scoring_run(str(run_path))
    positive = str(open_run(run_path, verify=False).json(layout.FEATURES).get("schema", {}).get("positive_label",
                                                                                                 "1"))
    cut = default_threshold() if threshold is None else float(threshold)
    p, current, y = _batch(run_path, parts, Path(scored), labels, positive, seed)
    reference, splits = reference_features(run_path, info.fmap.names)
    kinds = {f.name: str(f.role) for f in info.fmap.features if f.name in reference.columns}
    drift = feature_drift(reference, current, kinds) if len(current) and len(reference) else []
    estimated = estimate_performance(p, cut)
    body: dict[str, Any] = {
        "kind": KIND, "run_id": info.run_id, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": data_name(data), "engine": engine, "rows": int(len(p)),
        "threshold": {"value": cut, "definition": THRESHOLD_DEFINITION if threshold is None else "given"},
        "reference": {"rows": int(len(reference)), "splits": splits},
        "drift": {"features": len(drift), "drifted": sum(d.drifted for d in drift), "rows": int(len(current)),
                  "columns": [d.to_dict() for d in drift]},
        "estimated": estimated.to_dict(), "labels": None, "realised": None, "difference": None}
    if y is not None:
        realised = realised_performance(y, p, cut)
        assert labels is not None
        body["labels"] = {"column": labels, "known": realised.rows}
        body["realised"] = realised.to_dict()
        same = estimated
        if realised.rows < len(p):  # the difference compares the same customers: those whose outcome is known
            same = estimate_performance(p[~np.isnan(y)], cut)
            body["estimated_labelled"] = same.to_dict()
        body["difference"] = {k: getattr(same, k) - getattr(realised, k) for k in COMPARED}
    log.info("monitoring: %d customers, %d of %d features drifted, estimated AUC %.3f%s", len(p),
             body["drift"]["drifted"], len(drift), estimated.roc_auc,
             "" if y is None else f", realised {body['realised']['roc_auc']}")
    return jsonable(body)


def write_report(folder: Path, report: dict[str, Any]) -> Path:
    """Write `report` as MONITORING_FILE into `folder` (a temporary score output folder)."""
    path = Path(folder) / MONITORING_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path


def summary(report: dict[str, Any], *, top: int = 5) -> dict[str, Any]:
    """The part of a report a batch record keeps: rows, threshold, estimated and realised figures, the number
    of drifted features and the `top` worst (feature, psi, level, drifted)."""
    columns = report["drift"]["columns"]
    return {"rows": report["rows"], "threshold": report["threshold"]["value"], "estimated": report["estimated"],
            "realised": report["realised"], "difference": report["difference"], "labels": report["labels"],
            "drift": {"features": report["drift"]["features"], "drifted": report["drift"]["drifted"],
                      "top": [{k: c[k] for k in ("feature", "psi", "level", "drifted", "p_adjusted")}
                              for c in columns[:top]]}}


def describe(report: dict[str, Any]) -> str:
    """One line for the terminal: the estimate (and the realised figures), and the drifted features."""
    from insight import formatting as fmt

    est, real = report["estimated"], report["realised"]

    def figures(m: dict[str, Any]) -> str:
        return (f"AUC {fmt.score(m['roc_auc'])}, precision {fmt.pct(m['precision'])}, recall "
                f"{fmt.pct(m['recall'])}, churn rate {fmt.pct(m['churn_rate'])}")

    drift = report["drift"]
    worst = [c["feature"] for c in drift["columns"] if c["drifted"]][:3]
    line = (f"monitoring: estimated {figures(est)} at a {fmt.pct(report['threshold']['value'])} cut"
            + (f"; realised {figures(real)}" if real else "")
            + f"; {drift['drifted']} of {drift['features']} features drifted"
            + (f" ({', '.join(worst)})" if worst else ""))
    return line
