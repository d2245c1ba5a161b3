"""The explainer's output tables: ``explainers.importance`` and ``explainers.attributions``.

Each explainer run adds exactly one snapshot to each (staged with a writer, one commit), so a
failed run leaves nothing visible and every run's rows can be read back by snapshot or by
``explainer_run``. The previous explainer of a model flow is read from the importance table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explainers._arrays import unpack_arrays
from explainers._drift import importance_ranks, importance_shares
from mlplatform.data import DataFrame, Table

__all__ = [
    "ATTRIBUTIONS_SCHEMA",
    "IMPORTANCE_SCHEMA",
    "ExplainerRecord",
    "attributions_additivity",
    "attributions_table",
    "importance_table",
    "previous_importance",
    "write_explainer_tables",
]

logger = logging.getLogger(__name__)

_TIME = pa.timestamp("us", tz="UTC")

IMPORTANCE_SCHEMA = pa.schema(
    [
        pa.field("explainer_run", pa.string(), nullable=False),
        pa.field("model_flow", pa.string(), nullable=False),
        pa.field("model_run", pa.string(), nullable=False),
        pa.field("model_type", pa.string(), nullable=False),
        pa.field("explainer", pa.string(), nullable=False),
        pa.field("environment", pa.string(), nullable=False),
        pa.field("environment_lock", pa.string(), nullable=False),
        pa.field("feature", pa.string(), nullable=False),
        pa.field("mean_abs_shap", pa.float64(), nullable=False),
        pa.field("share", pa.float64(), nullable=False),
        pa.field("rank", pa.int32(), nullable=False),
        pa.field("previous_explainer_run", pa.string()),
        pa.field("previous_share", pa.float64()),
        pa.field("previous_rank", pa.int32()),
        pa.field("rank_correlation", pa.float64()),
        pa.field("created_at", _TIME, nullable=False),
    ]
)

ATTRIBUTIONS_SCHEMA = pa.schema(
    [
        pa.field("explainer_run", pa.string(), nullable=False),
        pa.field("model_flow", pa.string(), nullable=False),
        pa.field("model_run", pa.string(), nullable=False),
        pa.field("title_id", pa.string(), nullable=False),
        pa.field("feature", pa.string(), nullable=False),
        pa.field("feature_value", pa.float64(), nullable=False),
        pa.field("shap_value", pa.float64(), nullable=False),
        pa.field("expected_value", pa.float64(), nullable=False),
        pa.field("prediction", pa.float64(), nullable=False),
        pa.field("created_at", _TIME, nullable=False),
    ]
)


@dataclass(frozen=True)
class ExplainerRecord:
    """One explainer run, as its tables record it.

    Attributes:
        explainer_run: ``Flow/run_id`` of the explainer run.
        model_flow: The model flow explained.
        model_run: ``Flow/run_id`` of the model run.
        model_type: Its model type.
        explainer: The SHAP explainer's class name.
        environment: The explainer environment's name.
        environment_lock: Its lock hash.
        created_at: When it ran (UTC).
    """

    explainer_run: str
    model_flow: str
    model_run: str
    model_type: str
    explainer: str
    environment: str
    environment_lock: str
    created_at: datetime


def importance_table(
    record: ExplainerRecord, importance: Mapping[str, float], drift: Mapping[str, Any] | None
) -> pa.Table:
    """The run's rows of the importance table: one per feature, most important first."""
    shares, ranks = importance_shares(importance), importance_ranks(importance)
    previous = {move["feature"]: move for move in (drift or {}).get("changes", [])}
    features = sorted(importance, key=lambda name: ranks[name])
    n = len(features)
    return pa.table(
        {
            "explainer_run": [record.explainer_run] * n,
            "model_flow": [record.model_flow] * n,
            "model_run": [record.model_run] * n,
            "model_type": [record.model_type] * n,
            "explainer": [record.explainer] * n,
            "environment": [record.environment] * n,
            "environment_lock": [record.environment_lock] * n,
            "feature": features,
            "mean_abs_shap": [float(importance[name]) for name in features],
            "share": [shares[name] for name in features],
            "rank": [ranks[name] for name in features],
            "previous_explainer_run": [(drift or {}).get("previous_run")] * n,
            "previous_share": [previous.get(name, {}).get("previous_share") for name in features],
            "previous_rank": [previous.get(name, {}).get("previous_rank") for name in features],
            "rank_correlation": [(drift or {}).get("rank_correlation")] * n,
            "created_at": [record.created_at] * n,
        },
        schema=IMPORTANCE_SCHEMA,
    )


def attributions_table(
    record: ExplainerRecord, explain_data: bytes, explanation_arrays: bytes
) -> pa.Table:
    """The run's rows of the attributions table: one per explained row and feature."""
    data, explained = unpack_arrays(explain_data), unpack_arrays(explanation_arrays)
    x, values = data["x"], explained["values"]
    rows, width = values.shape
    features = [str(name) for name in data["features"]]
    return pa.table(
        {
            "explainer_run": [record.explainer_run] * (rows * width),
            "model_flow": [record.model_flow] * (rows * width),
            "model_run": [record.model_run] * (rows * width),
            "title_id": np.repeat(data["title_ids"].astype(object), width),
            "feature": features * rows,
            "feature_value": x.reshape(-1),
            "shap_value": values.reshape(-1),
            "expected_value": np.repeat(explained["expected"], width),
            "prediction": np.repeat(explained["output"], width),
            "created_at": [record.created_at] * (rows * width),
        },
        schema=ATTRIBUTIONS_SCHEMA,
    )


def previous_importance(
    table_name: str, model_flow: str, *, before: str | None = None
) -> tuple[str, dict[str, float]] | None:
    """The latest explainer of ``model_flow`` in the importance table, other than ``before``.

    Returns:
        ``(its explainer_run, feature -> mean_abs_shap)``, or None when there is none.
    """
    table = Table(table_name)
    if not table.exists() or table.current_snapshot_id is None:
        return None
    rows = DataFrame.load(
        table,
        columns=["explainer_run", "model_flow", "feature", "mean_abs_shap", "created_at"],
        filter=f"model_flow == '{model_flow}'",
    ).to_arrow()
    if before:
        rows = rows.filter(pc.not_equal(rows.column("explainer_run"), before))
    if rows.num_rows == 0:
        return None
    latest = rows.sort_by([("created_at", "descending"), ("explainer_run", "descending")])
    run = latest.column("explainer_run")[0].as_py()
    mine = latest.filter(pc.equal(latest.column("explainer_run"), run))
    features = mine.column("feature").to_pylist()
    values = mine.column("mean_abs_shap").to_pylist()
    return run, dict(zip(features, values, strict=True))


def write_explainer_tables(
    importance_name: str,
    attributions_name: str,
    importance_rows: pa.Table,
    attribution_rows: pa.Table,
) -> dict[str, int | None]:
    """Add the run's rows to both tables, each in exactly one new snapshot.

    Returns:
        Table name -> the snapshot id the commit made.
    """
    snapshots = {}
    for name, rows, schema in (
        (importance_name, importance_rows, IMPORTANCE_SCHEMA),
        (attributions_name, attribution_rows, ATTRIBUTIONS_SCHEMA),
    ):
        table = Table(name).create(schema, exist_ok=True)
        writer = table.writer()
        writer.write(rows)
        snapshots[name] = table.commit([writer.manifest()], mode="append")
        logger.info("%s: %d rows in snapshot %s", name, rows.num_rows, snapshots[name])
    return snapshots


def attributions_additivity(table_name: str) -> dict[str, float]:
    """The largest additivity error of each explainer run, read back from its table.

    For every explained title, ``sum(shap_value) + expected_value`` against ``prediction``,
    relative to ``max(1, max |prediction|)`` of the run (as `check_additivity` measures it
    before the rows are written).

    Returns:
        ``explainer_run`` -> its largest relative error (an empty mapping: no rows yet).
    """
    rows = DataFrame.load(
        table_name,
        columns=["explainer_run", "title_id", "shap_value", "expected_value", "prediction"],
    ).to_arrow()
    per_title = rows.group_by(["explainer_run", "title_id"]).aggregate(
        [("shap_value", "sum"), ("expected_value", "max"), ("prediction", "max")]
    )
    runs = per_title.column("explainer_run").to_numpy(zero_copy_only=False)
    total = (
        per_title.column("shap_value_sum").to_numpy()
        + per_title.column("expected_value_max").to_numpy()
    )
    prediction = per_title.column("prediction_max").to_numpy()
    errors = {}
    for run in np.unique(runs):
        mine = runs == run
        scale = max(1.0, float(np.max(np.abs(prediction[mine]))))
        errors[str(run)] = float(np.max(np.abs(total[mine] - prediction[mine])) / scale)
    return errors
