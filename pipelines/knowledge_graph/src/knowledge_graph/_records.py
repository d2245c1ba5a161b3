"""The records' one order: sorted by the id columns, every id present and unique.

Records are put in this order before any step uses them, so that a record index means the
same record in every task that loads the same snapshot (the candidate pairs store indices).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from knowledge_graph._config import MatchConfig
from knowledge_graph._errors import InputDataError

__all__ = ["order_records"]


def order_records(records: pa.Table, config: MatchConfig) -> pa.Table:
    """Records sorted by the id columns: the order every step's record indices refer to.

    Args:
        records: Records with (at least) the configured id columns.
        config: The matching configuration (``id_columns``).

    Raises:
        InputDataError: An id column is missing, null, or two records share an id.
    """
    missing = [c for c in config.id_columns if c not in records.column_names]
    if missing:
        raise InputDataError(f"records lack id columns {missing}; they have {records.column_names}")
    for column in config.id_columns:
        nulls = records.column(column).null_count
        if nulls:
            raise InputDataError(
                f"id column {column!r} has {nulls} null values; every record needs an id"
            )
    ordered = records.sort_by([(c, "ascending") for c in config.id_columns])
    if ordered.num_rows > 1:
        ids = ordered.select(config.id_columns)
        same = np.ones(ordered.num_rows - 1, dtype=bool)
        for column in config.id_columns:
            values = ids.column(column)
            same &= pc.equal(values.slice(1), values.slice(0, ordered.num_rows - 1)).to_numpy(
                zero_copy_only=False
            )
        if same.any():
            row = int(np.flatnonzero(same)[0])
            example = {c: ids.column(c)[row].as_py() for c in config.id_columns}
            raise InputDataError(
                f"{int(same.sum())} records repeat an id ({config.id_columns}), e.g. {example}; "
                "ids must be unique: deduplicate the input table"
            )
    return ordered
