"""Sample assets, their objects and the assets table."""

import media_features as mf
import numpy as np
import pytest

from mlplatform.config import load_settings
from mlplatform.data import DataFrame, Table, TableNotFoundError
from mlplatform.orchestration import EventLog


def test_samples_are_seeded_and_stable_whatever_the_count(small_config):
    few = mf.generate_assets(2, small_config.sample)
    more = mf.generate_assets(3, small_config.sample)
    assert [a.content.asset_id for a in more] == ["asset-0000", "asset-0001", "asset-0002"]
    assert np.array_equal(few[1].content.frames, more[1].content.frames)
    assert few[1].content.synopsis == more[1].content.synopsis
    assert few[1].truth == more[1].truth
    frames = few[0].content.frames
    assert frames.dtype == np.uint8 and frames.shape == (24, 16, 24, 3)
    assert few[0].content.audio.seconds == pytest.approx(4.0)


def test_a_fresh_local_profile_seeds_the_assets_table_and_objects_once(mlp_home, small_config):
    snapshot_id = mf.ensure_assets(small_config)
    assets = mf.load_assets(small_config)
    assert sorted(assets) == [f"asset-{i:04d}" for i in range(8)]
    record = assets["asset-0003"]
    assert isinstance(record, mf.AssetRecord) and record.asset_version == 1
    assert Table(small_config.assets_table).schema.names == mf.ASSETS_SCHEMA.names
    assert record.objects["frames"].uri.startswith((mlp_home / "media_features").as_uri())
    frames = mf.ObjectStore().load_source("frames", record.objects["frames"], what="frames")
    truth = mf.generate_assets(4, small_config.sample)[3].content
    assert np.array_equal(frames, truth.frames)
    assert mf.ensure_assets(small_config) == snapshot_id  # exists: nothing seeded again
    assert len(Table(small_config.assets_table).snapshots()) == 1


def test_registering_new_content_adds_a_version_and_announces_it(mlp_home, small_config):
    mf.ensure_assets(small_config)
    content = mf.generate_assets(1, small_config.sample, start=50)[0].content
    renamed = type(content)(**{**content.__dict__, "asset_id": "asset-0001"})
    snapshot_id = mf.register_assets([renamed, content], small_config)
    assets = mf.load_assets(small_config)
    assert assets["asset-0001"].asset_version == 2 and assets["asset-0050"].asset_version == 1
    assert "/asset-0001/v2/" in assets["asset-0001"].objects["synopsis"].uri
    old = mf.load_assets(
        small_config, snapshot_id=Table(small_config.assets_table).snapshots()[0].snapshot_id
    )
    assert old["asset-0001"].asset_version == 1 and "asset-0050" not in old
    rows = DataFrame.load(small_config.assets_table).num_rows
    assert rows == 10  # appended: every version stays listed
    [event] = EventLog.from_settings(load_settings()).list(name="media_assets_landed")
    assert event.payload == {"snapshot_id": snapshot_id, "assets": 2}


def test_production_refuses_a_missing_assets_table(mlp_home, monkeypatch, small_config):
    for name, value in {
        "MLP_PROFILE": "production",
        "MLP_DATA__CATALOG": "sql",
        "MLP_DATA__CATALOG_URI": f"sqlite:///{mlp_home / 'catalog.db'}",
        "MLP_STORAGE__S3_ROOT": "s3://unused/mlp",
        "MLP_METAFLOW__METADATA_SERVICE_URL": "http://127.0.0.1:9",
        "MLP_CACHE__REDIS_URL": "redis://127.0.0.1:9/0",
        "MLP_HOSTING__TOKENS": "t",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(TableNotFoundError, match=r"input table media\.assets does not exist"):
        mf.ensure_assets(small_config)


def test_damaged_or_wrong_objects_are_corrupt_assets(mlp_home, tmp_path):
    store = mf.ObjectStore()
    frames = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    from media_features._objects import encode_source

    ref = store.put(store.uri_for("a", "v1", "frames.npz"), encode_source("frames", frames))
    assert np.array_equal(store.load_source("frames", ref, what="a v1 frames"), frames)
    path = ref.uri.removeprefix("file://")
    with open(path, "wb") as handle:
        handle.write(b"not an archive")
    with pytest.raises(
        mf.CorruptAssetError, match=r"a v1 frames: file://.* is corrupt: its SHA-256"
    ):
        store.load_source("frames", ref, what="a v1 frames")
    # Right hash, wrong content: the decoder says what it expected.
    flat = store.put(store.uri_for("a", "v1", "bad.npz"), encode_source("artwork", frames[0, 0]))
    with pytest.raises(mf.CorruptAssetError, match="does not decode: expected uint8 an artwork"):
        store.load_source("artwork", flat, what="a v1 artwork")
    gone = type(ref)(ref.uri + ".missing", ref.sha256)
    with pytest.raises(mf.CorruptAssetError, match="the object is missing"):
        store.load_source("frames", gone, what="a v1 frames")


@pytest.mark.integration
def test_objects_go_to_the_profiles_s3_storage_when_it_has_one(s3_storage, small_config):
    mf.ensure_assets(
        small_config.model_copy(
            update={"sample": small_config.sample.model_copy(update={"n_assets": 2})}
        )
    )
    record = mf.load_assets(small_config)["asset-0001"]
    assert record.objects["audio"].uri.startswith(
        f"{s3_storage}/media_features/objects/asset-0001/v1/"
    )
    audio = mf.ObjectStore().load_source("audio", record.objects["audio"], what="audio")
    assert isinstance(audio, mf.AudioClip)
    truth = mf.generate_assets(2, small_config.sample)[1].content.audio
    assert audio.sample_rate == truth.sample_rate
    np.testing.assert_allclose(audio.samples, truth.samples, atol=1 / 32767)
