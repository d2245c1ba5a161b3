import knowledge_graph as kg
import numpy as np
import pytest
from knowledge_graph._model import estimate_u, expectation_maximisation

TRUE_M = [np.array([0.05, 0.15, 0.8]), np.array([0.1, 0.9]), np.array([0.02, 0.08, 0.2, 0.7]),
          np.array([0.3, 0.7])]  # fmt: skip
TRUE_U = [np.array([0.85, 0.1, 0.05]), np.array([0.7, 0.3]), np.array([0.6, 0.25, 0.1, 0.05]),
          np.array([0.5, 0.5])]  # fmt: skip
N_LEVELS = [3, 2, 4, 2]
NAMES = ["a", "b", "c", "d"]


def _synthetic(n=200_000, prior=0.2, null_share=0.1, seed=0):
    rng = np.random.default_rng(seed)
    is_match = rng.random(n) < prior
    levels = np.empty((n, len(N_LEVELS)), dtype=np.int8)
    for column, (m, u) in enumerate(zip(TRUE_M, TRUE_U, strict=True)):
        drawn_m = rng.choice(len(m), n, p=m)
        drawn_u = rng.choice(len(u), n, p=u)
        levels[:, column] = np.where(is_match, drawn_m, drawn_u)
        levels[rng.random(n) < null_share, column] = -1  # nulls: no evidence
    return levels, is_match


def test_em_recovers_known_m_u_and_prior():
    levels, is_match = _synthetic()
    model = expectation_maximisation(levels, N_LEVELS, NAMES, fix_u=False)
    assert model.converged
    assert model.prior == pytest.approx(is_match.mean(), abs=0.01)
    for got, want in zip(model.m, TRUE_M, strict=True):
        np.testing.assert_allclose(got, want, atol=0.02)
    for got, want in zip(model.u, TRUE_U, strict=True):
        np.testing.assert_allclose(got, want, atol=0.02)


def test_em_with_fixed_u_recovers_m():
    levels, _ = _synthetic(seed=1)
    model = expectation_maximisation(levels, N_LEVELS, NAMES, u=TRUE_U, fix_u=True)
    for got, want in zip(model.m, TRUE_M, strict=True):
        np.testing.assert_allclose(got, want, atol=0.02)
    for got, want in zip(model.u, TRUE_U, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_estimate_u_counts_levels_and_skips_nulls():
    levels = np.array([[0, 1], [0, -1], [1, 1], [-1, 0]], dtype=np.int8)
    u = estimate_u(levels, [2, 2])
    np.testing.assert_allclose(u[0], [2 / 3, 1 / 3], atol=1e-5)
    np.testing.assert_allclose(u[1], [1 / 3, 2 / 3], atol=1e-5)


def test_nulls_add_no_evidence_and_weights_order():
    model = kg.FellegiSunterModel(NAMES, TRUE_M, TRUE_U, prior=0.2)
    levels = np.array([[2, 1, 3, 1], [-1, -1, -1, -1], [0, 0, 0, 0], [2, -1, 3, -1]], np.int8)
    weight = model.match_weight(levels)
    assert weight[1] == pytest.approx(np.log2(0.2 / 0.8))
    assert weight[0] > weight[3] > weight[1] > weight[2]
    probability = model.probability(weight)
    assert probability[1] == pytest.approx(0.2)


def test_term_frequency_adjustment_discounts_common_values():
    model = kg.FellegiSunterModel(["title"], [np.array([0.1, 0.9])], [np.array([0.99, 0.01])], 0.1)
    model.tf_reference = {"title": 1e-3}
    model.tf_minimum = 1e-6
    levels = np.array([[1], [1], [0]], dtype=np.int8)
    frequency = {"title": np.array([1e-2, 1e-4, 0.5])}  # common, rare, (not exact: ignored)
    adjusted = model.match_weight(levels, frequency)
    plain = model.match_weight(levels)
    assert adjusted[0] == pytest.approx(plain[0] + np.log2(1e-3 / 1e-2))
    assert adjusted[1] == pytest.approx(plain[1] + np.log2(1e-3 / 1e-4))
    assert adjusted[2] == plain[2]


def test_round_trip_and_errors():
    model = kg.FellegiSunterModel(NAMES, TRUE_M, TRUE_U, prior=0.2, tf_reference={"a": 0.1})
    again = kg.FellegiSunterModel.from_dict(model.to_dict())
    levels, _ = _synthetic(n=100)
    np.testing.assert_allclose(again.match_weight(levels), model.match_weight(levels))
    with pytest.raises(kg.InputDataError, match="shape"):
        model.match_weight(levels[:, :2])
    with pytest.raises(kg.InputDataError, match="columns"):
        expectation_maximisation(levels[:, :2], N_LEVELS, NAMES)
    with pytest.raises(kg.InputDataError, match="fix_u"):
        expectation_maximisation(levels, N_LEVELS, NAMES, fix_u=True)


def test_em_on_no_pairs_keeps_start_values():
    model = expectation_maximisation(np.zeros((0, 4), np.int8), N_LEVELS, NAMES, fix_u=False)
    assert model.iterations == 0 and not model.converged


def test_max_comparison_weight_bounds_every_level_and_term_frequency():
    model = kg.FellegiSunterModel(NAMES, TRUE_M, TRUE_U, prior=0.2)
    model.tf = {"c": (np.array(["home"], dtype=object), np.array([0.01]))}
    model.tf_reference = {"c": 0.05}
    model.tf_minimum = 1e-4
    for column, n_levels in enumerate(N_LEVELS):
        levels = np.arange(-1, n_levels, dtype=np.int8)
        rarest = np.full(len(levels), model.tf_minimum) if NAMES[column] == "c" else None
        weights = model.comparison_weight(column, levels, rarest)
        assert weights.max() == pytest.approx(model.max_comparison_weight(column))
    # "c" is term-frequency adjusted: its exact level on the rarest value is the maximum
    assert model.max_comparison_weight(2) == pytest.approx(
        np.log2(0.7 / 0.05) + np.log2(0.05 / 1e-4)
    )
