"""The seeded sample: deterministic, shaped like the tables, with launches and a back catalogue."""

import datetime as dt

import numpy as np
import perf_viz as pv
import pyarrow.compute as pc
import pytest
from perf_viz._sample import generate_sample
from perf_viz._schemas import TITLES_SCHEMA, VIEWING_SCHEMA

COUNTRIES = ["FR", "DE", "US"]
AS_OF = dt.date(2026, 3, 31)


def _sample(**options):
    return generate_sample(as_of=AS_OF, countries=COUNTRIES, **{"n_titles": 12, **options})


def test_same_arguments_give_the_same_data_and_another_seed_other_data():
    first, again, other = _sample(seed=1), _sample(seed=1), _sample(seed=2)
    assert first.viewing.equals(again.viewing) and first.titles.equals(again.titles)
    assert not first.viewing.equals(other.viewing)


def test_tables_have_the_schemas_and_cover_the_days_up_to_as_of():
    sample = _sample(n_days=20)
    assert sample.titles.schema.equals(TITLES_SCHEMA)
    assert sample.viewing.schema.equals(VIEWING_SCHEMA)
    assert sample.last_date == AS_OF and sample.first_date == AS_OF - dt.timedelta(days=19)
    days = sample.viewing["view_date"]
    assert pc.min(days).as_py() >= sample.first_date and pc.max(days).as_py() == AS_OF
    assert set(sample.viewing["country"].to_pylist()) == set(COUNTRIES)
    assert len(set(sample.titles["title"].to_pylist())) == 12  # unique names


def test_a_quarter_is_back_catalogue_and_nobody_watches_a_title_before_its_release():
    sample = _sample(n_titles=12, n_days=30)
    titles = sample.titles
    releases = dict(
        zip(titles["title_id"].to_pylist(), titles["release_date"].to_pylist(), strict=True)
    )
    assert sum(r < sample.first_date for r in releases.values()) == 3
    viewing = sample.viewing
    for title_id, day in zip(
        viewing["title_id"].to_pylist(), viewing["view_date"].to_pylist(), strict=True
    ):
        assert day >= releases[title_id]


def test_minutes_viewed_never_exceed_the_runtime():
    viewing = _sample().viewing
    minutes = viewing["minutes_viewed"].to_numpy()
    runtime = viewing["runtime_minutes"].to_numpy()
    assert np.all(minutes <= runtime) and np.all(minutes > 0)
    assert np.mean(minutes == runtime) > 0.05  # some views reach the very end


@pytest.mark.parametrize("options", [{"n_titles": 0}, {"n_days": 0}, {"sessions": 0}])
def test_non_positive_sizes_are_refused(options):
    with pytest.raises(pv.PerfVizConfigError, match="must be positive"):
        _sample(**options)
