import itertools

import knowledge_graph as kg
import numpy as np
import pyarrow as pa
import pytest
from knowledge_graph._blocking import build_blocking_index, candidate_pairs, pairs_pass_blocking
from knowledge_graph._evaluate import true_pairs

SCHEMA = pa.schema(
    [("id", pa.string()), ("src", pa.string()), ("name", pa.string()), ("year", pa.int32()),
     ("people", pa.list_(pa.string()))]
)  # fmt: skip


def _config(rules, link_type="dedupe_only", max_block_size=100):
    document = {
        "input_table": "x.records",
        "pairs_table": "x.pairs",
        "matches_table": "x.matches",
        "entities_table": "x.entities",
        "id_columns": ["id"],
        "link_type": link_type,
        "fields": [{"name": "name", "column": "name", "comparator": "exact"}],
        "blocking": {"rules": rules, "max_block_size": max_block_size},
        "threshold": 0.5,
    }
    if link_type != "dedupe_only":
        document["source_column"] = "src"
    return kg.load_match_config(document)


def _random_records(n=120, seed=0):
    rng = np.random.default_rng(seed)
    names = ["Home", "Love", "The Home", "Alone", None]
    people = ["ann", "bob", "cy", "dee", "eve", "fay"]
    rows = []
    for i in range(n):
        k = int(rng.integers(0, 3))
        rows.append(
            {
                "id": f"r{i}",
                "src": f"s{int(rng.integers(0, 3))}",
                "name": names[int(rng.integers(0, len(names)))],
                "year": int(rng.integers(2000, 2003)) if rng.random() < 0.9 else None,
                "people": list(rng.choice(people, k, replace=False)) if k else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


RULES = [
    {"name": "name_year", "keys": [{"column": "name", "articles": ["the"]},
                                   {"column": "year", "transform": "exact"}]},
    {"name": "person", "keys": [{"column": "people", "transform": "each"}]},
]  # fmt: skip


def _brute_force(records, link_only):
    rows = records.to_pylist()
    expected = set()
    for i, j in itertools.combinations(range(len(rows)), 2):
        a, b = rows[i], rows[j]
        if link_only and a["src"] == b["src"]:
            continue
        name = (
            a["name"] is not None
            and b["name"] is not None
            and a["name"].lower().removeprefix("the ") == b["name"].lower().removeprefix("the ")
            and a["year"] is not None
            and a["year"] == b["year"]
        )
        person = bool(set(a["people"] or []) & set(b["people"] or []))
        if name or person:
            expected.add((i, j))
    return expected


@pytest.mark.parametrize("link_type", ["dedupe_only", "link_only"])
def test_union_of_rules_equals_brute_force_without_duplicates(link_type):
    records = _random_records()
    config = _config(RULES, link_type=link_type)
    index = build_blocking_index(records, config)
    left, right, by_rule = candidate_pairs(index)
    found = list(zip(left.tolist(), right.tolist(), strict=True))
    assert len(found) == len(set(found))  # deduplicated across and within rules
    assert all(i < j for i, j in found)
    assert set(found) == _brute_force(records, link_type == "link_only")
    assert sum(by_rule.values()) == len(found)
    # the same keys answer membership for any pair
    all_left, all_right = np.triu_indices(records.num_rows, k=1)
    passed = pairs_pass_blocking(index, all_left, all_right)
    assert set(zip(all_left[passed].tolist(), all_right[passed].tolist(), strict=False)) == set(
        found
    )


def test_oversized_blocks_are_skipped():
    rows = [{"id": str(i), "src": "a", "name": "Home", "year": 2000, "people": None}
            for i in range(5)]  # fmt: skip
    rows += [{"id": "x", "src": "a", "name": "Rare", "year": 2000, "people": None},
             {"id": "y", "src": "a", "name": "rare", "year": 2000, "people": None}]  # fmt: skip
    records = pa.Table.from_pylist(rows, schema=SCHEMA)
    config = _config([{"name": "name", "keys": [{"column": "name"}]}], max_block_size=4)
    index = build_blocking_index(records, config)
    left, right, _ = candidate_pairs(index)
    assert list(zip(left.tolist(), right.tolist(), strict=False)) == [(5, 6)]
    assert index.skipped_blocks == [1]


def test_prefix_tokens_and_sorted_tokens_transforms():
    rows = [{"id": "0", "src": "a", "name": "Silent Night", "year": 1, "people": None},
            {"id": "1", "src": "a", "name": "Night, Silent", "year": 1, "people": None},
            {"id": "2", "src": "a", "name": "Silence", "year": 1, "people": None}]  # fmt: skip
    records = pa.Table.from_pylist(rows, schema=SCHEMA)
    for transform, extra, expected in [
        ("sorted_tokens", {}, {(0, 1)}),
        ("prefix", {"length": 5}, {(0, 2)}),
        ("tokens", {}, {(0, 1)}),
        ("first_token", {}, set()),
    ]:
        rule = {"name": "r", "keys": [{"column": "name", "transform": transform, **extra}]}
        left, right, _ = candidate_pairs(build_blocking_index(records, _config([rule])))
        assert set(zip(left.tolist(), right.tolist(), strict=False)) == expected, transform


def test_blocking_recall_on_generated_data(small_sample, config):
    records = kg.order_records(small_sample.records, config)
    truth = (
        kg.order_records(small_sample.truth, config)
        .column("entity_id")
        .to_numpy(zero_copy_only=False)
    )
    left, right, _, index = kg.block_records(records, config)
    true_left, true_right = true_pairs(truth)
    candidates = set(zip(left.tolist(), right.tolist(), strict=False))
    survived = [
        pair in candidates for pair in zip(true_left.tolist(), true_right.tolist(), strict=False)
    ]
    assert np.mean(survived) >= 0.99
    # the key-based answer agrees with the candidate set
    assert pairs_pass_blocking(index, true_left, true_right).tolist() == survived
    assert len(left) < records.num_rows * (records.num_rows - 1) / 2 * 0.05


def test_missing_blocking_column_is_an_error():
    config = _config([{"name": "r", "keys": [{"column": "nmae"}]}])
    with pytest.raises(kg.InputDataError, match="nmae"):
        build_blocking_index(_random_records(5), config)


NAMES = pa.schema([("id", pa.string()), ("given", pa.string()), ("surname", pa.string())])


def _name_pairs(key):
    rows = [{"id": "0", "given": "John", "surname": "Smith"},
            {"id": "1", "given": "smith", "surname": "JOHN"},  # swapped
            {"id": "2", "given": "John", "surname": "Smith"},  # same
            {"id": "3", "given": "Smith", "surname": "Jones"},  # shares "smith" across columns
            {"id": "4", "given": None, "surname": "Smith"}]  # fmt: skip
    records = pa.Table.from_pylist(rows, schema=NAMES)
    config = kg.load_match_config(
        {
            "input_table": "x.r", "pairs_table": "x.p", "matches_table": "x.m",
            "entities_table": "x.e", "id_columns": ["id"], "link_type": "dedupe_only",
            "fields": [{"name": "given", "column": "given", "comparator": "exact"}],
            "blocking": {"rules": [{"name": "names", "keys": [key]}]}, "threshold": 0.5,
        }
    )  # fmt: skip
    left, right, _ = candidate_pairs(build_blocking_index(records, config))
    return set(zip(left.tolist(), right.tolist(), strict=True))


def test_blocking_on_expressions_of_several_columns():
    columns = ["given", "surname"]
    # unordered: the same pair of names in either order; a null in one column gives no key
    assert _name_pairs({"columns": columns, "combine": "unordered"}) == {(0, 1), (0, 2), (1, 2)}
    # ordered: the names in order, as two keys of one rule would
    assert _name_pairs({"columns": columns, "combine": "ordered"}) == {(0, 2)}
    # any: a value in either column meets the same value in either column
    assert _name_pairs({"columns": columns, "combine": "any"}) == {
        (0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3), (0, 4), (1, 4), (2, 4), (3, 4)
    }  # fmt: skip
    assert _name_pairs({"columns": ["surname", "given"], "combine": "any",
                        "transform": "prefix", "length": 3}) >= {(0, 3)}  # fmt: skip
