"""The steps as plain functions, without Metaflow or a catalog."""

import knowledge_graph as kg
import numpy as np
import pyarrow as pa
import pytest
from knowledge_graph import _match
from knowledge_graph._compare import compare_pairs, comparison_stages
from knowledge_graph._schemas import entities_schema, matches_schema


def _resolve(sample, config):
    records = kg.order_records(sample.records, config)
    left, right, _, _ = kg.block_records(records, config)
    prepared = kg.prepare_records(records, config)
    model = kg.train_model(prepared, left, right, config, workers=1)
    result = kg.match_pairs(records, prepared, left, right, model, config, workers=1)
    entities, labels = kg.resolve_entities(records, result.matches, config)
    metrics = kg.evaluate_resolution(records, labels, sample.truth, config)
    return records, result, entities, labels, metrics


def test_small_sample_resolves_well(small_sample, config):
    records, result, entities, labels, metrics = _resolve(small_sample, config)
    assert metrics["f1"] >= 0.95 and metrics["cluster_f1"] >= 0.95
    assert metrics["blocking_recall"] >= 0.99
    assert result.matches.schema == matches_schema(config, records.schema)
    assert (result.matches.column("match_probability").to_numpy() >= config.threshold).all()
    assert entities.schema == entities_schema(config, records.schema)
    assert sum(entities.column("size").to_pylist()) == records.num_rows
    assert entities.num_rows == len(np.unique(labels))
    # no entity holds two records of one source
    for members in entities.column("members").to_pylist():
        sources = [m["source"] for m in members]
        assert len(sources) == len(set(sources))


@pytest.mark.slow
def test_default_sample_meets_the_targets(config):
    sample = kg.generate_title_records()  # 20,000 records, 4 sources
    _, result, _, _, metrics = _resolve(sample, config)
    assert metrics["f1"] >= 0.97
    assert metrics["blocking_recall"] >= 0.99
    assert result.pairs > 100_000


@pytest.mark.parametrize("workers", [1, 2])
def test_pruned_scoring_equals_scoring_every_comparison(small_sample, config, workers, monkeypatch):
    records = kg.order_records(small_sample.records, config)
    left, right, _, _ = kg.block_records(records, config)
    prepared = kg.prepare_records(records, config)
    model = kg.train_model(prepared, left, right, config, workers=1)
    levels = compare_pairs(prepared, left, right, workers=1)
    frequencies = {name: f[left] for name, f in model.record_frequencies(prepared).items()}
    weight = model.match_weight(levels, frequencies)
    expected = np.flatnonzero(model.probability(weight) >= config.threshold)
    assert 0 < len(expected) < len(left)

    compared = {True: 0, False: 0}
    original = _match.compare_pairs

    def counting(prepared, left, right, workers, names):
        compared[prune] += len(left) * sum(n not in comparison_stages(prepared)[0] for n in names)
        return original(prepared, left, right, workers, names)

    monkeypatch.setattr(_match, "compare_pairs", counting)
    for prune in (True, False):
        scored = kg.score_pairs(prepared, left, right, model, config.threshold, workers, prune)
        assert scored.index.tolist() == expected.tolist()
        assert scored.levels.tolist() == levels[expected].tolist()
        assert scored.weight.tolist() == weight[expected].tolist()
        assert scored.probability.tolist() == model.probability(weight[expected]).tolist()
    # every fuzzy comparison of every pair without pruning; pruning skips some
    fuzzy = sum(
        f.comparator in ("jaro_winkler", "levenshtein", "token_sort") for f in config.fields
    )
    assert compared[False] == len(left) * fuzzy
    assert compared[True] < compared[False]


def test_canonical_values_are_the_most_common():
    config = kg.load_match_config(
        {
            "input_table": "x.r", "pairs_table": "x.p", "matches_table": "x.m",
            "entities_table": "x.e", "id_columns": ["id"], "link_type": "dedupe_only",
            "fields": [{"name": "t", "column": "title", "comparator": "exact"}],
            "blocking": {"rules": [{"name": "t", "keys": [{"column": "title"}]}]},
            "threshold": 0.5, "canonical_columns": ["title", "year"],
        }
    )  # fmt: skip
    records = pa.table(
        {
            "id": ["a", "b", "c", "d"],
            "title": ["Heat", "HEAT", "Heat", None],
            "year": pa.array([1995, 1995, 1996, None], pa.int32()),
        }
    )
    matches = pa.table({"left_id": ["a", "a"], "right_id": ["b", "c"], "match_weight": [5.0, 4.0]})
    entities, labels = kg.resolve_entities(records, matches, config)
    rows = sorted(entities.to_pylist(), key=lambda r: -r["size"])
    assert rows[0]["title"] == "Heat" and rows[0]["year"] == 1995 and rows[0]["size"] == 3
    assert rows[1]["title"] is None and rows[1]["year"] is None
    assert labels.tolist() == [0, 0, 0, 3]
    assert rows[0]["entity_id"].startswith("ent-")


def test_empty_input_gives_zero_entities_and_no_quality_metrics(config):
    empty = kg.order_records(kg.TITLE_RECORD_SCHEMA.empty_table(), config)
    left, right, by_rule, _ = kg.block_records(empty, config)
    assert len(left) == 0 and set(by_rule.values()) == {0}
    prepared = kg.prepare_records(empty, config)
    model = kg.train_model(prepared, left, right, config)
    result = kg.match_pairs(empty, prepared, left, right, model, config)
    entities, labels = kg.resolve_entities(empty, result.matches, config)
    assert entities.num_rows == 0 and len(labels) == 0
    assert kg.evaluate_resolution(empty, labels, None, config) == {}


def test_bad_records_and_pairs(small_sample, config):
    doubled = pa.concat_tables([small_sample.records, small_sample.records.slice(0, 3)])
    with pytest.raises(kg.InputDataError, match="repeat an id"):
        kg.order_records(doubled, config)
    with pytest.raises(kg.InputDataError, match="lack id columns"):
        kg.order_records(small_sample.records.drop_columns(["source_id"]), config)
    records = kg.order_records(small_sample.records, config)
    model = kg.FellegiSunterModel(
        [f.name for f in config.fields],
        [np.full(f.n_levels, 1 / f.n_levels) for f in config.fields],
        [np.full(f.n_levels, 1 / f.n_levels) for f in config.fields],
        0.1,
    )
    prepared = kg.prepare_records(records, config)
    with pytest.raises(kg.InputDataError, match="another snapshot"):
        kg.match_pairs(
            records, prepared, np.array([0]), np.array([records.num_rows]), model, config
        )
    with pytest.raises(kg.InputDataError, match="prepare the same snapshot"):
        kg.match_pairs(records, kg.prepare_records(records.slice(1), config), [0], [1], model,
                       config)  # fmt: skip
    other = kg.FellegiSunterModel(model.names[:-1], model.m[:-1], model.u[:-1], 0.1)
    with pytest.raises(kg.InputDataError, match="train the model with the same configuration"):
        kg.match_pairs(records, prepared, np.array([0]), np.array([1]), other, config)
    matches = pa.table(
        {"left_source": ["nope"], "left_source_id": ["x"], "right_source": ["cinedb"],
         "right_source_id": ["y"], "match_weight": [1.0]}
    )  # fmt: skip
    with pytest.raises(kg.InputDataError, match="different snapshots"):
        kg.resolve_entities(records, matches, config)
    with pytest.raises(kg.InputDataError, match="entity_id"):
        kg.evaluate_resolution(
            records, np.arange(records.num_rows), small_sample.truth.drop_columns(["entity_id"]),
            config,
        )  # fmt: skip


def test_person_sample_resolves_well(person_sample, person_config):
    records, result, entities, _, metrics = _resolve(person_sample, person_config)
    assert metrics["f1"] >= 0.95 and metrics["cluster_f1"] >= 0.95
    assert metrics["blocking_recall"] >= 0.97
    assert entities.schema == entities_schema(person_config, records.schema)
    assert result.matches.column_names[-1] == "level_postcode"
