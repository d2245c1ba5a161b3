import knowledge_graph as kg
import numpy as np
import pytest
from knowledge_graph._cluster import cluster_matches


def _clusters(labels):
    groups = {}
    for record, label in enumerate(labels.tolist()):
        groups.setdefault(label, set()).add(record)
    return sorted(sorted(g) for g in groups.values())


def test_singletons_and_no_links():
    labels = cluster_matches(4, np.array([], int), np.array([], int), np.array([]))
    assert labels.tolist() == [0, 1, 2, 3]
    assert cluster_matches(0, [], [], []).tolist() == []


def test_plain_connected_components_chain():
    labels = cluster_matches(5, [0, 1, 2], [1, 2, 3], [5.0, 4.0, 3.0])
    assert _clusters(labels) == [[0, 1, 2, 3], [4]]
    assert labels.tolist() == [0, 0, 0, 0, 4]  # label = smallest member


def test_density_guard_breaks_long_chains():
    # A chain 0-1-2-3-4-5: each record only links to its neighbours.
    left, right = [0, 1, 2, 3, 4], [1, 2, 3, 4, 5]
    weight = [9.0, 1.0, 8.0, 2.0, 7.0]
    labels = cluster_matches(6, left, right, weight, min_link_density=0.5)
    # strongest first: {0,1}, {2,3}, {4,5}; joining two pairs needs 2 of 4 links, there is 1
    assert _clusters(labels) == [[0, 1], [2, 3], [4, 5]]
    # a dense group still merges
    dense = cluster_matches(4, [0, 0, 1, 2, 1], [1, 2, 2, 3, 3], [5.0] * 5, min_link_density=0.5)
    assert _clusters(dense) == [[0, 1, 2, 3]]


def test_conflicting_links_respect_exclusive_groups():
    # 0 (source a) ~ 1 (source b) strongly; 1 ~ 2 (source a) weaker: 2 may not join 0's entity.
    source = np.array([0, 1, 0, 2])
    labels = cluster_matches(4, [0, 1, 2], [1, 2, 3], [9.0, 5.0, 4.0], exclusive=source)
    assert _clusters(labels) == [[0, 1], [2, 3]]


def test_duplicate_and_self_links_and_max_size():
    labels = cluster_matches(
        4, [0, 1, 2, 2, 0], [1, 0, 2, 3, 3], [1.0, 2.0, 9.0, 1.0, 0.5], max_size=2
    )
    assert _clusters(labels) == [[0, 1], [2, 3]]


def test_bad_input():
    with pytest.raises(kg.InputDataError, match="differ in length"):
        cluster_matches(3, [0], [1, 2], [1.0])
    with pytest.raises(kg.InputDataError, match=r"\[0, 3\)"):
        cluster_matches(3, [0], [3], [1.0])
    with pytest.raises(kg.InputDataError, match="exclusive"):
        cluster_matches(3, [0], [1], [1.0], exclusive=np.array([0, 1]))
