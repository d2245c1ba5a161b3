"""Clustering matched pairs into entities, with a guard against chaining.

Plain connected components let one wrong link merge two unrelated entities, and a chain of
plausible links (A~B, B~C, C~D) can pull in records that share nothing. Here links are
merged strongest first (like Kruskal's algorithm), and two groups merge only if

* they have no value of the exclusive column in common (a source lists a title once), and
* at least ``min_link_density`` of the record pairs between them are matches, and
* the merged group stays within ``max_size``.

`resolve_entities` turns the matches table into the entities table: one row per cluster with
a stable id (a hash of its smallest member's id) and the most common canonical values.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from knowledge_graph._config import MatchConfig
from knowledge_graph._errors import InputDataError
from knowledge_graph._schemas import entities_schema

__all__ = ["cluster_matches", "resolve_entities"]

logger = logging.getLogger(__name__)


def cluster_matches(
    n_records: int,
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    *,
    exclusive: np.ndarray | None = None,
    min_link_density: float = 0.0,
    max_size: int | None = None,
) -> np.ndarray:
    """Group records into entities from matched pairs.

    Args:
        n_records: Number of records; every record ends up in exactly one cluster.
        left: Record indices of the matched pairs' left sides.
        right: Record indices of the right sides.
        weight: Match weight of each pair; stronger links are merged first.
        exclusive: Per record, an integer group (e.g. its source); two records of the same
            group never share a cluster. None: no such constraint.
        min_link_density: Share of the pairs between two groups that must be matches for
            them to merge (0 gives plain connected components).
        max_size: Largest allowed cluster, or None.

    Returns:
        Per record, its cluster label: the smallest record index in its cluster.

    Raises:
        InputDataError: Arrays differ in length or indices are out of range.
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.float64)
    if not len(left) == len(right) == len(weight):
        raise InputDataError(
            f"left, right and weight differ in length: {len(left)}, {len(right)}, {len(weight)}"
        )
    if len(left) and (
        min(left.min(), right.min()) < 0 or max(left.max(), right.max()) >= n_records
    ):
        raise InputDataError(f"match indices must lie in [0, {n_records})")
    if exclusive is not None and len(exclusive) != n_records:
        raise InputDataError(f"exclusive has {len(exclusive)} entries for {n_records} records")

    keep = left != right
    left, right, weight = left[keep], right[keep], weight[keep]
    # One link per unordered pair, keeping the strongest.
    low, high = np.minimum(left, right), np.maximum(left, right)
    order = np.lexsort((-weight, high, low))
    low, high, weight = low[order], high[order], weight[order]
    first = np.r_[True, (low[1:] != low[:-1]) | (high[1:] != high[:-1])] if len(low) else []
    low, high, weight = low[first], high[first], weight[first]

    parent = list(range(n_records))
    size = [1] * n_records
    groups: list[int] = (
        [1 << int(g) for g in np.unique(exclusive, return_inverse=True)[1]]
        if exclusive is not None
        else [0] * n_records
    )
    # links[root][other_root] = matched pairs between the two groups
    links: dict[int, dict[int, int]] = {}
    for a, b in zip(low.tolist(), high.tolist(), strict=True):
        links.setdefault(a, {})[b] = links.get(a, {}).get(b, 0) + 1
        links.setdefault(b, {})[a] = links.get(b, {}).get(a, 0) + 1

    def find(item: int) -> int:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    refused = 0
    strongest_first = np.argsort(-weight, kind="stable")
    for a, b in zip(low[strongest_first].tolist(), high[strongest_first].tolist(), strict=True):
        root_a, root_b = find(a), find(b)
        if root_a == root_b:
            continue
        between = links[root_a].get(root_b, 0)
        if (
            groups[root_a] & groups[root_b]
            or between < min_link_density * size[root_a] * size[root_b]
            or (max_size is not None and size[root_a] + size[root_b] > max_size)
        ):
            refused += 1
            continue
        if size[root_a] < size[root_b]:
            root_a, root_b = root_b, root_a
        parent[root_b] = root_a
        size[root_a] += size[root_b]
        groups[root_a] |= groups[root_b]
        merged = links.pop(root_b, {})
        target = links[root_a]
        for other, count in merged.items():
            if other == root_a:
                continue
            target[other] = target.get(other, 0) + count
            neighbour = links[other]
            neighbour.pop(root_b, None)
            neighbour[root_a] = neighbour.get(root_a, 0) + count
        target.pop(root_b, None)
    roots = np.fromiter((find(i) for i in range(n_records)), dtype=np.int64, count=n_records)
    # Label = smallest member, so labels do not depend on merge order.
    smallest = np.full(n_records, n_records, dtype=np.int64)
    np.minimum.at(smallest, roots, np.arange(n_records))
    labels = smallest[roots]
    logger.info(
        "clustering: %d records, %d links, %d clusters, %d merges refused by the guard",
        n_records,
        len(low),
        len(np.unique(labels)),
        refused,
    )
    return labels


def _positions(records: pa.Table, matches: pa.Table, side: str, config: MatchConfig) -> np.ndarray:
    index = pd.DataFrame(
        {c: records.column(c).to_numpy(zero_copy_only=False) for c in config.id_columns}
    )
    index["position"] = np.arange(records.num_rows)
    wanted = pd.DataFrame(
        {c: matches.column(f"{side}_{c}").to_numpy(zero_copy_only=False) for c in config.id_columns}
    )
    merged = wanted.merge(index, on=config.id_columns, how="left")
    if merged["position"].isna().any():
        row = merged[merged["position"].isna()].iloc[0]
        raise InputDataError(
            f"a match refers to record {dict(row[config.id_columns])}, which is not among the "
            "records: matches and records come from different snapshots"
        )
    return merged["position"].to_numpy(np.int64)


def _entity_id(key: tuple) -> str:
    digest = hashlib.blake2b("\x1f".join(map(str, key)).encode(), digest_size=8).hexdigest()
    return f"ent-{digest}"


def resolve_entities(
    records: pa.Table, matches: pa.Table, config: MatchConfig
) -> tuple[pa.Table, np.ndarray]:
    """Cluster matches into entities.

    Args:
        records: Ordered records.
        matches: The matches table (ids of both sides and ``match_weight``).
        config: The matching configuration (``cluster`` and ``canonical_columns``).

    Returns:
        ``(entities, labels)``: one row per entity (id, size, members, the most common value
        of each canonical column), and per record its cluster label.
    """
    n = records.num_rows
    left = _positions(records, matches, "left", config)
    right = _positions(records, matches, "right", config)
    weight = matches.column("match_weight").to_numpy()
    exclusive = None
    if config.cluster.exclusive_column:
        exclusive, _ = pd.factorize(
            records.column(config.cluster.exclusive_column).to_numpy(zero_copy_only=False)
        )
    labels = cluster_matches(
        n,
        left,
        right,
        weight,
        exclusive=exclusive,
        min_link_density=config.cluster.min_link_density,
        max_size=config.cluster.max_size,
    )
    schema = entities_schema(config, records.schema)
    if n == 0:
        return schema.empty_table(), labels
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_labels)) + 1]
    sizes = np.diff(np.r_[starts, n])
    members = pa.ListArray.from_arrays(
        pa.array(np.r_[starts, n].astype(np.int32)),
        pa.StructArray.from_arrays(
            [records.column(c).take(order).combine_chunks() for c in config.id_columns],
            fields=[records.schema.field(c) for c in config.id_columns],
        ),
    )
    first = order[starts]  # smallest index of each cluster: the label itself
    id_values = [records.column(c).take(first).to_pylist() for c in config.id_columns]
    columns: dict[str, Any] = {
        "entity_id": pa.array([_entity_id(key) for key in zip(*id_values, strict=True)]),
        "size": pa.array(sizes.astype(np.int32)),
        "members": members,
    }
    cluster_of = np.repeat(np.arange(len(starts)), sizes)  # cluster number, in sorted order
    for column in config.canonical_columns:
        values = records.column(column).take(order)
        frame = pd.DataFrame(
            {"cluster": cluster_of, "value": values.to_pandas(), "position": np.arange(n)}
        ).dropna(subset=["value"])
        counted = frame.groupby(["cluster", "value"], sort=False).agg(
            count=("position", "size"), first=("position", "min")
        )
        counted = counted.reset_index().sort_values(
            ["cluster", "count", "first"], ascending=[True, False, True]
        )
        best = counted.drop_duplicates("cluster")
        picked = np.full(len(starts), -1, dtype=np.int64)
        picked[best["cluster"].to_numpy()] = best["first"].to_numpy()
        columns[column] = values.take(pa.array(np.where(picked >= 0, picked, 0))).combine_chunks()
        if (picked < 0).any():
            mask = pa.array(picked < 0)
            columns[column] = pc.if_else(mask, pa.scalar(None, values.type), columns[column])
    return pa.Table.from_pydict(columns, schema=schema), labels
