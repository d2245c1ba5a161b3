import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from mlplatform.config import (
    ConfigError,
    find_workspace_root,
    load_json_config,
    load_settings,
    metaflow_config,
)

PRODUCTION = {
    "MLP_PROFILE": "production",
    "MLP_STORAGE__S3_ROOT": "s3://bucket/mlp",
    "MLP_DATA__CATALOG_URI": "http://catalog:8181",
    "MLP_CACHE__REDIS_URL": "redis://cache:6379/0",
    "MLP_METAFLOW__METADATA_SERVICE_URL": "http://metadata:8080",
}


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "mlp.toml"
    path.write_text(text)
    return {"MLP_CONFIG": str(path), "MLP_HOME": str(tmp_path / "state")}


def test_defaults_are_the_local_profile(tmp_path):
    settings = load_settings({"MLP_HOME": str(tmp_path)})
    assert settings.profile == "local"
    assert settings.home == tmp_path
    assert settings.cache.backend == "sqlite"
    assert settings.data.catalog == "sql"
    assert settings.data.catalog_uri == f"sqlite:///{tmp_path / 'catalog.db'}"
    assert settings.data.warehouse == (tmp_path / "warehouse").as_uri()
    assert settings.orchestration.max_concurrent_runs == 2


def test_state_defaults_to_dot_mlp_at_the_workspace_root():
    settings = load_settings({})
    assert (settings.root / "pyproject.toml").is_file()
    assert settings.home == settings.root / ".mlp"


def test_file_overrides_defaults_and_env_overrides_file(tmp_path):
    env = write_config(
        tmp_path,
        '[local.cache]\ntimeout_s = 5.5\nbackend = "redis"\nredis_url = "redis://a:1/0"\n'
        "[local.orchestration]\nmax_concurrent_runs = 4\n",
    )
    from_file = load_settings(env)
    assert from_file.cache.timeout_s == 5.5
    assert from_file.cache.backend == "redis"
    assert from_file.orchestration.max_concurrent_runs == 4

    env |= {"MLP_CACHE__TIMEOUT_S": "0.25", "MLP_ORCHESTRATION__MAX_CONCURRENT_RUNS": "1"}
    from_env = load_settings(env)
    assert from_env.cache.timeout_s == 0.25
    assert from_env.orchestration.max_concurrent_runs == 1
    assert from_env.cache.redis_url == "redis://a:1/0"  # untouched keys keep the file's value


def test_profile_comes_from_env_over_file(tmp_path):
    env = write_config(
        tmp_path,
        'profile = "production"\n[production.storage]\ns3_root = "s3://from-file/x/"\n',
    )
    with pytest.raises(ConfigError, match="production profile needs settings"):
        load_settings(env)  # the file selects production, which lacks its services
    assert load_settings(env | {"MLP_PROFILE": "local"}).profile == "local"

    others = {k: v for k, v in PRODUCTION.items() if k != "MLP_STORAGE__S3_ROOT"}
    production = load_settings(env | others)
    assert production.profile == "production"
    assert production.storage.s3_root == "s3://from-file/x"
    assert production.cache.backend == "redis"
    assert production.compute.backend == "kubernetes"
    assert production.data.warehouse == "s3://from-file/x/warehouse"


def test_unknown_profile_names_the_value_and_the_choices(tmp_path):
    with pytest.raises(ConfigError, match=r"MLP_PROFILE = 'staging'.*\('local', 'production'\)"):
        load_settings({"MLP_PROFILE": "staging", "MLP_HOME": str(tmp_path)})
    env = write_config(tmp_path, 'profile = "prod"\n')
    with pytest.raises(ConfigError, match=r"mlp.toml: profile = 'prod' is not a profile"):
        load_settings(env)


def test_unknown_backend_lists_valid_names(tmp_path):
    env = write_config(tmp_path, '[local.cache]\nbackend = "memcached"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    message = str(error.value)
    assert "[local.cache]" in message
    assert "cache.backend = 'memcached'" in message
    assert "['sqlite', 'redis']" in message


def test_unknown_backend_from_env_names_the_variable(tmp_path):
    expected = r"env MLP_DATA__CATALOG: data.catalog = 'oracle'.*'rest'"
    with pytest.raises(ConfigError, match=expected):
        load_settings({"MLP_HOME": str(tmp_path), "MLP_DATA__CATALOG": "oracle"})


def test_unknown_key_and_section(tmp_path):
    env = write_config(tmp_path, "[local.cache]\nbackedn = 'redis'\n")
    with pytest.raises(ConfigError, match=r"unknown key cache.backedn; valid keys are \["):
        load_settings(env)
    with pytest.raises(ConfigError, match=r"unknown settings section 'caches'"):
        load_settings({"MLP_HOME": str(tmp_path), "MLP_CACHES__BACKEND": "redis"})
    env = write_config(tmp_path, "[staging.cache]\nbackend = 'redis'\n")
    with pytest.raises(ConfigError, match=r"unknown top-level key 'staging'"):
        load_settings(env)


def test_wrong_type_names_key_and_value(tmp_path):
    env = write_config(tmp_path, '[local.orchestration]\nmax_concurrent_runs = "many"\n')
    with pytest.raises(ConfigError, match=r"orchestration.max_concurrent_runs = 'many' is invalid"):
        load_settings(env)


def test_malformed_toml_names_the_file_and_position(tmp_path):
    env = write_config(tmp_path, "[local.cache\nbackend = 1\n")
    with pytest.raises(ConfigError, match=r"mlp.toml is not valid TOML: .*line 1"):
        load_settings(env)


def test_missing_config_file_named_by_env(tmp_path):
    with pytest.raises(ConfigError, match=r"does not exist \(named by MLP_CONFIG\)"):
        load_settings({"MLP_CONFIG": str(tmp_path / "nope.toml")})


def test_production_lists_every_missing_setting(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_settings({"MLP_PROFILE": "production", "MLP_HOME": str(tmp_path)})
    message = str(error.value)
    for key in ("storage.s3_root", "data.catalog_uri", "cache.redis_url", "metadata_service_url"):
        assert key in message
    assert "MLP_STORAGE__S3_ROOT" in message


def test_redis_backend_needs_a_url_in_any_profile(tmp_path):
    with pytest.raises(ConfigError, match=r"local profile needs .*cache.redis_url"):
        load_settings({"MLP_HOME": str(tmp_path), "MLP_CACHE__BACKEND": "redis"})


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MLP_STORAGE__S3_ROOT", "/data/bucket", "expected an s3:// URI"),
        ("MLP_CACHE__REDIS_URL", "cache:6379", "expected a redis://"),
    ],
)
def test_malformed_urls(variable, value, expected):
    with pytest.raises(ConfigError, match=expected):
        load_settings(PRODUCTION | {variable: value})


def test_metaflow_config_local(tmp_path):
    settings = load_settings({"MLP_HOME": str(tmp_path), "MLP_METAFLOW__USER": "ana"})
    assert metaflow_config(settings) == {
        "USER": "ana",
        "DEFAULT_DATASTORE": "local",
        "DEFAULT_METADATA": "local",
        "DATASTORE_SYSROOT_LOCAL": str(tmp_path / "metaflow"),
        "DATATOOLS_LOCALROOT": str(tmp_path / "metaflow" / "data"),
        "CARD_LOCALROOT": str(tmp_path / "metaflow" / "mf.cards"),
    }


def test_metaflow_config_production():
    settings = load_settings(PRODUCTION | {"MLP_STORAGE__S3_ENDPOINT_URL": "http://127.0.0.1:9000"})
    values = metaflow_config(settings)
    assert values["DEFAULT_DATASTORE"] == "s3"
    assert values["DATASTORE_SYSROOT_S3"] == "s3://bucket/mlp/metaflow"
    assert values["DATATOOLS_S3ROOT"] == "s3://bucket/mlp/metaflow/data"
    assert values["DEFAULT_METADATA"] == "service"
    assert values["SERVICE_URL"] == "http://metadata:8080"
    assert values["S3_ENDPOINT_URL"] == "http://127.0.0.1:9000"
    assert values["KUBERNETES_NAMESPACE"] == "default"
    assert "ARGO_EVENTS_WEBHOOK_URL" not in values  # unset optional values stay unset


def test_metaflow_user_falls_back_to_local_for_root(tmp_path, monkeypatch):
    monkeypatch.delenv("METAFLOW_USER", raising=False)
    monkeypatch.setattr("getpass.getuser", lambda: "root")
    assert load_settings({"MLP_HOME": str(tmp_path)}).metaflow_user == "local"
    monkeypatch.setattr("getpass.getuser", lambda: "maria")
    assert load_settings({"MLP_HOME": str(tmp_path)}).metaflow_user == "maria"
    monkeypatch.setenv("METAFLOW_USER", "ci-bot")
    assert load_settings({"MLP_HOME": str(tmp_path)}).metaflow_user == "ci-bot"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[local]\ncache = 3\n", r"\[local\] cache = 3 is not a table; expected a table of keys"),
        ("profile = 3\n", r"profile = 3 must be a string, one of \['local', 'production'\]"),
    ],
)
def test_a_section_that_is_not_a_table_is_one_clear_error(tmp_path, text, expected):
    # Issue 12: `cache = 3` under [local] raised a TypeError.
    with pytest.raises(ConfigError, match=expected):
        load_settings(write_config(tmp_path, text))


def test_a_config_file_that_is_not_utf8_is_one_clear_error(tmp_path):
    env = write_config(tmp_path, "")
    Path(env["MLP_CONFIG"]).write_bytes(b'[local.cache]\nbackend = "sq\xe9lite"\n')
    with pytest.raises(ConfigError, match=r"is not UTF-8 text \(byte 27 is 0xe9\)"):
        load_settings(env)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MLP_ORCHESTRATION__MAX_CONCURRENT_RUNS", "0", "greater than or equal to 1"),
        ("MLP_ORCHESTRATION__MAX_CONCURRENT_RUNS", "-1", "greater than or equal to 1"),
        ("MLP_DATA__READ_THREADS", "0", "greater than or equal to 1"),
        ("MLP_CACHE__KEEP_GENERATIONS", "-2", "greater than or equal to 0"),
        ("MLP_CACHE__TIMEOUT_S", "0", "greater than 0"),
    ],
)
def test_out_of_range_settings_are_refused_not_clamped(tmp_path, variable, value, expected):
    # Issue 12: max_concurrent_runs = 0 or -1 and read_threads = 0 were clamped to 1.
    section, key = variable.removeprefix("MLP_").lower().split("__")
    with pytest.raises(ConfigError) as error:
        load_settings({"MLP_HOME": str(tmp_path), variable: value})
    message = str(error.value)
    assert f"env {variable}: {section}.{key} = {value!r} is invalid" in message
    assert expected in message


def test_a_flow_run_with_a_bad_profile_fails_in_one_line(tmp_path):
    # Issue 12: `MLP_PROFILE=foo python flow.py show` printed 33 lines of traceback.
    flow = find_workspace_root() / "platform" / "tests" / "flows_example" / "ingest_flow.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLP_")}
    result = subprocess.run(
        [sys.executable, str(flow), "show"],
        env=env | {"MLP_PROFILE": "foo", "METAFLOW_USER": "tester", "MLP_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: MLP_PROFILE = 'foo' is not a profile; valid profiles are ('local', 'production')"
    ]


def test_every_layer_section_is_known_and_defaults_resolve(tmp_path):
    settings = load_settings(write_config(tmp_path, ""))
    assert list(settings.sections) == [
        "storage",
        "metaflow",
        "data",
        "compute",
        "environments",
        "orchestration",
        "argo",
        "cache",
        "hosting",
    ]
    assert settings.orchestration.flows_dir == settings.root / "pipelines"
    assert settings.source_of("cache", "backend") == "default"
    with pytest.raises(AttributeError, match="settings have no section 'nothing'"):
        _ = settings.nothing


class ExampleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    class Inner(BaseModel):
        model_config = ConfigDict(extra="forbid")
        size: int = Field(gt=0)

    name: str
    inner: Inner = Inner(size=1)


class ExampleError(Exception):
    pass


def load_example(source):
    return load_json_config(
        source, ExampleConfig, name="example config", error=ExampleError, example="ex.json"
    )


def test_a_json_config_loads_from_a_mapping_a_text_or_a_file(tmp_path):
    path = tmp_path / "ex.json"
    path.write_text('{"name": "a", "inner": {"size": 3}}')
    expected = ExampleConfig(name="a", inner={"size": 3})
    assert load_example(path) == load_example(str(path)) == expected
    assert load_example(path.read_text()) == load_example({"name": "a", "inner": {"size": 3}})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "/nowhere/ex.json",
            "cannot read example config /nowhere/ex.json: No such file or "
            r"directory; pass an existing JSON file \(see ex.json\)$",
        ),
        ('{"name": ', "^example config is not valid JSON: Expecting value"),
        ({"name": "a", "colour": 1}, r"^example config is invalid: unknown key 'colour'$"),
        ({}, r"^example config is invalid: missing required key 'name'$"),
        (
            {"name": "a", "inner": {"size": 0}},
            r"^example config is invalid: inner.size: Input should be greater than 0 \(got 0\)$",
        ),
    ],
)
def test_a_bad_json_config_is_one_line_naming_the_key(source, message):
    with pytest.raises(ExampleError, match=message) as raised:
        load_example(source)
    assert "\n" not in str(raised.value)


def test_a_json_config_file_must_hold_an_object(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(ExampleError, match=f"^{path} must be a JSON object, got list$"):
        load_example(path)
