import knowledge_graph as kg
import pyarrow.compute as pc
import pytest
from knowledge_graph._schemas import TRUTH_SCHEMA


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
    assert records.schema == kg.RECORD_SCHEMA
    assert truth.schema == TRUTH_SCHEMA
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
    assert empty.records.schema == kg.RECORD_SCHEMA


@pytest.mark.parametrize(("n_records", "n_sources"), [(-1, 4), (10, 0), (10, 99)])
def test_bad_arguments(n_records, n_sources):
    with pytest.raises(kg.InputDataError, match=r"n_records|n_sources"):
        kg.generate_title_records(n_records=n_records, n_sources=n_sources)
