"""The input table, the splits, and the output tables (one snapshot per explainer run)."""

from datetime import UTC, datetime, timedelta

import explainers as ex
import numpy as np
import pytest
from explainers._data import ensure_input_table, holdout_mask, load_explain_data, load_training_data
from explainers._tables import (
    ExplainerRecord,
    attributions_additivity,
    attributions_table,
    importance_table,
    previous_importance,
    write_explainer_tables,
)

from mlplatform.data import DataFrame, Table

pytestmark = pytest.mark.integration

INPUT = "explainers.title_engagement"


def test_the_input_is_seeded_once_and_split_by_title_id(mlp_home):
    snapshot = ensure_input_table(INPUT, n_rows=300, seed=0)
    assert ensure_input_table(INPUT, n_rows=999, seed=5) == snapshot  # exists: not reseeded
    assert len(Table(INPUT).snapshots()) == 1
    arrays, reference = load_training_data(INPUT, snapshot, 20)
    split = ex.unpack_arrays(arrays)
    assert reference["train_rows"] + reference["holdout_rows"] == 300
    assert split["x_train"].shape == (reference["train_rows"], len(ex.FEATURES))
    assert 30 < reference["holdout_rows"] < 90
    ids = DataFrame.load(INPUT, columns=["title_id"]).to_arrow().column("title_id").to_pylist()
    assert holdout_mask(ids, 20).sum() == reference["holdout_rows"]
    data, rows = load_explain_data(reference, explain_rows=25, background_rows=10)
    explained = ex.unpack_arrays(data)
    assert rows == 25 and explained["x"].shape == (25, 8) and explained["background"].shape[0] == 10
    assert set(explained["title_ids"]) <= {
        i for i, h in zip(ids, holdout_mask(ids, 20), strict=True) if h
    }


def test_runs_seeding_at_once_take_turns_and_train_on_one_copy(mlp_home):
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial
    from multiprocessing import get_context

    # Processes, as model runs are: the catalog's create and seeding commit fail when raced.
    seed = partial(ensure_input_table, INPUT, n_rows=300, seed=0)
    with ProcessPoolExecutor(3, mp_context=get_context("spawn")) as pool:
        seeded = [future.result() for future in [pool.submit(seed) for _ in range(3)]]
    assert len(set(seeded)) == 1
    assert Table(INPUT).current_snapshot_id == seeded[0]


def test_too_few_rows_to_split_is_a_clear_error(mlp_home):
    snapshot = ensure_input_table(INPUT, n_rows=30, seed=0)
    with pytest.raises(ex.ExplainersError, match="each needs at least 10"):
        load_training_data(INPUT, snapshot, 20)


def _record(run: str, flow: str, minutes: int) -> ExplainerRecord:
    return ExplainerRecord(
        explainer_run=run, model_flow=flow, model_run=f"{flow}/1", model_type="ridge",
        explainer="LinearExplainer", environment="explainers/shap/ridge-1:2",
        environment_lock="abc",
        created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
    )  # fmt: skip


def _write(record, importance, off=0.0):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 2))
    data = ex.pack_arrays(x=x, background=x, title_ids=np.array(["t1", "t2", "t3", "t4"]),
                          features=np.array(["a", "b"]))  # fmt: skip
    arrays = ex.pack_arrays(values=x / 2, expected=np.ones(4), output=x.sum(1) / 2 + 1 + off)
    return write_explainer_tables(
        "explainers.importance", "explainers.attributions",
        importance_table(record, importance, None), attributions_table(record, data, arrays),
    )  # fmt: skip


def test_each_run_adds_one_snapshot_and_the_previous_explainer_is_per_model_flow(mlp_home):
    assert previous_importance("explainers.importance", "RidgeModelFlow") is None
    _write(_record("ExplainerFlow/1", "RidgeModelFlow", 0), {"a": 0.2, "b": 0.8})
    _write(_record("ExplainerFlow/2", "LightGBMModelFlow", 1), {"a": 0.9, "b": 0.1})
    _write(_record("RidgeExplainerFlow/3", "RidgeModelFlow", 2), {"a": 0.6, "b": 0.4})
    assert len(Table("explainers.importance").snapshots()) == 3
    assert len(Table("explainers.attributions").snapshots()) == 3
    assert previous_importance("explainers.importance", "RidgeModelFlow") == (
        "RidgeExplainerFlow/3",
        {"a": 0.6, "b": 0.4},
    )
    assert previous_importance(
        "explainers.importance", "RidgeModelFlow", before="RidgeExplainerFlow/3"
    ) == ("ExplainerFlow/1", {"a": 0.2, "b": 0.8})
    rows = DataFrame.load("explainers.attributions").to_arrow()
    assert rows.num_rows == 3 * 4 * 2  # runs x rows x features
    mine = [r for r in rows.to_pylist() if r["explainer_run"] == "ExplainerFlow/1"]
    first = [r for r in mine if r["title_id"] == "t1"]
    assert sum(r["shap_value"] for r in first) + 1 == pytest.approx(first[0]["prediction"])
    errors = attributions_additivity("explainers.attributions")  # read back, per run
    assert sorted(errors) == ["ExplainerFlow/1", "ExplainerFlow/2", "RidgeExplainerFlow/3"]
    assert max(errors.values()) < 1e-12
    _write(_record("ExplainerFlow/4", "RidgeModelFlow", 3), {"a": 0.5, "b": 0.5}, off=0.5)
    assert attributions_additivity("explainers.attributions")["ExplainerFlow/4"] > 0.1
