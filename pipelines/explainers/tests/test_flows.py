"""End to end on the local profile: model runs through metaflow.Runner, their finish events
through the real orchestrator, each explainer in its own environment; then by hand.
"""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path

import explainers as ex
import pytest
from metaflow import Run, Runner

from mlplatform.data import DataFrame, Table
from mlplatform.environments import list_environments, lookup
from mlplatform.orchestration import Orchestrator, list_runs

from .conftest import EXPLAINER_CONFIG, PIPELINE

pytestmark = [pytest.mark.integration]

MODELS = {  # flow -> (its file, its libraries' versions: its own environment's pins)
    "GradientBoostingModelFlow": (
        "model_gradient_boosting.py",
        {"scikit-learn": "1.5.2", "numpy": "1.26.4"},
    ),
    "LightGBMModelFlow": ("model_lightgbm.py", {"lightgbm": "4.6.0", "numpy": "2.2.6"}),
    "RidgeModelFlow": ("model_ridge.py", {"scikit-learn": "1.9.1", "numpy": "2.4.6"}),
}
EXPLAINERS = {
    "GradientBoostingModelFlow": ("GradientBoostingExplainerFlow", "TreeExplainer"),
    "LightGBMModelFlow": ("LightGBMExplainerFlow", "TreeExplainer"),
    "RidgeModelFlow": ("RidgeExplainerFlow", "LinearExplainer"),
}
SMALL = {"sample_rows": 600, "trees": 15}


def _card_images(card: Path) -> int:
    """PNG images in a Metaflow card file (its components are base64 JSON inside the HTML)."""
    encoded = re.search(r'__MF_DATA__\["[^"]+"\] = "([A-Za-z0-9+/=]+)"', card.read_text())
    return base64.b64decode(encoded.group(1)).decode().count('"src": "data:image/png;base64,')


def _client(home, pathspec) -> Run:
    # The in-process client read its profile at first import; point it at this test's state.
    return Run(pathspec, _namespace_check=False, _current_metadata=f"local@{home / 'metaflow'}")


async def _train_models(tmp_path) -> dict[str, str]:
    async def one(file):
        runner = Runner(str(PIPELINE / file), show_output=False, cwd=str(tmp_path))
        running = await runner.async_run(**SMALL)
        await running.wait()
        assert running.status == "successful", running.stderr
        return running.run.pathspec

    names = list(MODELS)
    pathspecs = await asyncio.gather(*(one(MODELS[name][0]) for name in names))
    return dict(zip(names, pathspecs, strict=True))


@pytest.mark.slow  # `mlp nightly` runs this chain (explainers hook)
@pytest.mark.timeout(900)
def test_each_model_run_triggers_its_explainer_in_its_own_environment(
    env_home, tmp_path, monkeypatch
):
    monkeypatch.setenv("MLP_ORCHESTRATION__MAX_CONCURRENT_RUNS", "3")
    monkeypatch.setenv("MLP_ORCHESTRATION__MAX_ATTEMPTS", "1")
    models = asyncio.run(_train_models(tmp_path))
    for flow, (_, versions) in MODELS.items():
        run = _client(env_home, models[flow])
        assert run.data.library_versions == versions  # trained in its own environment
        assert ex.unpack_arrays
        assert lookup(run.data.environment_name).to_json() == run.data.environment_lock

    summary = Orchestrator(flows_dir=PIPELINE).run(until_idle=True)
    assert (summary.started, summary.succeeded, summary.failed) == (3, 3, 0)
    explained = {record.flow: record for record in list_runs()}
    assert set(explained) == {flow for flow, _ in EXPLAINERS.values()}

    locks = set()
    for model_flow, (explainer_flow, explainer_class) in EXPLAINERS.items():
        record = explained[explainer_flow]
        assert record.status == "succeeded"
        assert record.event_name == f"metaflow.{model_flow}.end"
        run = _client(env_home, record.pathspec)
        data = run.data
        assert data.model_run_pathspec == models[model_flow]  # the triggering run
        assert data.result.explainer == explainer_class
        assert data.result.max_additivity_error < EXPLAINER_CONFIG.additivity_tolerance
        expected = {"shap": "0.49.1", **MODELS[model_flow][1]}
        assert data.result.library_versions == expected  # the model's own pins + SHAP
        model_type = _client(env_home, models[model_flow]).data.model_type
        run_id = models[model_flow].split("/")[1]
        assert data.explainer_environment == f"explainers/shap/{model_type}-{run_id}:{run.id}"
        assert lookup(data.explainer_environment).hash == data.explainer_environment_lock
        assert data.drift is None  # the first explainer of its model flow
        locks.add(data.explainer_environment_lock)
        (card,) = (env_home / "metaflow").glob(
            f".metaflow/{explainer_flow}/runs/{run.id}/steps/publish/tasks/*/cards/*.html"
        )
        assert _card_images(card) == 2  # importance bars + beeswarm (no drift chart yet)
    assert len(locks) == 3  # three environments, one per model's pins

    importance = DataFrame.load("explainers.importance").to_arrow()
    assert importance.num_rows == 3 * len(ex.FEATURES)
    assert len(Table("explainers.importance").snapshots()) == 3  # one per explainer run
    assert len(Table("explainers.attributions").snapshots()) == 3

    # By hand: explain the gradient-boosting run again. Same model lock: the composition is
    # looked up and the environment is built already; drift against the triggered explainer.
    first = _client(env_home, explained["GradientBoostingExplainerFlow"].pathspec)
    runner = Runner(str(PIPELINE / "flow.py"), show_output=False, cwd=str(tmp_path))
    with runner.run(model_run=models["GradientBoostingModelFlow"]) as running:
        assert running.status == "successful", running.stderr
        again_id, again = running.run.id, running.run.data
    assert not again.environment_composed and not again.environment_built
    assert again.explainer_environment_lock == first.data.explainer_environment_lock
    assert again.explainer_environment != first.data.explainer_environment
    assert again.drift["previous_run"] == first.pathspec
    assert again.drift["rank_correlation"] == pytest.approx(1.0)
    assert again.drift["moved"][0]["change"] == pytest.approx(0.0, abs=1e-12)
    assert len(Table("explainers.importance").snapshots()) == 4
    (card,) = (env_home / "metaflow").glob(
        f".metaflow/ExplainerFlow/runs/{again_id}/steps/publish/tasks/*/cards/*.html"
    )
    assert _card_images(card) == 3  # + the drift chart

    # A model type with no explainer fails before anything is built or written.
    registered = len(list_environments())
    no_ridge = {**EXPLAINER_CONFIG.model_dump(), "explainers": {"lightgbm": "tree"}}
    with pytest.raises(ex.UnsupportedModelTypeError, match="model type 'ridge' has no explainer"):
        ex.prepare_explanation(
            no_ridge, models["RidgeModelFlow"], None, metadata=f"local@{env_home / 'metaflow'}"
        )
    assert len(list_environments()) == registered
    assert len(Table("explainers.importance").snapshots()) == 4


@pytest.mark.timeout(600)
def test_a_missing_or_failed_model_run_fails_the_explainer_before_any_build(env_home, tmp_path):
    with Runner(str(PIPELINE / "model_ridge.py"), show_output=False, cwd=str(tmp_path)).run(
        sample_rows=30  # too few titles to split: the model run fails in its start step
    ) as running:
        assert running.status == "failed"
        failed = running.run.pathspec
        assert "each needs at least 10" in running.stdout + running.stderr
    metadata = f"local@{env_home / 'metaflow'}"
    with pytest.raises(ex.ModelRunError, match=f"model run {failed} failed"):
        ex.prepare_explanation(EXPLAINER_CONFIG.model_dump(), failed, None, metadata=metadata)
    with pytest.raises(ex.ModelRunError, match="no model run to explain: pass --model-run"):
        ex.prepare_explanation(EXPLAINER_CONFIG.model_dump(), "", None, metadata=metadata)
    with pytest.raises(ex.ModelRunError, match="RidgeModelFlow has no successful run yet"):
        ex.prepare_explanation(
            EXPLAINER_CONFIG.model_dump(), "RidgeModelFlow/latest", None, metadata=metadata
        )
    before = {str(e.name) for e in list_environments()}

    runner = Runner(str(PIPELINE / "flow.py"), show_output=False, cwd=str(tmp_path))
    with runner.run(model_run="RidgeModelFlow/999") as running:
        assert running.status == "failed"
        assert "model run RidgeModelFlow/999 does not exist" in running.stdout + running.stderr
        steps = [step.id for step in running.run]
    assert steps == ["start"]  # nothing after it ran: no environment composed or built
    assert {str(e.name) for e in list_environments()} == before
    assert not Table("explainers.importance").exists()
    assert not Table("explainers.attributions").exists()
