import knowledge_graph as kg
import numpy as np
import pyarrow as pa
import pytest
from knowledge_graph._compare import compare_pairs, comparison_stages, list_overlap

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("name", pa.string()),
        ("year", pa.int32()),
        ("people", pa.list_(pa.string())),
    ]
)


def _config(fields):
    return kg.load_match_config(
        {
            "input_table": "x.records",
            "pairs_table": "x.pairs",
            "matches_table": "x.matches",
            "entities_table": "x.entities",
            "id_columns": ["id"],
            "link_type": "dedupe_only",
            "fields": fields,
            "blocking": {"rules": [{"name": "name", "keys": [{"column": "name"}]}]},
            "threshold": 0.5,
        }
    )


def _records(rows):
    return pa.Table.from_pylist(rows, schema=SCHEMA)


ROWS = [
    {"id": "0", "name": "The Matrix", "year": 1999, "people": ["Keanu Reeves", "Carrie-Anne Moss"]},
    {"id": "1", "name": "Matrix, The", "year": 2000, "people": ["Carrie Anne Moss"]},
    {"id": "2", "name": "The Matrx", "year": 2003, "people": ["Keanu Reeves", "Hugo Weaving"]},
    {"id": "3", "name": None, "year": None, "people": None},
    {"id": "4", "name": "Amélie", "year": 2001, "people": ["Audrey Tautou"]},
    {"id": "5", "name": "AMELIE!", "year": 2001, "people": []},
    {"id": "6", "name": "Reloaded Matrix The", "year": 1990, "people": ["Someone Else"]},
]


def test_string_comparators_levels():
    config = _config(
        [
            {"name": "jw", "column": "name", "comparator": "jaro_winkler",
             "thresholds": [0.9, 0.8], "articles": ["the"]},
            {"name": "lev", "column": "name", "comparator": "levenshtein", "thresholds": [0.85]},
            {"name": "tok", "column": "name", "comparator": "token_sort", "thresholds": [0.9]},
            {"name": "ex", "column": "name", "comparator": "exact"},
        ]
    )  # fmt: skip
    prepared = kg.prepare_records(_records(ROWS), config)
    left, right = np.array([0, 0, 0, 4, 0]), np.array([1, 2, 3, 5, 6])
    levels = compare_pairs(prepared, left, right, workers=1)
    # moved article, typo, null, diacritics + casing + punctuation, unrelated order
    assert levels[:, 0].tolist() == [3, 2, -1, 3, 0]
    assert levels[0, 1] == 0  # no article stripping: "the matrix" vs "matrix the"
    assert levels[1, 1] == 1  # "the matrx" vs "the matrix": 0.9 >= 0.85
    assert levels[0, 2] == 2  # same tokens -> exact after sorting
    assert levels[:, 3].tolist() == [0, 0, -1, 1, 0]


def test_numeric_and_list_overlap():
    config = _config(
        [
            {"name": "year", "column": "year", "comparator": "numeric", "tolerances": [0, 1, 3]},
            {"name": "people", "column": "people", "comparator": "list_overlap",
             "thresholds": [0.99, 0.5]},
        ]
    )  # fmt: skip
    prepared = kg.prepare_records(_records(ROWS), config)
    left = np.array([0, 0, 0, 0, 4, 0])
    right = np.array([1, 2, 3, 4, 5, 6])
    levels = compare_pairs(prepared, left, right, workers=1)
    assert levels[:, 0].tolist() == [2, 0, -1, 1, 3, 0]
    # "Carrie-Anne Moss" == "Carrie Anne Moss" after normalisation: 1/1; 1 of 2; null; 0;
    # empty list counts as null
    assert levels[:, 1].tolist() == [2, 1, -1, 0, -1, 0]


def test_list_overlap_matches_brute_force():
    rng = np.random.default_rng(1)
    lists = np.full((300, 6), -1, dtype=np.int32)
    lengths = rng.integers(0, 7, 300).astype(np.int16)
    for row, length in enumerate(lengths):
        lists[row, :length] = rng.choice(40, length, replace=False)
    left, right = rng.integers(0, 300, 5000), rng.integers(0, 300, 5000)
    got = list_overlap(lists, lengths, left, right)
    for i in range(len(left)):
        a = set(lists[left[i], : lengths[left[i]]])
        b = set(lists[right[i], : lengths[right[i]]])
        if not a or not b:
            assert np.isnan(got[i])
        else:
            assert got[i] == pytest.approx(len(a & b) / min(len(a), len(b)))


def test_bad_pair_indices():
    config = _config([{"name": "ex", "column": "name", "comparator": "exact"}])
    prepared = kg.prepare_records(_records(ROWS), config)
    with pytest.raises(kg.InputDataError, match="differ in length"):
        compare_pairs(prepared, np.array([0, 1]), np.array([1]))
    with pytest.raises(kg.InputDataError, match=r"\[0, 7\)"):
        compare_pairs(prepared, np.array([0]), np.array([7]))


def test_missing_column_is_an_error():
    config = _config([{"name": "ex", "column": "title", "comparator": "exact"}])
    with pytest.raises(kg.InputDataError, match="title"):
        kg.prepare_records(_records(ROWS), config)


def test_repeated_and_swapped_value_pairs_get_the_levels_of_a_pair_by_pair_comparison():
    from rapidfuzz import distance

    config = _config(
        [{"name": "jw", "column": "name", "comparator": "jaro_winkler", "thresholds": [0.9, 0.7]}]
    )
    names = ["heat", "hear", "heath", "the heat", "beat", "hate", "heat wave"]
    rows = [{"id": str(i), "name": names[i % len(names)], "year": None, "people": None}
            for i in range(40)]  # fmt: skip
    prepared = kg.prepare_records(_records(rows), config)
    rng = np.random.default_rng(3)
    left, right = rng.integers(0, 40, 500), rng.integers(0, 40, 500)  # many repeats, both orders
    levels = compare_pairs(prepared, left, right, workers=1)[:, 0]
    for i, j, level in zip(left, right, levels, strict=True):
        a, b = rows[i]["name"], rows[j]["name"]
        similarity = distance.JaroWinkler.normalized_similarity(a, b)
        expected = 3 if a == b else int(similarity >= 0.9 - 1e-6) + int(similarity >= 0.7 - 1e-6)
        assert level == expected, (a, b)


def test_named_comparisons_come_in_the_order_asked():
    config = _config(
        [
            {"name": "jw", "column": "name", "comparator": "jaro_winkler", "thresholds": [0.9]},
            {"name": "tok", "column": "name", "comparator": "token_sort", "thresholds": [0.9]},
            {"name": "year", "column": "year", "comparator": "numeric", "tolerances": [0]},
        ]
    )
    prepared = kg.prepare_records(_records(ROWS), config)
    assert comparison_stages(prepared) == [["year"], ["jw", "tok"]]  # jw and tok share values
    left, right = np.array([0, 0, 4]), np.array([1, 6, 5])
    every = compare_pairs(prepared, left, right, workers=1)
    some = compare_pairs(prepared, left, right, workers=1, names=["year", "tok"])
    assert some.tolist() == every[:, [2, 1]].tolist()
    with pytest.raises(kg.InputDataError, match=r"no comparisons \['title'\]"):
        compare_pairs(prepared, left, right, names=["title"])


PEOPLE = pa.schema(
    [("id", pa.string()), ("given", pa.string()), ("surname", pa.string()),
     ("postcode", pa.string()), ("number", pa.int64()), ("born", pa.date32()),
     ("born_text", pa.string())]
)  # fmt: skip


def _people_config(fields):
    document = _config(fields).model_dump()
    document["blocking"] = {"rules": [{"name": "id", "keys": [{"column": "id"}]}]}
    return kg.load_match_config(document)


def _people(rows):
    import datetime as dt

    for row in rows:
        if row.get("born") is not None:
            row["born"] = dt.date.fromisoformat(row["born"])
    return pa.Table.from_pylist(rows, schema=PEOPLE)


def test_damerau_levenshtein_counts_a_transposition_as_one_edit():
    config = _config(
        [
            {"name": "dl", "column": "name", "comparator": "damerau_levenshtein", "distances": [1]},
            {"name": "lev", "column": "name", "comparator": "levenshtein", "distances": [1]},
            {"name": "dl_sim", "column": "name", "comparator": "damerau_levenshtein",
             "thresholds": [0.75]},
        ]
    )  # fmt: skip
    rows = [{"id": str(i), "name": name, "year": None, "people": None}
            for i, name in enumerate(["john", "jonh", "joan", "jonathan"])]  # fmt: skip
    prepared = kg.prepare_records(_records(rows), config)
    levels = compare_pairs(prepared, np.array([0, 0, 0, 0]), np.array([0, 1, 2, 3]), workers=1)
    # same; swapped neighbours (1 edit vs 2); one substitution; far apart
    assert levels[:, 0].tolist() == [2, 1, 1, 0]
    assert levels[:, 1].tolist() == [2, 0, 1, 0]
    assert levels[:, 2].tolist() == [2, 1, 1, 0]  # similarity 1 - 1/4 = 0.75 >= 0.75
    assert config.fields[0].level_names == ["else", "<= 1 edit", "exact"]


def test_date_levels_exact_swapped_one_field_within_days_and_years():
    config = _people_config(
        [
            {"name": "born", "column": "born", "comparator": "date", "day_month_swapped": True,
             "one_field_differs": True, "within_days": [10], "within_years": [2]},
            {"name": "text", "column": "born_text", "comparator": "date",
             "date_format": "%d/%m/%Y"},
        ]
    )  # fmt: skip
    assert config.fields[0].level_names == [
        "else", "within 2 years", "within 10 days", "one field differs", "day/month swapped",
        "exact",
    ]  # fmt: skip
    born = ["1987-03-14", "1987-03-14", "1987-04-03", "1987-03-15", "1987-04-01", "1988-05-20",
            "1999-01-02", None, "1987-08-14"]  # fmt: skip
    text = ["14/03/1987", "14/03/1987", "not a date", None, None, None, None, None, None]
    rows = [
        {"id": str(i), "born": b, "born_text": t}
        for i, (b, t) in enumerate(zip(born, text, strict=True))
    ]
    prepared = kg.prepare_records(_people(rows), config)
    right = np.arange(1, len(rows))
    levels = compare_pairs(prepared, np.zeros(len(right), np.int64), right, workers=1)
    # against 1987-03-14: the same day; 3 April (20 days, two fields differ); 15 March (one
    # field and within 10 days: the better level wins); 1 April (18 days); 1988-05-20 (433
    # days); 1999 (else); null; 14 August (one field, the month)
    assert levels[:, 0].tolist() == [5, 1, 3, 1, 1, 0, -1, 3]
    assert levels[:2, 1].tolist() == [1, -1]  # parsed with the format; unparsable is null
    swapped = _people([{"id": "a", "born": "1987-03-04"}, {"id": "b", "born": "1987-04-03"},
                       {"id": "c", "born": "1987-05-05"}])  # fmt: skip
    prepared = kg.prepare_records(swapped, config)
    levels = compare_pairs(prepared, np.array([0, 2]), np.array([1, 2]), workers=1)
    assert levels[:, 0].tolist() == [4, 5]


def test_code_normalisation_and_numbers_compared_as_strings():
    config = _people_config(
        [
            {"name": "postcode", "column": "postcode", "comparator": "damerau_levenshtein",
             "distances": [1], "normalise": "code"},
            {"name": "number", "column": "number", "comparator": "exact", "normalise": "code"},
        ]
    )  # fmt: skip
    rows = [{"id": "0", "postcode": "0800", "number": 12}, {"id": "1", "postcode": "800",
            "number": 12}, {"id": "2", "postcode": " 08-00 ", "number": 13},
            {"id": "3", "postcode": "0810", "number": None}]  # fmt: skip
    prepared = kg.prepare_records(_people(rows), config)
    levels = compare_pairs(prepared, np.array([0, 0, 0]), np.array([1, 2, 3]), workers=1)
    assert levels[:, 0].tolist() == [2, 2, 1]  # leading zero and punctuation: exact; one edit
    assert levels[:, 1].tolist() == [1, 0, -1]


def test_swapped_names_get_the_swapped_level_only_when_both_are_crossed():
    config = _people_config(
        [
            {"name": "given", "column": "given", "comparator": "jaro_winkler",
             "thresholds": [0.9], "swapped_with": "surname"},
            {"name": "surname", "column": "surname", "comparator": "exact"},
        ]
    )  # fmt: skip
    assert config.fields[0].level_names == ["else", "jaro_winkler >= 0.9", "swapped with surname",
                                            "exact"]  # fmt: skip
    rows = [{"id": "0", "given": "John", "surname": "Smith"},
            {"id": "1", "given": "SMITH", "surname": "john"},  # swapped
            {"id": "2", "given": "Smith", "surname": "Jones"},  # one way only
            {"id": "3", "given": "John", "surname": "Smith"},  # same
            {"id": "4", "given": "Jon", "surname": "Smith"},  # near
            {"id": "5", "given": None, "surname": "John"}]  # fmt: skip
    prepared = kg.prepare_records(_people(rows), config)
    levels = compare_pairs(prepared, np.zeros(5, np.int64), np.arange(1, 6), workers=1)
    assert levels[:, 0].tolist() == [2, 0, 3, 1, -1]
    assert levels[:, 1].tolist() == [0, 0, 1, 1, 0]  # the other comparison is unchanged
