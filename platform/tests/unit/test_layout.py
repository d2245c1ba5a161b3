"""Facts of the repository layout that the rest of the platform relies on."""

import subprocess
import tomllib

from mlplatform.config import find_workspace_root

ROOT = find_workspace_root()


def test_platform_folder_is_not_a_package():
    # A package named `platform` would shadow the standard library's module.
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_lock_file_is_ignored():
    result = subprocess.run(["git", "check-ignore", "-q", "uv.lock"], cwd=ROOT)
    assert result.returncode == 0, "uv.lock names registry hosts and must stay untracked"


def _import_rules() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_every_layer_is_placed_in_the_layer_contract():
    rules = _import_rules()
    layers = next(c for c in rules["contracts"] if c["type"] == "layers")["layers"]
    placed = {name.strip() for layer in layers for name in layer.split("|")}
    packages = ROOT / "platform" / "src" / "mlplatform"
    modules = {
        f"mlplatform.{path.stem if path.is_file() else path.name}"
        for path in packages.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.stem != "__init__")
    }
    assert modules - placed == set(), "add the new module to the layers contract in pyproject.toml"


def test_every_pipeline_package_is_checked_by_the_import_rules():
    rules = _import_rules()
    forbidden = next(c for c in rules["contracts"] if c["type"] == "forbidden")
    packages = {
        path.name
        for path in (ROOT / "pipelines").glob("*/src/*")
        if (path / "__init__.py").exists()
    }
    assert packages, "no pipeline package found"
    assert packages <= set(rules["root_packages"])
    assert packages <= set(forbidden["forbidden_modules"])
    if len(packages) > 1:  # pipelines never import each other
        independence = [c for c in rules["contracts"] if c["type"] == "independence"]
        assert any(packages <= set(c["modules"]) for c in independence)
