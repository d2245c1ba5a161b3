"""The built-in features of media assets, registered in `registry` (the default graph).

```
frames   -> color_histogram -> palette
frames   -> brightness_curve -> shot_boundaries -> shot_stats (also reads brightness_curve)
frames   -> motion_energy
audio    -> loudness_curve -> loud_moments
synopsis -> text_embedding
synopsis -> synopsis_keywords
artwork  -> dominant_colors
```

Every function is pure and deterministic: the same inputs give the same output in the
service, in the backfill flow and in the benchmark's direct baseline.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import numpy as np

from media_features._registry import FeatureRegistry
from media_features._sample import AudioClip, reference_synopses

__all__ = ["LOUDNESS_WINDOW_S", "feature", "registry"]

registry = FeatureRegistry()
"""The default feature graph (the service and `FeatureStore` use it unless given another)."""

feature = registry.feature
"""``@feature(name, version, depends_on=[...])``: register a function in `registry`."""

LUMA = np.array([0.299, 0.587, 0.114])
HISTOGRAM_BITS = 3  # 8 bins per channel, 512 joint bins
PALETTE_SIZE = 5
LOUDNESS_WINDOW_S = 0.1
EMBEDDING_DIMENSIONS = 32
KEYWORDS = 5
DOMINANT_COLOURS = 4


@feature("color_histogram", 1, depends_on=["frames"])
def color_histogram(frames: np.ndarray) -> np.ndarray:
    """Joint RGB histogram over every frame (8 bins per channel), summing to 1."""
    shift = 8 - HISTOGRAM_BITS
    quantised = (frames >> shift).astype(np.uint16)
    bins = (quantised[..., 0] << (2 * HISTOGRAM_BITS)) | (quantised[..., 1] << HISTOGRAM_BITS)
    bins |= quantised[..., 2]
    counts = np.bincount(bins.ravel(), minlength=1 << (3 * HISTOGRAM_BITS)).astype(np.float32)
    return counts / counts.sum()


@feature("palette", 1, depends_on=["color_histogram"])
def palette(color_histogram: np.ndarray) -> list[dict[str, Any]]:
    """The most frequent colours of the video (bin centres) and their shares."""
    per_channel = 1 << HISTOGRAM_BITS
    width = 256 // per_channel
    top = np.argsort(color_histogram, kind="stable")[::-1][:PALETTE_SIZE]
    colours = []
    for index in top:
        if color_histogram[index] <= 0:
            break
        r, g, b = np.unravel_index(int(index), (per_channel,) * 3)
        centre = [int(c) * width + width // 2 for c in (r, g, b)]
        colours.append({"rgb": centre, "share": round(float(color_histogram[index]), 6)})
    return colours


@feature("brightness_curve", 1, depends_on=["frames"])
def brightness_curve(frames: np.ndarray) -> np.ndarray:
    """Mean luma (0-255) of each frame."""
    channel_means = frames.reshape(frames.shape[0], -1, 3).mean(axis=1)
    return (channel_means @ LUMA).astype(np.float32)


@feature("shot_boundaries", 1, depends_on=["brightness_curve"])
def shot_boundaries(brightness_curve: np.ndarray) -> list[int]:
    """First frame of every shot but the first: where the brightness jumps.

    A jump is a change between consecutive frames above 15 luma levels and above five times
    the median change (so slow fades and noise are not cuts).
    """
    changes = np.abs(np.diff(brightness_curve.astype(np.float64)))
    if changes.size == 0:
        return []
    threshold = max(15.0, 5.0 * float(np.median(changes)))
    return [int(i) + 1 for i in np.flatnonzero(changes > threshold)]


@feature("shot_stats", 1, depends_on=["shot_boundaries", "brightness_curve"])
def shot_stats(shot_boundaries: list[int], brightness_curve: np.ndarray) -> dict[str, Any]:
    """Number of shots, their lengths in frames and mean brightness."""
    edges = [0, *shot_boundaries, len(brightness_curve)]
    lengths = np.diff(edges)
    brightness = [
        round(float(brightness_curve[start:end].mean()), 3)
        for start, end in itertools.pairwise(edges)
    ]
    return {
        "shots": len(lengths),
        "mean_frames": round(float(lengths.mean()), 3),
        "min_frames": int(lengths.min()),
        "max_frames": int(lengths.max()),
        "brightness": brightness,
    }


@feature("motion_energy", 1, depends_on=["frames"])
def motion_energy(frames: np.ndarray) -> np.ndarray:
    """Mean absolute change of the pixels from each frame to the next."""
    difference = np.abs(np.diff(frames.astype(np.int16), axis=0))
    return difference.reshape(difference.shape[0], -1).mean(axis=1).astype(np.float32)


@feature("loudness_curve", 1, depends_on=["audio"])
def loudness_curve(audio: AudioClip) -> np.ndarray:
    """RMS level in dB of each 0.1 s window of the audio."""
    window = max(1, int(audio.sample_rate * LOUDNESS_WINDOW_S))
    count = len(audio.samples) // window
    blocks = audio.samples[: count * window].astype(np.float64).reshape(count, window)
    rms = np.sqrt((blocks**2).mean(axis=1))
    return (20 * np.log10(rms + 1e-6)).astype(np.float32)


@feature("loud_moments", 1, depends_on=["loudness_curve"])
def loud_moments(loudness_curve: np.ndarray) -> list[list[float]]:
    """(start, end) seconds of the stretches at least 10 dB above the median level."""
    loud = loudness_curve > float(np.median(loudness_curve)) + 10.0
    moments = []
    start = None
    for index, is_loud in enumerate([*loud.tolist(), False]):
        if is_loud and start is None:
            start = index
        elif not is_loud and start is not None:
            moments.append(
                [round(start * LOUDNESS_WINDOW_S, 3), round(index * LOUDNESS_WINDOW_S, 3)]
            )
            start = None
    return moments


_text_model_lock = threading.Lock()
_text_model: Any = None


def text_model() -> Any:
    """TF-IDF + truncated SVD fitted on the fixed reference corpus (once per process)."""
    global _text_model
    with _text_model_lock:
        if _text_model is None:
            from sklearn.decomposition import TruncatedSVD
            from sklearn.feature_extraction.text import TfidfVectorizer

            corpus, _ = reference_synopses()
            vectoriser = TfidfVectorizer(stop_words="english", sublinear_tf=True)
            matrix = vectoriser.fit_transform(corpus)
            svd = TruncatedSVD(n_components=EMBEDDING_DIMENSIONS, random_state=0).fit(matrix)
            _text_model = (vectoriser, svd)
        return _text_model


@feature("text_embedding", 1, depends_on=["synopsis"])
def text_embedding(synopsis: str) -> np.ndarray:
    """A 32-dimensional unit vector of the synopsis (TF-IDF, then truncated SVD)."""
    vectoriser, svd = text_model()
    vector = svd.transform(vectoriser.transform([synopsis]))[0]
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).astype(np.float32)


@feature("synopsis_keywords", 1, depends_on=["synopsis"])
def synopsis_keywords(synopsis: str) -> list[str]:
    """The five words of the synopsis with the highest TF-IDF weight."""
    vectoriser, _ = text_model()
    weights = vectoriser.transform([synopsis]).toarray()[0]
    terms = vectoriser.get_feature_names_out()
    order = sorted(np.flatnonzero(weights), key=lambda i: (-weights[i], terms[i]))
    return [str(terms[i]) for i in order[:KEYWORDS]]


@feature("dominant_colors", 1, depends_on=["artwork"])
def dominant_colors(artwork: np.ndarray) -> list[dict[str, Any]]:
    """The artwork's four main colours (k-means of its pixels) and their shares."""
    from sklearn.cluster import KMeans

    pixels = artwork.reshape(-1, 3).astype(np.float32)
    model = KMeans(n_clusters=DOMINANT_COLOURS, n_init=1, random_state=0).fit(pixels)
    shares = np.bincount(model.labels_, minlength=DOMINANT_COLOURS) / len(pixels)
    order = np.argsort(-shares, kind="stable")
    return [
        {
            "rgb": [round(float(c)) for c in model.cluster_centers_[i]],
            "share": round(float(shares[i]), 6),
        }
        for i in order
    ]
