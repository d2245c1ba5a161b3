"""Clustering matched pairs into entities, with a guard against chaining.

Plain connected components let one wrong link merge two unrelated entities, and a chain of
plausible links (A~B, B~C, C~D) can pull in records that share nothing. Here links are
merged strongest first (like Kruskal's algorithm), and two groups merge only if

* they have no value of the exclusive column in common (a source lists a title once), and
* at least ``min_link_density`` of the record pairs between them are matches, and
* the merged group stays within ``max_size``.
"""

from __future__ import annotations

import logging

import numpy as np

from knowledge_graph._errors import InputDataError

__all__ = ["cluster_matches"]

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
