"""The built-in features on generated assets, against the generator's ground truth."""

import media_features as mf
import numpy as np
import pytest
from media_features._sample import reference_synopses


@pytest.fixture(scope="module")
def computed(small_config):
    """Every built-in feature of 6 sample assets, computed in process."""
    assets = mf.generate_assets(6, small_config.sample)
    results = []
    for asset in assets:
        content = asset.content
        values = {
            "frames": content.frames,
            "audio": content.audio,
            "synopsis": content.synopsis,
            "artwork": content.artwork,
        }
        for name in mf.registry.closure(mf.registry.names()):
            feature = mf.registry[name]
            values[name] = feature.function(**{d: values[d] for d in feature.depends_on})
        results.append((asset, values))
    return results


def test_shot_boundaries_are_the_generated_cuts(computed):
    for asset, values in computed:
        assert values["shot_boundaries"] == list(asset.truth.shot_starts)
        stats = values["shot_stats"]
        assert stats["shots"] == len(asset.truth.shot_starts) + 1
        assert stats["min_frames"] >= 6
        assert len(stats["brightness"]) == stats["shots"]


def test_loud_moments_are_the_generated_bursts(computed):
    for asset, values in computed:
        moments = values["loud_moments"]
        assert len(moments) == len(asset.truth.loud_seconds)
        truth = asset.truth.loud_seconds
        for (start, end), (true_start, true_end) in zip(moments, truth, strict=True):
            assert start == pytest.approx(true_start, abs=0.11)
            assert end == pytest.approx(true_end, abs=0.11)


def test_dominant_colours_are_the_artworks_bands(computed):
    for asset, values in computed:
        found = values["dominant_colors"]
        shares = [colour["share"] for colour in found]
        assert shares == sorted(shares, reverse=True)
        for rgb, share in asset.truth.artwork_colours:  # each band is one of the colours
            nearest = min(found, key=lambda c: np.abs(np.array(c["rgb"]) - rgb).max())
            assert np.abs(np.array(nearest["rgb"]) - rgb).max() <= 6
            assert nearest["share"] == pytest.approx(share, abs=0.02)


def test_histogram_palette_brightness_and_motion(computed):
    for asset, values in computed:
        frames = asset.content.frames
        assert values["color_histogram"].shape == (512,)
        assert values["color_histogram"].sum() == pytest.approx(1.0)
        shares = [c["share"] for c in values["palette"]]
        assert shares == sorted(shares, reverse=True) and len(shares) == 5
        assert values["brightness_curve"].shape == (frames.shape[0],)
        assert values["motion_energy"].shape == (frames.shape[0] - 1,)
        cuts = np.array(asset.truth.shot_starts) - 1
        # Cuts move the pixels far more than the moving square within a shot does.
        assert values["motion_energy"][cuts].min() > 3 * np.median(values["motion_energy"])


def test_text_embeddings_group_synopses_by_genre():
    synopses, genres = reference_synopses(n=60, seed=99)  # not the corpus it was fitted on
    embeddings = np.stack([mf.registry["text_embedding"].function(synopsis=s) for s in synopses])
    assert embeddings.shape == (60, 32)
    assert np.linalg.norm(embeddings, axis=1) == pytest.approx(np.ones(60), abs=1e-5)
    similarity = embeddings @ embeddings.T
    same = np.equal.outer(genres, genres) & ~np.eye(60, dtype=bool)
    different = ~np.equal.outer(genres, genres)
    assert similarity[same].mean() > similarity[different].mean() + 0.3


def test_keywords_come_from_the_synopsis(computed):
    for asset, values in computed:
        keywords = values["synopsis_keywords"]
        assert len(keywords) == 5
        assert all(word in asset.content.synopsis.lower() for word in keywords)


def test_features_are_deterministic(computed, small_config):
    asset, values = computed[0]
    again = mf.generate_assets(1, small_config.sample)[0]
    assert np.array_equal(again.content.frames, asset.content.frames)
    assert mf.registry["text_embedding"].function(synopsis=again.content.synopsis) == pytest.approx(
        values["text_embedding"]
    )
