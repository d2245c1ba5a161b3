"""Value per title x region: demand times value per hour, the interval, the cost."""

import datetime as dt

import content_decisions as cd
import pyarrow as pa
import pytest

DAY = dt.date(2026, 2, 16)


def _forecast(region, weeks, rows):
    return pa.table(
        {
            "as_of_date": [DAY] * len(rows),
            "region": [region] * len(rows),
            "title_id": [r[0] for r in rows],
            "horizon_weeks": pa.array([weeks] * len(rows), pa.int32()),
            "weekly_hours": [[r[1] / weeks] * weeks for r in rows],
            "total_hours": [float(r[1]) for r in rows],
            "total_low": [0.8 * r[1] for r in rows],
            "total_high": [1.3 * r[1] for r in rows],
        }
    )


def test_value_is_demand_times_value_per_hour_with_its_interval(region_configs):
    configs = {"na": region_configs["na"]}
    weeks = configs["na"].forecast_horizon_weeks
    offers = pa.table(
        {"title_id": ["T00001", "T00002"], "region": ["na", "na"], "cost_per_week_k": [2.0, 3.0]}
    )
    values = cd.value_titles(_forecast("na", weeks, [("T00001", 10_000.0)]), offers, configs, DAY)
    first, second = values.to_pylist()
    rate = configs["na"].value_per_hour
    assert first["value_k"] == pytest.approx(10_000 * rate / 1000)
    assert first["value_low_k"] == pytest.approx(8_000 * rate / 1000)
    assert first["value_high_k"] == pytest.approx(13_000 * rate / 1000)
    assert first["cost_k"] == pytest.approx(2.0 * weeks)
    assert (second["title_id"], second["value_k"], second["cost_k"]) == ("T00002", 0.0, 3.0 * weeks)


def test_a_forecast_of_another_horizon_than_the_config_is_refused(region_configs):
    configs = {"na": region_configs["na"]}
    offers = pa.table({"title_id": ["T00001"], "region": ["na"], "cost_per_week_k": [2.0]})
    wrong = configs["na"].forecast_horizon_weeks + 1
    with pytest.raises(cd.InputDataError, match=f"covers {wrong} weeks, but its config says"):
        cd.value_titles(_forecast("na", wrong, [("T00001", 1.0)]), offers, configs, DAY)
