"""Region configuration files: ours are valid; a bad one names the key and what is allowed."""

import json
from pathlib import Path

import content_decisions as cd
import pytest

REGION_DIR = Path(__file__).resolve().parents[1] / "config" / "regions"


def _document(region="na", **changes):
    document = json.loads((REGION_DIR / f"{region}.json").read_text())
    document.update(changes)
    return json.dumps(document)


def test_every_region_has_a_valid_file_and_every_file_is_a_region(region_configs):
    assert sorted(p.stem for p in REGION_DIR.glob("*.json")) == sorted(cd.REGIONS)
    for region, config in region_configs.items():
        assert config.region == region
        assert 1 <= config.forecast_horizon_weeks <= 8


def test_every_flow_declares_one_config_per_region():
    from metaflow import Config

    declared = vars(cd.ContentDecisionsFlowSpec).items()
    configs = {name for name, value in declared if isinstance(value, Config)}
    assert configs == {f"region_{region}" for region in cd.REGIONS}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"budjet_share": 0.3}, r"unknown key 'budjet_share'; allowed keys: region, "),
        ({"forecast_horizon_weeks": 12}, r"forecast_horizon_weeks = 12: .*less than or equal to 8"),
        ({"forecast_horizon_weeks": "four"}, r"forecast_horizon_weeks = \"four\": .*integer"),
        ({"genre_min_share": {"westerns": 0.1}}, r"genre_min_share.westerns.*'drama'"),
        ({"local_languages": ["klingon"]}, r"local_languages.0 = \"klingon\": .*'en'"),
        (
            {"min_local_language_share": 1.5},
            r"min_local_language_share = 1.5: .*less than or equal to 1",
        ),
        ({"must_keep": ["42"]}, r"must_keep = \[\"42\"\]: .*not title ids"),
        ({"budget_k": 100.0}, r"exactly one of 'budget_k'"),
        ({"min_titles": 50, "max_titles": 10}, r"min_titles \(50\) is above max_titles \(10\)"),
        ({"genre_min_share": {"horror": 0.2}}, r"genre_min_share\['horror'\] = 0.2 is above"),
        ({"risk_aversion": -1}, r"risk_aversion = -1: .*greater than or equal to 0"),
    ],
)
def test_a_bad_value_names_the_key_and_what_is_allowed(changes, message):
    with pytest.raises(cd.RegionConfigError, match=message):
        cd.parse_region_config(_document(**changes), "na")


def test_a_missing_key_and_broken_json_are_named():
    document = json.loads(_document())
    del document["value_per_hour"]
    with pytest.raises(cd.RegionConfigError, match="missing key 'value_per_hour'"):
        cd.parse_region_config(json.dumps(document), "na")
    with pytest.raises(cd.RegionConfigError, match="region_na is not valid JSON"):
        cd.parse_region_config("{", "na")


def test_the_file_of_another_region_is_refused():
    with pytest.raises(cd.RegionConfigError, match="region = 'latam', but this Config is for 'na'"):
        cd.parse_region_config(_document("latam"), "na")
