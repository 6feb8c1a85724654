"""insight.data.demo: synthetic customers with planted segments and known churn drivers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from insight.config import DataSpec
from insight.data.demo import (
    AUX_TARGETS,
    ID_COLUMN,
    SEGMENTS,
    TARGET,
    DemoData,
    demo_data,
    demo_spec,
    write_demo_data,
)
from insight.data.schema import Role, clean_table


@pytest.fixture(scope="module")
def big() -> DemoData:
    return demo_data(rows=20_000, seed=0)


def test_same_seed_same_data() -> None:
    a, b = demo_data(rows=500, seed=7), demo_data(rows=500, seed=7)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.truth, b.truth)


def test_different_seed_different_data() -> None:
    a, b = demo_data(rows=500, seed=1), demo_data(rows=500, seed=2)
    assert not a.customers.equals(b.customers)
    assert (a.truth["segment"] != b.truth["segment"]).mean() > 0.3


def test_too_few_rows() -> None:
    with pytest.raises(ValueError, match="at least 100"):
        demo_data(rows=50)


def test_shape_and_ids(big: DemoData) -> None:
    c = big.customers
    assert len(c) == 20_000 and c[ID_COLUMN].is_unique
    assert c[ID_COLUMN].tolist() == big.truth[ID_COLUMN].tolist()
    assert set(c[TARGET].unique()) == {"Yes", "No"}
    assert all(a in c.columns for a in AUX_TARGETS)


def test_mixed_feature_kinds_including_a_date(demo_small: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, _ = demo_small
    table = clean_table(customers, demo_spec())
    roles = {c.name: c.role for c in table.schema.columns}
    features = table.schema.features
    assert len(features) >= 20
    kinds = {roles[f] for f in features}
    assert kinds == {Role.NUMERIC, Role.BOOLEAN, Role.CATEGORICAL, Role.DATE}
    assert roles["signup_date"] is Role.DATE
    assert roles["monthly_fee"] is Role.NUMERIC  # exported as text with blanks
    assert roles["auto_renew"] is Role.BOOLEAN  # Yes/No
    assert roles["plan"] is Role.CATEGORICAL
    assert not table.schema.dropped  # nothing in the demo leaks or is an id
    # messy like real exports: missing values in several columns, text numbers with blanks
    assert customers["nps_score"].isna().mean() > 0.5
    assert customers["monthly_fee"].dtype == object or pd.api.types.is_string_dtype(customers["monthly_fee"])


def test_churn_rate(big: DemoData) -> None:
    rate = (big.customers[TARGET] == "Yes").mean()
    assert 0.15 <= rate <= 0.30


def test_planted_segments(big: DemoData) -> None:
    segments = big.truth["segment"]
    assert 5 <= segments.nunique() <= 8
    assert set(segments) == set(SEGMENTS)
    assert segments.value_counts(normalize=True).min() > 0.03
    # the segments churn differently
    by_segment = (big.customers[TARGET] == "Yes").groupby(segments).mean()
    assert by_segment.max() - by_segment.min() > 0.25


def test_revenue_is_non_negative_and_skewed(big: DemoData) -> None:
    revenue = big.customers["revenue_next_12m"]
    assert revenue.notna().all() and (revenue >= 0).all()
    assert stats.skew(revenue) > 2
    assert revenue.mean() > 2 * revenue.median()
    churned = big.customers[TARGET] == "Yes"
    assert revenue[churned].mean() < revenue[~churned].mean()


def test_truth_probability_relates_to_churned(big: DemoData) -> None:
    from sklearn.metrics import roc_auc_score

    y = (big.customers[TARGET] == "Yes").astype(int)
    p = big.truth["churn_probability"]
    assert p.between(0, 1).all()
    assert roc_auc_score(y, p) > 0.75
    assert abs(p.mean() - y.mean()) < 0.02  # the planted probabilities are calibrated


def test_write_demo_data(tmp_path: Path) -> None:
    customers_path, truth_path = write_demo_data(tmp_path / "out", rows=300, seed=3)
    customers, truth = pd.read_csv(customers_path), pd.read_csv(truth_path)
    assert len(customers) == len(truth) == 300
    assert customers[ID_COLUMN].tolist() == truth[ID_COLUMN].tolist()
    expected = demo_data(rows=300, seed=3).customers
    assert list(customers.columns) == list(expected.columns)
    np.testing.assert_allclose(customers["revenue_next_12m"], expected["revenue_next_12m"])


def test_demo_spec() -> None:
    spec = demo_spec()
    assert isinstance(spec, DataSpec)
    assert spec.id_column == ID_COLUMN and spec.target == TARGET and spec.aux_targets == AUX_TARGETS
    assert DataSpec.from_dict(spec.to_dict()) == spec
