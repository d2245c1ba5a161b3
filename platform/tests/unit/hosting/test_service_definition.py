"""Service definitions that cannot be served fail when they are written, in one line."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from mlplatform.config import ConfigError, load_settings
from mlplatform.hosting import Context, HostingError, Service, ServiceDefinitionError, load_service
from mlplatform.hosting._settings import require_tokens


class Body(BaseModel):
    x: int


def test_a_service_name_is_a_dns_label():
    for bad in ("Title Scores", "-x", "a" * 64, ""):
        with pytest.raises(ServiceDefinitionError, match="is invalid: expected lower-case"):
            Service(bad)


@pytest.mark.parametrize(
    ("path", "options", "expected"),
    [
        ("score", {}, "must start with '/'"),
        ("/healthz", {}, "answered by the platform itself"),
        ("/jobs/x", {}, "answered by the platform itself"),
        ("/a", {"mode": "later"}, "mode must be 'sync' or 'async'"),
        ("/a", {"mode": "async", "methods": ["GET"]}, "async endpoint is POST only"),
    ],
)
def test_endpoints_that_cannot_be_served_are_refused(path, options, expected):
    svc = Service("svc")
    with pytest.raises(ServiceDefinitionError, match=expected):

        @svc.endpoint(path, **options)
        def handler(body: Body, ctx: Context) -> Body:
            return body


def test_an_async_endpoint_needs_a_request_model_and_paths_are_unique():
    svc = Service("svc")
    with pytest.raises(ServiceDefinitionError, match="takes a pydantic request model"):

        @svc.endpoint("/a", mode="async")
        def no_model(ctx: Context) -> dict:
            return {}

    @svc.endpoint("/b")
    def first(body: Body) -> Body:
        return body

    with pytest.raises(ServiceDefinitionError, match="POST /b is defined twice"):

        @svc.endpoint("/b")
        def second(body: Body) -> Body:
            return body


def test_loading_a_service_file_needs_exactly_one_service(tmp_path):
    with pytest.raises(ServiceDefinitionError, match="does not exist"):
        load_service(tmp_path / "nope.py")
    broken = tmp_path / "broken.py"
    broken.write_text("import not_a_module_anywhere\n")
    with pytest.raises(ServiceDefinitionError, match="cannot be imported: ModuleNotFoundError"):
        load_service(broken)
    two = tmp_path / "two.py"
    two.write_text("from mlplatform.hosting import Service\na = Service('a')\nb = Service('b')\n")
    with pytest.raises(
        ServiceDefinitionError, match="defines 2 Service objects; expected exactly one"
    ):
        load_service(two)


def test_hosting_settings_validate_and_production_needs_tokens(tmp_path):
    settings = load_settings({"MLP_HOME": str(tmp_path), "MLP_HOSTING__TOKENS": "a, b"})
    assert settings.hosting.tokens == ("a", "b")
    with pytest.raises(ConfigError, match=r"hosting\.target_concurrency = '0' is invalid"):
        load_settings({"MLP_HOME": str(tmp_path), "MLP_HOSTING__TARGET_CONCURRENCY": "0"})
    rules = '[{"name": "errors", "metric": "error_rate", "above": 0.1, "for_s": 30}]'
    settings = load_settings({"MLP_HOME": str(tmp_path), "MLP_HOSTING__ALERTS": rules})
    assert settings.hosting.alerts[0].metric == "error_rate"
    with pytest.raises(ConfigError, match=r"hosting\.alerts"):
        load_settings({"MLP_HOME": str(tmp_path), "MLP_HOSTING__ALERTS": "[{"})
    production = {
        "MLP_PROFILE": "production",
        "MLP_HOME": str(tmp_path),
        "MLP_STORAGE__S3_ROOT": "s3://b/mlp",
        "MLP_DATA__CATALOG_URI": "http://catalog",
        "MLP_CACHE__REDIS_URL": "redis://cache:6379/0",
        "MLP_METAFLOW__METADATA_SERVICE_URL": "http://metadata",
    }
    with pytest.raises(HostingError, match="the production profile serves only with bearer tokens"):
        require_tokens(load_settings(production))
    require_tokens(load_settings(production | {"MLP_HOSTING__TOKENS": "t"}))
