"""insight.models.quality: what the Model quality page shows, measured on a real run's test customers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from insight.models.metrics import head_kinds
from insight.models.quality import MODELS, at_threshold, scope_quality, scope_rows, segment_sizes
from insight.runs.run import open_run
from insight.runs.store import RunStore


@pytest.fixture(scope="module")
def test_frame(demo_store: RunStore, demo_run: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    kinds = head_kinds(open_run(demo_run).manifest.multitask_metrics, target="churned")
    return demo_store.test_frame(aux=list(kinds)), kinds


def test_every_test_customer_and_each_segment(test_frame: tuple[pd.DataFrame, dict[str, str]],
                                              demo_store: RunStore) -> None:
    frame, kinds = test_frame
    sizes = segment_sizes(frame)
    assert sum(sizes.values()) == len(frame)
    quality = scope_quality(frame, kinds=kinds, train_means={})
    assert quality is not None and quality.customers == len(frame) and quality.both_outcomes
    assert quality.metrics["roc_auc"] == pytest.approx(roc_auc_score(quality.y, quality.p))
    assert set(quality.scores) == {MODELS[c] for c in MODELS if c in frame.columns} and not quality.missing
    biggest = max(sizes, key=sizes.get)
    rows = scope_rows(frame, biggest)
    assert len(rows) == sizes[biggest] and (rows["segment_id"] == biggest).all()
    assert scope_quality(frame.iloc[:0], kinds=kinds, train_means={}) is None


def test_heads_are_measured_against_the_training_mean(test_frame: tuple[pd.DataFrame, dict[str, str]],
                                                      demo_store: RunStore) -> None:
    frame, kinds = test_frame
    means = demo_store.train_means([k for k, v in kinds.items() if v == "regression"])
    heads = scope_quality(frame, kinds=kinds, train_means=means).heads
    assert set(heads["target"]) == set(kinds) and heads["beats"].notna().all()


def test_at_a_threshold(test_frame: tuple[pd.DataFrame, dict[str, str]]) -> None:
    frame, kinds = test_frame
    quality = scope_quality(frame, kinds=kinds, train_means={})
    flagged = at_threshold(quality, 0.3)
    assert flagged.report["flagged"] == int((quality.p >= 0.3).sum())
    assert flagged.report["tp"] == int(((quality.p >= 0.3) & (quality.y == 1)).sum())
    assert flagged.comparison["model"].tolist() == list(quality.scores)
    assert np.isclose(flagged.comparison["share_flagged"].iloc[0], (quality.p >= 0.3).mean())
