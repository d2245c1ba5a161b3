"""The sample problem's table: seeding it, the training split, the rows an explainer explains.

Runs in the workspace environment (pyarrow and the catalog); what it hands to steps in other
environments is `.npz` bytes (`explainers._arrays`). The holdout split is a hash of
``title_id``, so a model flow and the explainers of its runs agree on it without storing it.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from explainers._arrays import pack_arrays
from explainers._errors import ExplainersError, ModelRunError
from explainers._sample import FEATURES, TARGET, TITLE_FEATURES_SCHEMA, generate_title_engagement
from mlplatform.data import DataFrame, Table, ensure_tables

__all__ = [
    "MIN_SPLIT_ROWS",
    "ensure_input_table",
    "holdout_mask",
    "load_explain_data",
    "load_training_data",
]

logger = logging.getLogger(__name__)

#: Each split must hold at least this many rows to train and score a model.
MIN_SPLIT_ROWS = 10


def ensure_input_table(table_name: str, *, n_rows: int, seed: int) -> int | None:
    """Resolve the title features table, seeding it in the local profile when missing.

    Returns:
        Its current snapshot id.

    Raises:
        TableNotFoundError: The table is missing outside the local profile.
    """

    def sample() -> dict[str, pa.Table]:
        logger.info("%s: seeding it with %d generated titles (seed %d)", table_name, n_rows, seed)
        return {table_name: generate_title_engagement(n_rows, seed)}

    # Runs started together take turns seeding it (ensure_tables): the others find it seeded.
    table = ensure_tables({table_name: TITLE_FEATURES_SCHEMA}, sample)[table_name]
    return table.current_snapshot_id


def holdout_mask(title_ids: Sequence[str] | np.ndarray, percent: int) -> np.ndarray:
    """True for the titles held out: ``crc32(title_id) % 100 < percent``."""
    return np.fromiter(
        (zlib.crc32(str(title).encode()) % 100 < percent for title in title_ids),
        dtype=bool,
        count=len(title_ids),
    )


def _load(table_name: str, snapshot_id: int | None, features: Sequence[str]) -> pa.Table:
    table = Table(table_name)
    missing = [c for c in ("title_id", *features, TARGET) if c not in table.schema.names]
    if missing:
        raise ModelRunError(
            f"{table_name} lacks the column(s) {missing} the model was trained on; its columns "
            f"are {table.schema.names}"
        )
    if snapshot_id is None:
        raise ExplainersError(f"{table_name} holds no data yet: nothing to train or explain")
    data = DataFrame.load(
        table, columns=["title_id", *features, TARGET], snapshot_id=snapshot_id
    ).to_arrow()
    return data.sort_by("title_id")


def _matrix(data: pa.Table, features: Sequence[str]) -> np.ndarray:
    return np.column_stack(
        [data.column(name).to_numpy().astype(np.float64) for name in features]
    ).reshape(data.num_rows, len(features))


def load_training_data(
    table_name: str, snapshot_id: int | None, holdout_percent: int
) -> tuple[bytes, dict[str, Any]]:
    """The training and holdout splits of one snapshot, for a model flow's ``train`` step.

    Returns:
        ``(npz bytes with x_train, y_train, x_holdout, y_holdout; the data reference the
        model run stores: table, snapshot_id, holdout_percent, features, row counts)``.

    Raises:
        ExplainersError: A split would hold fewer than `MIN_SPLIT_ROWS` rows.
    """
    data = _load(table_name, snapshot_id, FEATURES)
    ids = data.column("title_id").to_pylist()
    mask = holdout_mask(ids, holdout_percent)
    if mask.sum() < MIN_SPLIT_ROWS or (~mask).sum() < MIN_SPLIT_ROWS:
        raise ExplainersError(
            f"{table_name} snapshot {snapshot_id} has {len(ids)} rows: {int((~mask).sum())} to "
            f"train on and {int(mask.sum())} held out; each needs at least {MIN_SPLIT_ROWS}. "
            "Seed more rows (--sample_rows) or change holdout_percent"
        )
    x, y = _matrix(data, FEATURES), data.column(TARGET).to_numpy().astype(np.float64)
    reference = {
        "table": table_name,
        "snapshot_id": snapshot_id,
        "holdout_percent": holdout_percent,
        "features": list(FEATURES),
        "train_rows": int((~mask).sum()),
        "holdout_rows": int(mask.sum()),
    }
    arrays = pack_arrays(x_train=x[~mask], y_train=y[~mask], x_holdout=x[mask], y_holdout=y[mask])
    return arrays, reference


def load_explain_data(
    reference: dict[str, Any], *, explain_rows: int, background_rows: int, seed: int = 0
) -> tuple[bytes, int]:
    """The rows an explainer explains (holdout titles) and its background (training titles).

    Args:
        reference: The model run's ``training_data_ref`` (`load_training_data`).
        explain_rows: At most this many holdout rows, a seeded sample.
        background_rows: At most this many training rows, a seeded sample.
        seed: Sampling seed.

    Returns:
        ``(npz bytes with x, background, title_ids, features; rows explained)``.
    """
    features = [str(name) for name in reference["features"]]
    data = _load(reference["table"], reference["snapshot_id"], features)
    ids = np.asarray(data.column("title_id").to_pylist(), dtype=str)
    mask = holdout_mask(ids, int(reference["holdout_percent"]))
    x = _matrix(data, features)
    rng = np.random.default_rng(seed)
    holdout = np.flatnonzero(mask)
    chosen = np.sort(rng.permutation(holdout)[:explain_rows])
    training = np.flatnonzero(~mask)
    background = np.sort(rng.permutation(training)[:background_rows])
    arrays = pack_arrays(
        x=x[chosen],
        background=x[background],
        title_ids=ids[chosen],
        features=np.asarray(features, dtype=str),
    )
    return arrays, len(chosen)
