"""The data layer on S3, with moto's server mode as a stand-in for S3 (a real HTTP endpoint)."""

import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import boto3
import pyarrow as pa
import pytest

from mlplatform.config import load_settings
from mlplatform.data import DataFrame, Table, gc
from mlplatform.testing import free_port

pytestmark = pytest.mark.integration

SCHEMA = pa.schema([("id", pa.int64()), ("kind", pa.string()), ("score", pa.float64())])


@pytest.fixture
def s3_endpoint():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("moto server did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def s3_profile(mlp_home, s3_endpoint, monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLP_STORAGE__S3_ENDPOINT_URL": s3_endpoint,
        "MLP_DATA__WAREHOUSE": "s3://lake/warehouse",
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket="lake"
    )
    return load_settings()


def keys(endpoint):
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket="lake")
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


@pytest.mark.timeout(180)
def test_write_commit_read_and_gc_on_s3(s3_profile, s3_endpoint):
    table = Table("kg.scores").create(SCHEMA, partition_by=["kind"])
    manifests = []
    for i in range(3):
        writer = table.writer()
        writer.write(
            pa.table(
                {
                    "id": pa.array(range(i * 100, i * 100 + 100), pa.int64()),
                    "kind": ["movie", "series"] * 50,
                    "score": [float(x) for x in range(100)],
                },
                schema=SCHEMA,
            )
        )
        manifests.append(writer.manifest())
    assert all(f.path.startswith("s3://lake/warehouse/_staging/") for f in writer.files)
    orphan = table.writer()
    orphan.write(pa.table({"id": [1], "kind": ["movie"], "score": [1.0]}, schema=SCHEMA))

    snapshot_id = table.commit(manifests)
    assert table.commit(manifests) == snapshot_id
    assert len(table.snapshots()) == 1
    assert any(k.startswith("warehouse/kg/scores/metadata/") for k in keys(s3_endpoint))

    frame = DataFrame.load(table, filter="kind == 'movie' and id >= 250")
    assert sorted(frame.to_arrow().column("id").to_pylist()) == list(range(250, 300, 2))
    projection = table.plan(columns=["score"], filter="id >= 250")  # ranged GETs on S3
    assert set(projection.byte_ranges) == {f.path for f in projection.files}
    scores = DataFrame.load(table, columns=["score"], filter="id >= 250").to_arrow()
    assert scores.column_names == ["score"]
    assert sorted(scores.column("score").to_pylist()) == [float(x) for x in range(50, 100)]
    assert len(table.files(filter="kind == 'movie'")) == 3
    assert len(DataFrame.load(table.shards(n=2)[1])) > 0

    later = datetime.now(UTC) + timedelta(hours=1)
    result = gc(timedelta(minutes=1), settings=s3_profile, now=later)
    assert result.deleted == [orphan.files[0].path]
    assert result.referenced == 6
    remaining = keys(s3_endpoint)
    assert orphan.files[0].path.removeprefix("s3://lake/") not in remaining
    assert len(DataFrame.load(table)) == 300
