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
