"""The example service through the real front and workers: sync and async endpoints, types,
OpenAPI, idempotent jobs, tokens, limits, and a refusal to start on a run that is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SETOSA = {"features": [5.1, 3.5, 1.4, 0.2]}
VIRGINICA = {"features": [6.7, 3.0, 5.2, 2.3]}


def wait_done(client, location: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(location).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job {location} did not finish: {body}")


def test_sync_and_async_endpoints_answer_from_the_flows_artifacts(iris_run, serve, example):
    served = serve(example / "service.py", "--idle-timeout", "30s")
    with served.client() as client:
        predicted = client.post("/predict", json=SETOSA)
        assert predicted.status_code == 200, predicted.text
        assert predicted.json()["label"] == "setosa"
        assert abs(sum(predicted.json()["probabilities"].values()) - 1) < 1e-6
        assert predicted.headers["x-request-id"]

        accepted = client.post("/explain", json=VIRGINICA)
        assert accepted.status_code == 202, accepted.text
        job = accepted.json()
        assert accepted.headers["location"] == job["location"] == f"/jobs/{job['job_id']}"
        done = wait_done(client, job["location"])
        assert done["status"] == "done" and done["attempts"] == 1
        assert done["result"]["label"] == "virginica"
        assert set(done["result"]["contributions"]) == {
            "sepal length (cm)",
            "sepal width (cm)",
            "petal length (cm)",
            "petal width (cm)",
        }
        # The same payload again is the same job, computed once.
        again = client.post("/explain", json=VIRGINICA).json()
        assert (again["job_id"], again["created"], again["status"]) == (
            job["job_id"],
            False,
            "done",
        )
        keyed = client.post("/explain", json=SETOSA, headers={"Idempotency-Key": "k1"}).json()
        other = client.post("/explain", json=VIRGINICA, headers={"Idempotency-Key": "k1"}).json()
        assert other["job_id"] == keyed["job_id"] and other["created"] is False

        openapi = client.get("/openapi.json").json()
        assert {"/predict", "/explain"} <= set(openapi["paths"])
        assert "Flower" in openapi["components"]["schemas"]
        assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"features": [1.0, 2.0]}, "features"),  # too short
        ({"features": ["a", 1, 2, 3]}, "features"),  # wrong type
        ({}, "features"),  # missing
    ],
)
def test_bad_bodies_get_422_naming_the_field(iris_run, serve, example, body, field):
    served = serve(example / "service.py")
    with served.client() as client:
        for path in ("/predict", "/explain"):
            response = client.post(path, json=body)
            assert response.status_code == 422, response.text
            assert field in {part for error in response.json()["detail"] for part in error["loc"]}


def test_malformed_json_oversized_bodies_and_unknown_jobs(iris_run, serve, example):
    served = serve(example / "service.py")
    with served.client() as client:
        malformed = client.post(
            "/predict", content=b'{"features": [1,', headers={"content-type": "application/json"}
        )
        assert malformed.status_code == 422
        assert malformed.json()["detail"][0]["type"] == "json_invalid"
        huge = client.post("/predict", json={"features": [1.0] * 300_000})
        assert huge.status_code == 413
        assert "limit" in huge.json()["error"]
        missing = client.get("/jobs/0123456789abcdef0123456789abcdef")
        assert missing.status_code == 404
        assert "no job" in missing.json()["error"]


def test_tokens_are_checked_without_saying_which_part_failed(iris_run, serve, example):
    served = serve(example / "service.py", env={"MLP_HOSTING__TOKENS": "s3cret,other"})
    with served.client() as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
            denied = client.post("/predict", json=SETOSA, headers=headers)
            assert denied.status_code == 401
            assert denied.json() == {"error": "missing or invalid bearer token"}
            assert denied.headers["www-authenticate"] == "Bearer"
        assert client.get("/metrics").status_code == 401
        assert client.get("/healthz").status_code == 200  # probes need no token
        allowed = client.post("/predict", json=SETOSA, headers={"Authorization": "Bearer other"})
        assert allowed.status_code == 200


def test_a_service_whose_run_does_not_exist_refuses_to_start(mlp_home, tmp_path):
    service = tmp_path / "missing_run.py"
    service.write_text(
        "from mlplatform.hosting import Service\n"
        "svc = Service('missing', artifacts='IrisModelFlow/12345')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", "from mlplatform.cli import main; main()", "serve", str(service)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: artifacts='IrisModelFlow/12345': there is no run 12345 of flow IrisModelFlow in "
        "this profile's metadata; check the name and the run id (`Flow/latest_successful` picks "
        "the newest successful run)"
    ]


def test_workers_run_in_the_services_named_environment(serve, example, mlp_home):
    from mlplatform.environments import EnvironmentSpec, register, resolve

    register("tests/hosting/six-1.16:v1", resolve(EnvironmentSpec(["six==1.16.0"])))
    served = serve(example / "env_service.py")
    with served.client() as client:
        where = client.post("/where", json={}).json()
    assert where["six"] == "1.16.0"
    assert where["python"].startswith(str(mlp_home / "envs"))


def test_mlp_jobs_lists_and_shows_the_jobs(iris_run, serve, example):
    import json

    from click.testing import CliRunner

    from mlplatform.cli import cli

    served = serve(example / "service.py")
    with served.client() as client:
        job = client.post("/explain", json=SETOSA).json()
        wait_done(client, job["location"])
    listed = CliRunner().invoke(cli, ["jobs", "ls", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert (row["service"], row["job"], row["status"]) == ("iris", job["job_id"], "done")
    shown = CliRunner().invoke(cli, ["jobs", "show", job["job_id"]])
    assert json.loads(shown.stdout)["result"]["label"] == "setosa"
    missing = CliRunner().invoke(cli, ["jobs", "show", "nope"])
    assert missing.exit_code == 2 and "no job 'nope'" in missing.output
