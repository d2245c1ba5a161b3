import knowledge_graph as kg
import numpy as np
import pytest
from knowledge_graph._model import (
    _m_and_u,
    _m_given_u,
    estimate_u,
    expectation_maximisation,
    isotonic_regression,
)

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


def test_isotonic_regression_pools_violators_and_keeps_weighted_sums():
    values, weights = np.array([1.0, 3.0, 2.0, 4.0, 0.0]), np.array([1.0, 1.0, 3.0, 1.0, 1.0])
    fitted = isotonic_regression(values, weights)
    assert np.all(np.diff(fitted) >= 0)
    # (3, 2) pool to 2.25 (weight 4); then (4, 0) to 2.0, which pools with 2.25 to 13/6
    np.testing.assert_allclose(fitted, [1.0, 13 / 6, 13 / 6, 13 / 6, 13 / 6])
    assert (fitted * weights).sum() == pytest.approx((values * weights).sum())
    ordered = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(isotonic_regression(ordered, np.ones(3)), ordered)


def test_constrained_m_steps_give_non_decreasing_ratios_and_keep_ordered_ones():
    matched, unmatched = np.array([5.0, 40.0, 10.0, 45.0]), np.array([900.0, 20.0, 60.0, 20.0])
    free_m, free_u = _m_and_u(matched, unmatched, monotone=False)
    assert np.any(np.diff(np.log(free_m / free_u)) < 0)  # level 2 weighs less than level 1
    m, u = _m_and_u(matched, unmatched, monotone=True)
    assert m.sum() == pytest.approx(1) and u.sum() == pytest.approx(1)
    assert np.all(np.diff(np.log(m / u)) >= -1e-12)
    fixed_u = np.array([0.9, 0.02, 0.06, 0.02])
    m = _m_given_u(matched, fixed_u, monotone=True)
    assert np.all(np.diff(np.log(m / fixed_u)) >= -1e-12) and m.sum() == pytest.approx(1)
    # already in order: the constraint changes nothing
    ordered, falling = np.array([5.0, 10.0, 40.0, 45.0]), np.array([900.0, 60.0, 20.0, 20.0])
    np.testing.assert_allclose(_m_and_u(ordered, falling, True), _m_and_u(ordered, falling, False))


def _falling(model):
    return {
        name: np.round(model.level_weights(column), 2).tolist()
        for column, name in enumerate(model.names)
        if np.any(np.diff(model.level_weights(column)) < -1e-9)
    }


def test_weights_never_fall_as_agreement_rises_where_one_blocking_rule_dominates(
    person_sample, person_config
):
    records = kg.order_records(person_sample.records, person_config)
    left, right, by_rule, _ = kg.block_records(records, person_config)
    assert by_rule["postcode"] > 0.9 * len(left)  # the postcode block proposes most pairs
    prepared = kg.prepare_records(records, person_config)
    free = person_config.model_copy(
        update={"em": person_config.em.model_copy(update={"monotone": False})}
    )
    unconstrained = kg.train_model(prepared, left, right, free, workers=1)
    # the data shows the problem: unconstrained, some better level weighs less than a worse one
    assert _falling(unconstrained)
    model = kg.train_model(prepared, left, right, person_config, workers=1)
    assert model.monotone and _falling(model) == {}
    # a term-frequency adjusted exact match on the commonest surname still weighs at least as
    # much as the level below it
    column = model.names.index("surname")
    frequencies = model.record_frequencies(prepared)["surname"]
    top = person_config.fields[column].n_levels - 1
    exact = model.comparison_weight(column, np.array([top]), np.array([frequencies.max()]))
    assert exact[0] >= model.level_weights(column)[top - 1] - 1e-12


def test_title_sample_weights_are_monotone_too(small_sample, config):
    records = kg.order_records(small_sample.records, config)
    left, right, _, _ = kg.block_records(records, config)
    prepared = kg.prepare_records(records, config)
    assert _falling(kg.train_model(prepared, left, right, config, workers=1)) == {}
