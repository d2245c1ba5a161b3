import copy
import json

import knowledge_graph as kg
import pyarrow as pa
import pytest
from knowledge_graph._config import check_columns

from .conftest import CONFIG_PATH, PERSON_CONFIG_PATH

DEFAULT = json.loads(CONFIG_PATH.read_text())


def _with(**changes):
    document = copy.deepcopy(DEFAULT)
    document.update(changes)
    return document


def test_default_config_is_valid_and_fits_the_sample_schema(config):
    check_columns(config, kg.TITLE_RECORD_SCHEMA)
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
    schema = pa.schema(
        [f for f in kg.TITLE_RECORD_SCHEMA if f.name != "cast"] + [("casts", pa.string())]
    )
    with pytest.raises(kg.MatchConfigError, match=r"'cast'.*did you mean \['casts'\]"):
        check_columns(config, schema, "kg.title_records")


def test_column_of_the_wrong_kind_is_an_error(config):
    schema = kg.TITLE_RECORD_SCHEMA.set(
        kg.TITLE_RECORD_SCHEMA.get_field_index("year"), pa.field("year", pa.string())
    )
    with pytest.raises(kg.MatchConfigError, match=r"numeric.*'year'"):
        check_columns(config, schema)


def test_flow_parser_checks_columns_against_the_sample_schema(mlp_home):
    document = _with(fields=[{"name": "t", "column": "titel", "comparator": "exact"}])
    with pytest.raises(kg.MatchConfigError, match="titel"):
        kg.flow_config(json.dumps(document))
    parsed = kg.flow_config(CONFIG_PATH.read_text())
    assert kg.MatchConfig.model_validate(parsed) == kg.load_match_config(CONFIG_PATH)


PERSON = json.loads(PERSON_CONFIG_PATH.read_text())


def _field(**spec):
    return _with(fields=[{"name": "f", "column": "title", **spec}])


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_field(comparator="jaro_winkler", distances=[1]), "'distances' only apply to"),
        (_field(comparator="levenshtein", distances=[1], thresholds=[0.9]), "not both"),
        (_field(comparator="damerau_levenshtein", distances=[2, 1]), "ascending"),
        (_field(comparator="damerau_levenshtein"), "needs 'thresholds' or 'distances'"),
        (_field(comparator="exact", within_days=[3]), "only apply to the date comparator"),
        (_field(comparator="date", thresholds=[0.9]), "no 'thresholds'"),
        (_field(comparator="date", within_years=[0]), "within_years"),
        (_field(comparator="numeric", tolerances=[1], swapped_with="x"), "string comparators"),
        (_field(comparator="exact", swapped_with="title"), "another column"),
        (_field(comparator="exact", normalise="code", articles=["the"]), "'articles' apply"),
        (_with(blocking={"rules": [{"name": "r", "keys": [{"column": "a", "columns": ["a", "b"],
                                                           "combine": "any"}]}]}), "either"),
        (_with(blocking={"rules": [{"name": "r", "keys": [{"columns": ["a", "b"]}]}]}),
         "'combine'"),
        (_with(blocking={"rules": [{"name": "r", "keys": [{"columns": ["a", "b"],
                                                           "combine": "ordered",
                                                           "transform": "tokens"}]}]}),
         "one value per column"),
        (_with(sample={"generator": "cars"}), "sample.generator"),
    ],
)  # fmt: skip
def test_invalid_new_options_name_the_problem(document, message):
    with pytest.raises(kg.MatchConfigError, match=message):
        kg.load_match_config(document)


def test_person_config_fits_the_person_sample(person_config):
    check_columns(person_config, kg.PERSON_RECORD_SCHEMA)
    given = next(f for f in person_config.fields if f.name == "given_name")
    assert given.swapped_level == given.n_levels - 2
    assert person_config.columns()["address_2"] == "fields[address_1].swapped_with"


def _person_with(**changes):
    document = copy.deepcopy(PERSON)
    document.update(changes)
    return kg.load_match_config(document)


def _person_field(name, **changes):
    fields = [dict(f, **changes) if f["name"] == name else f for f in PERSON["fields"]]
    return _person_with(fields=fields)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        # an unknown column, in a cross-column level and in a blocking expression
        (_person_field("given_name", swapped_with="surnme"), r"swapped_with.*did you mean"),
        (_person_with(blocking={"rules": [{"name": "n", "keys": [
            {"columns": ["given_name", "family_name"], "combine": "unordered"}]}]}),
         r"'family_name'"),
        # comparators on a column of the wrong type
        (_person_field("date_of_birth", column="postcode", date_format="%Y"), None),
        (_person_field("postcode", column="date_of_birth"), r"normalise code.*date32"),
        (_person_field("surname", column="date_of_birth"), r"jaro_winkler.*'date_of_birth'"),
        (_person_field("given_name", swapped_with="date_of_birth"), "string or integer"),
        (_person_with(blocking={"rules": [{"name": "p", "keys": [
            {"column": "date_of_birth", "transform": "code"}]}]}), "transform 'code'"),
        (_person_with(blocking={"rules": [{"name": "p", "keys": [
            {"column": "surname", "transform": "each"}]}]}), "needs a list column"),
    ],
)  # fmt: skip
def test_columns_of_the_wrong_kind_or_unknown_columns_are_errors(config, message):
    if message is None:  # a date comparator on a string column parses it: allowed
        check_columns(config, kg.PERSON_RECORD_SCHEMA)
        return
    with pytest.raises(kg.MatchConfigError, match=message):
        check_columns(config, kg.PERSON_RECORD_SCHEMA, "kg.person_records")


def test_integer_codes_compare_as_strings_but_floats_do_not(person_config):
    schema = kg.PERSON_RECORD_SCHEMA
    at = schema.get_field_index("postcode")
    check_columns(person_config, schema.set(at, pa.field("postcode", pa.int32())))
    with pytest.raises(kg.MatchConfigError, match=r"'postcode' in the input table is double"):
        check_columns(person_config, schema.set(at, pa.field("postcode", pa.float64())))


def test_flow_parser_refuses_a_missing_table_without_a_sample(mlp_home):
    document = {k: v for k, v in PERSON.items() if k != "sample"}
    document["input_table"] = "crm.customers"
    missing = (
        r"input table crm\.customers does not exist; write it first or run with the sample config"
    )
    with pytest.raises(kg.InputDataError, match=missing):
        kg.flow_config(json.dumps(document))
    # with its sample, the config is checked against the schema the sample will have
    bad = copy.deepcopy(PERSON)
    bad["fields"][0]["column"] = "surnam"
    with pytest.raises(kg.MatchConfigError, match=r"seeded by the 'people' sample"):
        kg.flow_config(json.dumps(bad))
    assert kg.MatchConfig.model_validate(kg.flow_config(PERSON_CONFIG_PATH.read_text()))
