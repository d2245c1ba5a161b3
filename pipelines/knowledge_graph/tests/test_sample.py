import knowledge_graph as kg
import pyarrow.compute as pc
import pytest
from knowledge_graph._schemas import TITLE_TRUTH_SCHEMA


def test_same_seed_gives_same_data():
    first = kg.generate_title_records(n_records=500, seed=3)
    second = kg.generate_title_records(n_records=500, seed=3)
    other = kg.generate_title_records(n_records=500, seed=4)
    assert first.records.equals(second.records)
    assert first.truth.equals(second.truth)
    assert not first.records.equals(other.records)


def test_size_sources_schema_and_truth(small_sample):
    records, truth = small_sample.records, small_sample.truth
    assert records.num_rows == 2_000 == truth.num_rows
    assert records.schema == kg.TITLE_RECORD_SCHEMA
    assert truth.schema == TITLE_TRUTH_SCHEMA
    assert len(pc.unique(records.column("source"))) == 4
    assert records.column("source").to_pylist() == truth.column("source").to_pylist()
    assert records.column("source_id").to_pylist() == truth.column("source_id").to_pylist()
    ids = list(
        zip(
            records.column("source").to_pylist(),
            records.column("source_id").to_pylist(),
            strict=False,
        )
    )
    assert len(set(ids)) == len(ids)
    # a source lists a title at most once
    pairs = list(
        zip(truth.column("source").to_pylist(), truth.column("entity_id").to_pylist(), strict=False)
    )
    assert len(set(pairs)) == len(pairs)
    # several records per title on average
    assert len(pc.unique(truth.column("entity_id"))) < 0.6 * records.num_rows


def test_noise_is_present(small_sample):
    records = small_sample.records.to_pylist()
    titles = [r["title"] for r in records]
    assert any(t.endswith(", The") for t in titles)  # moved articles
    assert any(t.isupper() for t in titles)  # casing
    assert any(r["year"] is None for r in records)
    assert any(r["cast"] is None for r in records)
    assert any(r["original_title"] is None for r in records)
    assert any(
        any(ch in t for ch in "éèüöñçø")
        for t in titles + [n for r in records for n in (r["cast"] or [])]
    )
    # distinct titles sharing a common name
    truth = small_sample.truth.column("entity_id").to_pylist()
    home = {truth[i] for i, t in enumerate(titles) if t.strip().lower() in {"home", "love", "lost"}}
    assert len(home) >= 2


def test_zero_records_gives_empty_tables():
    empty = kg.generate_title_records(n_records=0)
    assert empty.records.num_rows == 0
    assert empty.records.schema == kg.TITLE_RECORD_SCHEMA


@pytest.mark.parametrize(("n_records", "n_sources"), [(-1, 4), (10, 0), (10, 99)])
def test_bad_arguments(n_records, n_sources):
    with pytest.raises(kg.InputDataError, match=r"n_records|n_sources"):
        kg.generate_title_records(n_records=n_records, n_sources=n_sources)


def test_person_sample_is_seeded_and_has_every_kind_of_noise(person_sample):
    again = kg.generate_person_records(n_records=3_000, n_sources=2, seed=7)
    assert again.records.equals(person_sample.records) and again.truth.equals(person_sample.truth)
    assert person_sample.records.schema == kg.PERSON_RECORD_SCHEMA
    rows = person_sample.records.to_pylist()
    truth = person_sample.truth.column("entity_id").to_pylist()
    by_person: dict[str, list[dict]] = {}
    for row, entity in zip(rows, truth, strict=True):
        by_person.setdefault(entity, []).append(row)
    pairs = [group for group in by_person.values() if len(group) == 2]
    assert len(pairs) > 500  # most people are listed by both sources

    def lower(value):
        return value.lower() if isinstance(value, str) else value

    def count(test):
        return sum(bool(test(a, b)) for a, b in pairs)

    swapped_names = count(lambda a, b: lower(a["given_name"]) == lower(b["surname"])
                          and lower(a["surname"]) == lower(b["given_name"]))  # fmt: skip
    swapped_lines = count(lambda a, b: a["address_2"] and b["address_2"]
                          and lower(a["address_1"]) == lower(b["address_2"])
                          and lower(a["address_2"]) == lower(b["address_1"]))  # fmt: skip
    transposed = count(lambda a, b: a["date_of_birth"] and b["date_of_birth"]
                       and a["date_of_birth"] != b["date_of_birth"]
                       and (a["date_of_birth"].day, a["date_of_birth"].month)
                       == (b["date_of_birth"].month, b["date_of_birth"].day))  # fmt: skip
    no_zero = count(lambda a, b: a["postcode"] and b["postcode"] and a["postcode"] != b["postcode"]
                    and a["postcode"].lstrip("0") == b["postcode"].lstrip("0"))  # fmt: skip
    assert min(swapped_names, swapped_lines, transposed, no_zero) >= 3
    assert any(r["date_of_birth"] is None for r in rows) and any(r["surname"] is None for r in rows)
    assert any(r["surname"] and r["surname"].isupper() for r in rows)
    # households: different people at one address with one surname
    homes = {}
    for row, entity in zip(rows, truth, strict=True):
        if row["address_1"] and row["surname"]:
            key = (lower(row["address_1"]), row["street_number"], lower(row["surname"]))
            homes.setdefault(key, set()).add(entity)
    assert sum(len(people) > 1 for people in homes.values()) > 50


@pytest.mark.parametrize(("n_records", "n_sources"), [(-1, 2), (10, 0), (10, 5)])
def test_bad_person_sample_arguments(n_records, n_sources):
    with pytest.raises(kg.InputDataError, match=r"n_records|n_sources"):
        kg.generate_person_records(n_records=n_records, n_sources=n_sources)
