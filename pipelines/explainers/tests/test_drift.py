"""Drift of global importance against the previous explainer."""

import explainers as ex
import pytest

CURRENT = {"a": 0.5, "b": 0.3, "c": 0.15, "d": 0.05}


def test_no_previous_explainer_means_no_drift():
    assert ex.importance_drift(CURRENT, None) is None


def test_the_same_importances_do_not_drift():
    drift = ex.importance_drift(CURRENT, dict(CURRENT), previous_run="F/1")
    assert drift["previous_run"] == "F/1"
    assert drift["rank_correlation"] == pytest.approx(1.0)
    assert all(move["change"] == 0 for move in drift["changes"])
    assert drift["added"] == drift["removed"] == []


def test_a_reversed_order_correlates_at_minus_one_and_names_the_features_that_moved():
    previous = {"a": 0.05, "b": 0.15, "c": 0.3, "d": 0.5}
    drift = ex.importance_drift(CURRENT, previous, top=2)
    assert drift["rank_correlation"] == pytest.approx(-1.0)
    assert [m["feature"] for m in drift["moved"]] == ["a", "d"]  # |±0.45| first, name order
    first = drift["moved"][0]
    assert first["change"] == pytest.approx(0.45)
    assert (first["previous_rank"], first["rank"]) == (4, 1)


def test_added_and_removed_features_and_a_constant_side():
    drift = ex.importance_drift({"a": 1.0, "b": 1.0, "e": 2.0}, {"a": 0.2, "b": 0.3, "c": 0.1})
    assert drift["added"] == ["e"] and drift["removed"] == ["c"]
    assert drift["rank_correlation"] is None  # a and b tie in the current run
    assert {m["feature"] for m in drift["changes"]} == {"a", "b"}
