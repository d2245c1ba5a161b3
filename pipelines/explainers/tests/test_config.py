"""models.json and explainer.json: validated before any task runs, errors name the key."""

import json

import explainers as ex
import pytest

from .conftest import PIPELINE


def test_the_shipped_configurations_are_valid():
    models = ex.load_models_config(PIPELINE / "models.json")
    explainer = ex.load_explainer_config(PIPELINE / "explainer.json")
    assert set(models.models) == {"gradient_boosting", "lightgbm", "ridge"}
    assert explainer.explainers == {
        "gradient_boosting": "tree",
        "lightgbm": "tree",
        "ridge": "linear",
    }
    assert ex.flow_explainer_config((PIPELINE / "explainer.json").read_text())["requirements"] == [
        "shap==0.49.1"
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"explainers": {"ridge": "kernel"}}, "explainers.ridge: Input should be 'tree', 'linear'"),
        ({"requirements": []}, "requirements: List should have at least 1 item"),
        ({"requirements": ["shap==0.49.1", " "]}, "requirements holds an empty requirement"),
        ({"explain_rows": 0}, "explain_rows: Input should be greater than or equal to 1"),
        ({"shap_version": "0.49"}, "unknown key 'shap_version'"),
        ({"environment_prefix": "explainers"}, "environment_prefix: String should match"),
    ],
)
def test_an_invalid_explainer_config_names_the_key(change, message):
    document = {**json.loads((PIPELINE / "explainer.json").read_text()), **change}
    with pytest.raises(ex.ExplainerConfigError, match=r"explainer\.json is invalid") as raised:
        ex.load_explainer_config(document)
    assert message in str(raised.value)


def test_an_invalid_models_config_names_the_key():
    document = json.loads((PIPELINE / "models.json").read_text())
    document["models"]["ridge"]["model_type"] = "svm"
    with pytest.raises(ex.ExplainerConfigError, match=r"models.ridge.model_type: Input should be"):
        ex.load_models_config(document)


def test_a_missing_or_malformed_file_is_one_clear_line(tmp_path):
    with pytest.raises(ex.ExplainerConfigError, match=r"cannot read explainer\.json"):
        ex.load_explainer_config(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ex.ExplainerConfigError, match="is not valid JSON"):
        ex.load_explainer_config(tmp_path / "bad.json")
