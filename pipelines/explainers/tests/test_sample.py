"""The seeded sample problem."""

import explainers as ex
import numpy as np
import pytest
from explainers._sample import TITLE_FEATURES_SCHEMA


def test_the_sample_is_deterministic_and_has_the_schema():
    first, again = ex.generate_title_engagement(300, seed=3), ex.generate_title_engagement(300, 3)
    assert first.equals(again)
    assert first.schema == TITLE_FEATURES_SCHEMA
    assert not first.equals(ex.generate_title_engagement(300, seed=4))
    assert len(set(first.column("title_id").to_pylist())) == 300


def test_engagement_depends_on_the_features_non_linearly():
    table = ex.generate_title_engagement(4000, seed=0)
    cast = table.column("cast_popularity").to_numpy()
    engagement = table.column("engagement").to_numpy()
    assert np.corrcoef(cast, engagement)[0, 1] > 0.3
    assert set(np.unique(table.column("is_series").to_numpy())) == {0.0, 1.0}
    assert table.column("runtime_min").to_numpy().min() >= 20


def test_a_sample_needs_at_least_one_row():
    with pytest.raises(ValueError, match="at least 1"):
        ex.generate_title_engagement(0)
