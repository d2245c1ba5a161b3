"""The configuration as data, the façade, and the commands that need no service."""

import json
from pathlib import Path

import media_features as mf
import pytest
from click.testing import CliRunner

from mlplatform.cli import cli
from mlplatform.testing import names_used_through

PIPELINE = Path(__file__).resolve().parents[1]


def test_the_config_file_is_the_pipelines_configuration():
    document = json.loads((PIPELINE / "features_config.json").read_text())
    config = mf.load_config()
    assert config == mf.load_config(document) == mf.MediaFeaturesConfig.model_validate(document)
    assert config.assets_table == "media.assets" and config.sample.n_assets == 300
    mf.check_backfill_features(config)  # every backfill feature exists


def write_json(path: Path, document) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_a_bad_config_names_the_key(tmp_path):
    with pytest.raises(mf.MediaFeaturesError, match=r"store\.poll_interval_s: .*greater than 0"):
        mf.load_config({"store": {"poll_interval_s": 0}})
    with pytest.raises(mf.MediaFeaturesError, match="is invalid: unknown key 'samples'"):
        mf.load_config({"samples": {}})
    with pytest.raises(mf.MediaFeaturesError, match=r"cannot read media features config /nowhere"):
        mf.load_config("/nowhere.json")
    with pytest.raises(mf.MediaFeaturesError, match="must be a JSON object, got list"):
        mf.load_config(str(write_json(tmp_path / "list.json", [])))
    with pytest.raises(mf.UnknownFeatureError, match="unknown feature 'palettes'"):
        mf.flow_config(json.dumps({"backfill": {"features": ["palettes"]}}))


def test_graph_prints_the_dependency_tree_and_refuses_unknown_features():
    runner = CliRunner()
    shown = runner.invoke(cli, ["features", "graph", "shot_stats"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[1:] == [
        "├── shot_boundaries v1",
        "│   └── brightness_curve v1",
        "│       └── frames (source)",
        "└── brightness_curve v1",
        "    └── frames (source)",
    ]
    unknown = runner.invoke(cli, ["features", "graph", "shot_stat"])
    assert unknown.exit_code == 2
    assert unknown.output.startswith("error: unknown feature 'shot_stat'")
    assert "did you mean ['shot_stats']" in unknown.output


def test_facade_exports_exactly_what_its_users_use():
    users = [PIPELINE / "flow.py", PIPELINE / "service.py", PIPELINE / "benchmarks" / "features.py"]
    users += [PIPELINE / "README.md", *sorted((PIPELINE / "tests").glob("*.py"))]
    used = names_used_through(mf.__name__, users)
    assert sorted(mf.__all__) == sorted(used)
    assert all(hasattr(mf, name) for name in mf.__all__)
