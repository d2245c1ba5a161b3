"""Explainer environments: composed from a model's lock, content-addressed, conflicts refused."""

from __future__ import annotations

import explainers as ex
import pytest

from mlplatform.environments import (
    EnvironmentConflictError,
    EnvironmentSpec,
    list_environments,
    lookup,
    resolve,
)

from .conftest import EXPLAINER_CONFIG, MODELS_CONFIG

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PREFIX = EXPLAINER_CONFIG.environment_prefix


def _model_lock(model: str):
    return resolve(EnvironmentSpec(tuple(MODELS_CONFIG.models[model].environment.requirements)))


def test_the_model_environments_differ_in_pinned_versions():
    pins = {
        key: dict(r.split("==") for r in model.environment.requirements)
        for key, model in MODELS_CONFIG.models.items()
    }
    assert len({p["numpy"] for p in pins.values()}) == 3  # three numpy versions
    assert pins["gradient_boosting"]["scikit-learn"] != pins["ridge"]["scikit-learn"]
    assert set(EXPLAINER_CONFIG.explainers) >= {m.model_type for m in MODELS_CONFIG.models.values()}


def test_same_lock_same_environment_under_a_new_name(env_home):
    base = _model_lock("ridge")
    first = ex.build_explainer_environment(
        base, EXPLAINER_CONFIG.requirements, name=f"{PREFIX}/ridge-1:11", prefix=PREFIX
    )
    second = ex.build_explainer_environment(
        base.to_json(), EXPLAINER_CONFIG.requirements, name=f"{PREFIX}/ridge-2:12", prefix=PREFIX
    )
    assert first.composed and not second.composed  # the composition is looked up
    assert not second.built  # ... and its environment was built already
    assert second.lock.hash == first.lock.hash
    assert lookup(f"{PREFIX}/ridge-1:11").hash == lookup(f"{PREFIX}/ridge-2:12").hash
    for name, version in base.pins().items():  # every pin of the model's environment kept
        assert second.lock.version_of(name) == version
    assert second.lock.version_of("shap") == "0.49.1"


def test_explainer_requirements_that_conflict_with_the_models_pins_name_both_sides(env_home):
    base = _model_lock("gradient_boosting")  # pins numpy==1.26.4; shap 0.50 needs numpy>=2
    with pytest.raises(EnvironmentConflictError) as raised:
        ex.build_explainer_environment(
            base, ["shap==0.50.0"], name=f"{PREFIX}/gradient_boosting-1:13", prefix=PREFIX
        )
    message = str(raised.value)
    assert "shap==0.50.0" in message and "numpy==1.26.4" in message
    assert not list_environments()  # nothing registered, nothing built
    assert not (env_home / "envs").exists() or not any((env_home / "envs").iterdir())


@pytest.mark.parametrize(
    ("model_type", "run_id", "explainer_run", "expected"),
    [
        ("ridge", "1796", "1800", "explainers/shap/ridge-1796:1800"),
        (
            "gradient_boosting",
            "argo-Model.Flow-x1",
            "argo/x",
            "explainers/shap/gradient_boosting-argo-model.flow-x1:argo-x",
        ),
    ],
)
def test_explainer_environment_names_are_valid_names(model_type, run_id, explainer_run, expected):
    from mlplatform.environments import parse_name

    name = ex.explainer_environment_name(PREFIX, model_type, run_id, explainer_run)
    assert name == expected
    assert str(parse_name(name)) == expected
