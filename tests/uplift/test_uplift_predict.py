from __future__ import annotations

import numpy as np

from insight.uplift.groups import GROUPS
from insight.uplift.predict import COLUMNS, UPLIFT, UPLIFT_GROUP, UPLIFT_LOWER, UPLIFT_UPPER, uplift_columns


def test_the_customer_columns(learners, test_data):
    model = learners["dr"]
    X = test_data["X"][:600]
    table = uplift_columns(model, X)
    assert tuple(table.columns) == COLUMNS and len(table) == 600
    assert np.array_equal(table[UPLIFT].to_numpy(), model.predict(X))
    assert (table[UPLIFT_LOWER] <= table[UPLIFT]).all() and (table[UPLIFT] <= table[UPLIFT_UPPER]).all()
    assert set(table[UPLIFT_GROUP]) <= set(GROUPS)
    narrow = uplift_columns(model, X, level=0.5)
    assert (narrow[UPLIFT_UPPER] - narrow[UPLIFT_LOWER] < table[UPLIFT_UPPER] - table[UPLIFT_LOWER]).mean() > 0.99
