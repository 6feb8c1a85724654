"""benchmarks.segment_data: the suite's generated customer tables plant what the suite claims they plant."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.segment_data import DOMAINS, ID_COLUMN, TARGET, SuiteData, generate, segment_shares, suite


def test_the_suite_spans_domains_sizes_and_segment_counts() -> None:
    every = suite("all")
    tuning, confirming = suite("tuning"), suite("confirming")
    assert len(every) >= 10 and every == tuning + confirming
    assert len({p.domain for p in every}) >= 5 and "demo" not in {p.domain for p in every}
    assert min(p.segments for p in every) == 3 and max(p.segments for p in every) == 10
    assert min(p.rows for p in every) == 2_000 and max(p.rows for p in every) == 200_000
    assert all(p.smallest_share <= 0.03 for p in every)
    # the halves are drawn with different seeds and parameters
    assert not {p.seed for p in tuning} & {p.seed for p in confirming}
    assert {(p.domain, p.segments) for p in tuning}.isdisjoint({(p.domain, p.segments) for p in confirming})


def test_segment_shares_are_unbalanced_with_the_smallest_as_asked() -> None:
    shares = segment_shares(8, 0.015, np.random.default_rng(0))
    assert shares.sum() == pytest.approx(1.0) and shares.min() == pytest.approx(0.015)
    assert shares.max() > 4 * shares.min()


@pytest.fixture(scope="module")
def media() -> object:
    return generate(SuiteData("media-test", "media", rows=6_000, segments=5, seed=7, twins=1, smallest_share=0.02))


def test_a_table_holds_mixed_column_kinds_noise_and_missing_values(media: object) -> None:
    frame, truth = media.customers, media.truth
    domain = DOMAINS["media"]
    assert frame[ID_COLUMN].is_unique and len(frame) == 6_000
    assert set(frame[TARGET]) == {"Yes", "No"}
    assert frame[domain.fee].str.startswith("$").all()  # money exported as text
    assert set(frame["billing_cycle"]) == {"monthly", "yearly"}
    assert pd.to_datetime(frame["signup_date"]).notna().all()
    assert {"Yes", "No"} == set(frame[domain.flags[0]])
    assert frame.isna().mean().max() > 0.03  # missing values
    assert set(domain.noise) <= set(frame.columns) and "noise_score" in frame.columns
    assert truth["segment"].value_counts(normalize=True).min() <= 0.03
    assert media.aux_targets == (domain.value_target, domain.second_target)


def test_segments_churn_differently_and_the_nuisance_is_shared(media: object) -> None:
    frame, truth = media.customers, media.truth
    churn = (frame[TARGET] == "Yes").groupby(truth["segment"]).mean()
    assert churn.max() - churn.min() > 0.15
    yearly = (frame["billing_cycle"] == "yearly").groupby(truth["segment"]).mean()
    assert yearly.between(0.3, 0.6).all()  # every segment is split alike
    a, b = truth.attrs["twins"][0]
    assert abs(churn[f"s{a}"] - churn[f"s{b}"]) > 0.05  # twins look alike but churn differently


def test_the_same_parameters_give_the_same_table() -> None:
    params = SuiteData("retail-test", "retail", rows=2_000, segments=3, seed=3)
    first, second = generate(params), generate(params)
    pd.testing.assert_frame_equal(first.customers, second.customers)
    assert not generate(SuiteData("retail-test", "retail", rows=2_000, segments=3, seed=4)).customers.equals(
        first.customers)
