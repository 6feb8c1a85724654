import numpy as np
import pandas as pd
import pytest

from insight.survival.encoding import SurvivalEncoder, event_indicator


def test_tree_and_linear_encodings():
    train = pd.DataFrame({"plan": ["a", "b", "a", None, "a"], "flag": [True, False, True, True, True],
                          "spend": [1.0, np.nan, 3.0, 5.0, 7.0]})
    enc = SurvivalEncoder(features=["plan", "flag", "spend"]).fit(train)
    assert enc.categories_ == {"plan": ["a", "b"], "flag": ["True", "False"]} and enc.categorical_indices == [0, 1]
    new = pd.DataFrame({"plan": ["b", "unseen", None], "flag": [False, True, None], "spend": [1.0, 2.0, None]})
    tree = enc.tree_matrix(new)
    assert tree[:, 0].tolist()[0] == 1 and np.isnan(tree[1:, 0]).all()
    assert tree[:2, 1].tolist() == [1, 0] and np.isnan(tree[2, 1]) and np.isnan(tree[2, 2])
    lin = enc.linear_frame(new)
    assert list(lin.columns) == ["plan=b", "flag=False", "spend"]
    assert lin["plan=b"].tolist() == [1, 0, 0] and not lin.isna().any().any()
    # numbers standardised on the training rows (missing as the median)
    assert enc.linear_frame(train)["spend"].mean() == pytest.approx(0, abs=1e-12)
    with pytest.raises(ValueError):
        SurvivalEncoder(features=["nope"]).fit(train)


def test_event_indicator_reads_flags():
    assert event_indicator(pd.Series(["Yes", "no", " TRUE "])).tolist() == [True, False, True]
    assert event_indicator(np.array([0, 1, 2])).tolist() == [False, True, True]
    assert event_indicator(pd.Series([True, False])).tolist() == [True, False]
    with pytest.raises(ValueError):
        event_indicator(pd.Series(["maybe"]))
    with pytest.raises(ValueError):
        event_indicator(np.array([1.0, np.nan]))
