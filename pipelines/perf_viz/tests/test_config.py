"""The configuration: the default file loads; mistakes are named."""

import json

import perf_viz as pv
import pytest
from perf_viz._config import DEFAULT_CONFIG_PATH


def _document(**changes):
    document = json.loads(DEFAULT_CONFIG_PATH.read_text())
    document.update(changes)
    return document


def test_the_default_configuration_loads():
    config = pv.load_config()
    assert config.cache_namespace == "perf_viz"
    assert config.countries[:2] == ["GB", "FR"] and len(config.countries) == 12
    assert config.launch_windows == [7, 28] and config.longest_window == 28
    assert pv.flow_config(DEFAULT_CONFIG_PATH.read_text())["daily_table"] == config.daily_table


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"regions": {"EU": ["FR"], "EMEA": ["FR"]}}, "country 'FR' is in regions 'EU' and 'EMEA'"),
        ({"regions": {"ALL": ["FR"]}}, "region name 'ALL' is reserved"),
        ({"regions": {"EU": []}}, "region 'EU' has no countries"),
        ({"launch_windows": [7, 7]}, "distinct whole numbers of days"),
        ({"completion_threshold": 1.5}, "completion_threshold"),
        ({"colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_mistakes_are_named(changes, says):
    with pytest.raises(pv.PerfVizConfigError, match="is invalid") as error:
        pv.load_config(_document(**changes))
    assert says in str(error.value)


def test_a_missing_file_or_bad_json_is_one_line(tmp_path):
    with pytest.raises(pv.PerfVizConfigError, match=r"cannot read .*nope\.json"):
        pv.load_config(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(pv.PerfVizConfigError, match="is not valid JSON"):
        pv.load_config(bad)
