import copy
import json

import knowledge_graph as kg
import pyarrow as pa
import pytest
from knowledge_graph._config import check_columns

from .conftest import CONFIG_PATH

DEFAULT = json.loads(CONFIG_PATH.read_text())


def _with(**changes):
    document = copy.deepcopy(DEFAULT)
    document.update(changes)
    return document


def test_default_config_is_valid_and_fits_the_sample_schema(config):
    check_columns(config, kg.RECORD_SCHEMA)
    assert [f.name for f in config.fields][:4] == [
        "title", "title_tokens", "original_title", "directors"
    ]  # fmt: skip
    fuzzy = [
        f for f in config.fields if f.comparator in ("jaro_winkler", "levenshtein", "token_sort")
    ]
    assert len(fuzzy) >= 4
    assert config.fields[0].n_levels == 5  # else, 3 thresholds, exact


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_with(threshold=1.5), "threshold"),
        (_with(colour="blue"), "unknown key 'colour'"),
        ({k: v for k, v in DEFAULT.items() if k != "fields"}, "missing required key 'fields'"),
        (_with(fields=[{"name": "t", "column": "title", "comparator": "soundex"}]), "comparator"),
        (_with(fields=[{"name": "t", "column": "title", "comparator": "jaro_winkler"}]),
         "needs 'thresholds'"),
        (_with(fields=[{"name": "t", "column": "title", "comparator": "jaro_winkler",
                        "thresholds": [0.8, 0.9]}]), "descending"),
        (_with(fields=[{"name": "y", "column": "year", "comparator": "numeric",
                        "tolerances": [3, 1]}]), "ascending"),
        (_with(fields=[{"name": "y", "column": "year", "comparator": "numeric",
                        "tolerances": [1], "tf_adjust": True}]), "tf_adjust"),
        (_with(fields=DEFAULT["fields"] + DEFAULT["fields"][:1]), "unique"),
        (_with(blocking={"rules": []}), "blocking.rules"),
        (_with(blocking={"rules": [{"name": "p", "keys": [{"column": "title",
                                                           "transform": "prefix"}]}]}), "length"),
        (_with(source_column=None), "source_column"),
        (_with(link_type="dedupe_only"), "'dedupe_only' does not use 'source_column'"),
    ],
)  # fmt: skip
def test_invalid_configs_name_the_problem(document, message):
    with pytest.raises(kg.MatchConfigError, match=message):
        kg.load_match_config(document)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(kg.MatchConfigError, match="cannot read match config"):
        kg.load_match_config(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(kg.MatchConfigError, match="not valid JSON"):
        kg.load_match_config(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(kg.MatchConfigError, match="JSON object"):
        kg.load_match_config(listed)


def test_missing_column_is_named_with_its_closest_match(config):
    schema = pa.schema([f for f in kg.RECORD_SCHEMA if f.name != "cast"] + [("casts", pa.string())])
    with pytest.raises(kg.MatchConfigError, match=r"'cast'.*did you mean \['casts'\]"):
        check_columns(config, schema, "kg.title_records")


def test_column_of_the_wrong_kind_is_an_error(config):
    schema = kg.RECORD_SCHEMA.set(
        kg.RECORD_SCHEMA.get_field_index("year"), pa.field("year", pa.string())
    )
    with pytest.raises(kg.MatchConfigError, match=r"numeric.*'year'"):
        check_columns(config, schema)


def test_flow_parser_checks_columns_against_the_sample_schema(mlp_home):
    document = _with(fields=[{"name": "t", "column": "titel", "comparator": "exact"}])
    with pytest.raises(kg.MatchConfigError, match="titel"):
        kg.flow_config(json.dumps(document))
    parsed = kg.flow_config(CONFIG_PATH.read_text())
    assert kg.MatchConfig.model_validate(parsed) == kg.load_match_config(CONFIG_PATH)
