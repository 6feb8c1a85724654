"""insight.models.rolling: rolling-origin evaluation on demo snapshots (tests/conftest.py's snapshot_table),
with real LightGBM, torch and the logistic baseline fitted at each origin."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from insight.data.demo import demo_spec
from insight.errors import InputError
from insight.models.evaluate import METRICS, MODELS
from insight.models.rolling import rolling_origin


def _spec():  # noqa: ANN202
    return dataclasses.replace(demo_spec(), time_column="snapshot_date")


def cut(table: pd.DataFrame, date: str, churners: int, stayers: int) -> pd.DataFrame:
    """`table` with snapshot `date` cut down to its first `churners` churners and `stayers` stayers."""
    month = table["snapshot_date"] == date
    churned = table["churned"].eq("Yes")
    keep = np.r_[np.flatnonzero(month & churned)[:churners], np.flatnonzero(month & ~churned)[:stayers]]
    return pd.concat([table.iloc[np.sort(keep)], table[~month]], ignore_index=True)


def small_january(table: pd.DataFrame) -> pd.DataFrame:
    """January cut to 60 customers: a labelled snapshot too small to train on alone."""
    return cut(table, "2026-01-31", 15, 45)


@pytest.mark.slow
def test_each_origin_trains_on_the_past_and_tests_on_the_next_labelled_snapshot(
        snapshot_table: pd.DataFrame, train_config) -> None:  # noqa: ANN001
    assert set(snapshot_table["churned"].dropna()) == {"Yes", "No"}
    rolled = rolling_origin(small_january(snapshot_table), _spec(), train_config)
    # January alone (60 rows) is too small to train on: that origin is skipped and says why
    assert rolled["skipped"] == [{"train_through": "2026-01-31", "test_snapshot": "2026-02-28",
                                  "reason": "60 labelled training rows (15 churners): at least 100 with 10 of "
                                            "each class are needed"}]
    (origin,) = rolled["origins"]  # April is unlabelled: never a test snapshot
    assert (origin["train_through"], origin["test_snapshot"]) == ("2026-02-28", "2026-03-31")
    assert origin["train_rows"] == 60 + 500 and origin["rows"] == 500
    assert set(origin["models"]) == set(MODELS)
    for model, figures in origin["models"].items():
        assert figures["n"] == 500 and figures["roc_auc"] > 0.6, model
    assert origin["models"]["lightgbm"]["roc_auc"] > origin["models"]["logistic"]["roc_auc"] - 0.05
    assert set(rolled["models"]["lightgbm"]) == set(METRICS)
    assert rolled["models"]["lightgbm"]["roc_auc"]["std"] == 0.0  # one origin
    assert [s["labelled"] for s in rolled["snapshots"]] == [60, 500, 500, 0]


def test_too_few_rows_at_every_origin_and_one_labelled_snapshot_are_clear_errors(
        snapshot_table: pd.DataFrame, train_config) -> None:  # noqa: ANN001
    tiny = cut(cut(snapshot_table, "2026-01-31", 10, 20), "2026-02-28", 20, 40)  # 30, then 90 to train on
    with pytest.raises(InputError, match=r"no rolling origin could be evaluated: 30 labelled training rows"):
        rolling_origin(tiny, _spec(), train_config)
    with pytest.raises(InputError, match=r"at least two labelled snapshots"):
        rolling_origin(snapshot_table, _spec(), dataclasses.replace(train_config, as_of="2026-02-15"))
