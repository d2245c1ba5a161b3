"""`mlp deploy --dry-run` compiles an Argo WorkflowTemplate on the production profile.

S3 is moto's server mode, a stand-in for the production object store that receives the code
package; the metadata service, Kubernetes and Argo are not contacted when only compiling.
"""

import json
import shutil
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from mlplatform.cli import cli
from mlplatform.orchestration import DeployError
from mlplatform.orchestration import deploy as deploy_flow
from mlplatform.orchestration._cli import deploy
from mlplatform.testing import free_port

pytestmark = pytest.mark.integration

FLOWS = Path(__file__).resolve().parent / "flows"
BUCKET = "mlp-deploy-test"


@pytest.fixture
def moto_s3(monkeypatch):
    """A moto S3 server on a free loopback port with one bucket; yields its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    try:
        yield url, client
    finally:
        server.stop()


@pytest.mark.timeout(600)
def test_dry_run_compiles_argo_json_for_kubernetes_and_trigger_on_finish(
    mlp_home, tmp_path, monkeypatch, moto_s3
):
    url, s3 = moto_s3
    production = {
        "MLP_STORAGE__S3_ROOT": f"s3://{BUCKET}/mlp",
        "MLP_STORAGE__S3_ENDPOINT_URL": url,
        "MLP_DATA__CATALOG_URI": "http://127.0.0.1:9/iceberg",  # not contacted to compile
        "MLP_CACHE__REDIS_URL": "redis://127.0.0.1:9/0",  # not contacted to compile
        "MLP_METAFLOW__METADATA_SERVICE_URL": "http://127.0.0.1:9/metadata",  # idem
        "MLP_ARGO__EVENTS_SERVICE_ACCOUNT": "operate-workflow-sa",
        "MLP_ARGO__EVENTS_EVENT": "metaflow-event",
        "MLP_ARGO__EVENTS_EVENT_SOURCE": "argo-events-webhook",
    }
    for name, value in production.items():
        monkeypatch.setenv(name, value)
    flow = tmp_path / "k8s_flow.py"
    shutil.copy(FLOWS / "deploy" / "k8s_flow.py", flow)
    output = tmp_path / "template.json"

    result = CliRunner().invoke(
        deploy,
        [str(flow), "--target", "argo", "--dry-run", "--production", "--output", str(output)],
    )
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"

    template = json.loads(output.read_text())
    assert template["kind"] == "WorkflowTemplate"
    annotations = template["metadata"]["annotations"]
    assert annotations["metaflow/flow_name"] == "K8sFlow"
    assert annotations["metaflow/branch_name"] == "prod"
    triggers = json.loads(annotations["metaflow/triggers"])
    assert {"name": "metaflow.demo.prod.UpstreamFlow.end", "type": "run"} in triggers
    text = json.dumps(template)
    assert f"s3://{BUCKET}/mlp/metaflow" in text  # the code package lives in the stand-in S3
    assert '"cpu": "2"' in text or "'cpu': '2'" in text or '"cpu": 2' in text
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert any(key.startswith("mlp/metaflow/K8sFlow/") for key in keys), keys


@pytest.fixture
def no_aws_credentials(tmp_path, monkeypatch):
    """No AWS credentials anywhere boto3 looks (environment, files, instance metadata)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def closed_port_profile(monkeypatch) -> str:
    """A production profile whose S3 endpoint is a loopback port nothing listens on."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLP_STORAGE__S3_ROOT", f"s3://{BUCKET}/mlp")
    monkeypatch.setenv("MLP_STORAGE__S3_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("MLP_DATA__CATALOG_URI", "http://127.0.0.1:9/iceberg")
    monkeypatch.setenv("MLP_CACHE__REDIS_URL", "redis://127.0.0.1:9/0")
    monkeypatch.setenv("MLP_METAFLOW__METADATA_SERVICE_URL", "http://127.0.0.1:9/metadata")
    return endpoint


@pytest.mark.timeout(30)
def test_dry_run_without_s3_or_credentials_fails_at_once_in_one_line(
    mlp_home, monkeypatch, no_aws_credentials
):
    endpoint = closed_port_profile(monkeypatch)
    result = CliRunner().invoke(
        cli, ["deploy", str(FLOWS / "deploy" / "k8s_flow.py"), "--dry-run", "--production"]
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: mlp deploy needs")
    assert f"S3 endpoint {endpoint}" in line and "does not accept connections" in line
    assert "no AWS credentials" in line


@pytest.mark.timeout(30)
def test_dry_run_with_credentials_but_no_s3_names_only_the_endpoint(
    mlp_home, monkeypatch, no_aws_credentials
):
    endpoint = closed_port_profile(monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with pytest.raises(DeployError) as raised:
        deploy_flow(FLOWS / "deploy" / "k8s_flow.py", dry_run=True)
    message = str(raised.value)
    assert f"S3 endpoint {endpoint}" in message
    assert "credentials" not in message
    assert "\n" not in message


@pytest.mark.timeout(600)
def test_the_nightly_flow_compiles_to_a_template_scheduled_at_two(mlp_home, monkeypatch, moto_s3):
    url, _ = moto_s3
    for name, value in {
        "MLP_STORAGE__S3_ROOT": f"s3://{BUCKET}/mlp",
        "MLP_STORAGE__S3_ENDPOINT_URL": url,
        "MLP_DATA__CATALOG_URI": "http://127.0.0.1:9/iceberg",  # not contacted to compile
        "MLP_CACHE__REDIS_URL": "redis://127.0.0.1:9/0",
        "MLP_METAFLOW__METADATA_SERVICE_URL": "http://127.0.0.1:9/metadata",
    }.items():
        monkeypatch.setenv(name, value)
    flow = Path(__file__).resolve().parents[3] / "nightly_flow.py"
    template = deploy_flow(flow, dry_run=True, production=True).workflow_template
    annotations = template["metadata"]["annotations"]
    assert annotations["metaflow/flow_name"] == "NightlyFlow"
    assert json.loads(annotations["metaflow/cron"])["schedule"] == "0 2 * * *"
