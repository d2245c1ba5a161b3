"""Seeded synthetic media assets: video frames, an audio waveform, a synopsis, an artwork.

Asset ``i`` of a seed is always the same, whatever the number generated, so ids are stable.
Each asset comes with its ground truth (where its shots cut, when its audio is loud, the
colours of its artwork, its genre), which the tests compare the features with:

- frames: 3-6 shots, each a gradient of one colour with a moving square, consecutive shots
  at least 50 luma levels apart (so cuts show in the brightness curve), a little noise;
- audio: quiet noise and a hum, with 1-3 loud bursts;
- synopsis: three sentences from the genre's word lists;
- artwork: four vertical bands of distinct colours with a little noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from media_features._config import SampleConfig
from media_features._vocabulary import GENRES, TITLE_WORDS

__all__ = [
    "AssetContent",
    "AudioClip",
    "SampleAsset",
    "SampleTruth",
    "asset_id_for",
    "generate_assets",
    "reference_synopses",
]

FPS = 4.0
ARTWORK_COLOURS = 4


@dataclass(frozen=True)
class AudioClip:
    """A mono waveform: float32 samples in [-1, 1] at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class AssetContent:
    """Everything stored for one media asset."""

    asset_id: str
    title: str
    genre: str
    frames: np.ndarray
    """uint8, shape (frames, height, width, 3)."""
    fps: float
    audio: AudioClip
    synopsis: str
    artwork: np.ndarray
    """uint8, shape (size, size, 3)."""


@dataclass(frozen=True)
class SampleTruth:
    """What the generator put into an asset."""

    shot_starts: tuple[int, ...]
    """First frame of every shot but the first."""
    loud_seconds: tuple[tuple[float, float], ...]
    """(start, end) of each loud burst."""
    artwork_colours: tuple[tuple[tuple[int, int, int], float], ...]
    """(RGB, share of the image) of each band."""


@dataclass(frozen=True)
class SampleAsset:
    """A generated asset and its truth."""

    content: AssetContent
    truth: SampleTruth


def asset_id_for(index: int) -> str:
    """The id of sample asset ``index`` (``asset-0007``)."""
    return f"asset-{index:04d}"


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _shot_colours(rng: np.random.Generator, n_shots: int) -> list[np.ndarray]:
    """One colour per shot, each at least 50 luma levels from the previous one."""
    colours: list[np.ndarray] = []
    previous = None
    while len(colours) < n_shots:
        target = float(rng.uniform(45, 210))
        if previous is not None and abs(target - previous) < 50:
            continue
        hue = rng.uniform(0.4, 1.0, size=3).astype(np.float32)
        colour = hue * (target / float(_luma(hue)))
        if colour.max() > 235:
            continue
        colours.append(colour)
        previous = target
    return colours


def _frames(
    rng: np.random.Generator, n_frames: int, height: int, width: int
) -> tuple[np.ndarray, tuple[int, ...]]:
    n_shots = int(rng.integers(3, min(6, n_frames // 8) + 1))
    # Cuts at least 6 frames apart and from the ends.
    while True:
        cuts = np.sort(rng.choice(np.arange(6, n_frames - 5), size=n_shots - 1, replace=False))
        if np.all(np.diff(np.concatenate([[0], cuts, [n_frames]])) >= 6):
            break
    starts = [0, *cuts.tolist()]
    ends = [*cuts.tolist(), n_frames]
    gradient = np.linspace(0.85, 1.15, height, dtype=np.float32)[None, :, None, None]
    frames = np.empty((n_frames, height, width, 3), dtype=np.float32)
    side = max(2, height // 5)
    for colour, start, end in zip(_shot_colours(rng, n_shots), starts, ends, strict=True):
        length = end - start
        shot = np.broadcast_to(colour, (length, height, width, 3)) * gradient
        shot = np.array(shot)
        square = 255.0 - colour
        row = int(rng.integers(0, height - side))
        for offset in range(length):
            column = int((width - side) * offset / max(1, length - 1))
            shot[offset, row : row + side, column : column + side] = square
        frames[start:end] = shot
    frames += rng.normal(0, 2.0, size=frames.shape).astype(np.float32)
    return np.clip(frames, 0, 255).astype(np.uint8), tuple(cuts.tolist())


def _audio(
    rng: np.random.Generator, seconds: float, sample_rate: int
) -> tuple[AudioClip, tuple[tuple[float, float], ...]]:
    n = int(seconds * sample_rate)
    t = np.arange(n, dtype=np.float32) / sample_rate
    wave = 0.02 * rng.standard_normal(n).astype(np.float32)
    wave += 0.03 * np.sin(2 * np.pi * 60 * t, dtype=np.float32)
    bursts = []
    for _ in range(int(rng.integers(1, 4))):
        for _attempt in range(20):
            start = round(float(rng.uniform(0.5, seconds - 2.0)), 1)
            end = round(start + float(rng.uniform(0.5, 1.5)), 1)
            if all(end + 0.5 < s or start > e + 0.5 for s, e in bursts):
                bursts.append((start, end))
                break
    for start, end in bursts:
        span = slice(int(start * sample_rate), int(end * sample_rate))
        pitch = float(rng.uniform(150, 400))
        wave[span] += 0.6 * np.sin(2 * np.pi * pitch * t[span], dtype=np.float32)
    clip = AudioClip(np.clip(wave, -1, 1).astype(np.float32), sample_rate)
    return clip, tuple(sorted(bursts))


def _sentence(rng: np.random.Generator, words: dict[str, list[str]]) -> str:
    def pick(kind: str) -> str:
        return str(rng.choice(words[kind]))

    return (
        f"A {pick('people')} {pick('verbs')} the {pick('things')} near the {pick('places')} "
        f"while a {pick('people')} {pick('verbs')} a {pick('things')}."
    )


def _synopsis(rng: np.random.Generator, genre: str) -> str:
    return " ".join(_sentence(rng, GENRES[genre]) for _ in range(3))


def _artwork(
    rng: np.random.Generator, size: int
) -> tuple[np.ndarray, tuple[tuple[tuple[int, int, int], float], ...]]:
    while True:
        colours = rng.integers(20, 236, size=(ARTWORK_COLOURS, 3))
        distances = np.linalg.norm(colours[:, None, :] - colours[None, :, :], axis=-1)
        if distances[np.triu_indices(ARTWORK_COLOURS, 1)].min() >= 90:
            break
    cuts = np.sort(rng.choice(np.arange(4, size - 3), size=ARTWORK_COLOURS - 1, replace=False))
    while np.any(np.diff(np.concatenate([[0], cuts, [size]])) < 4):
        cuts = np.sort(rng.choice(np.arange(4, size - 3), size=ARTWORK_COLOURS - 1, replace=False))
    edges = [0, *cuts.tolist(), size]
    image = np.empty((size, size, 3), dtype=np.float32)
    truth = []
    for colour, left, right in zip(colours, edges[:-1], edges[1:], strict=True):
        image[:, left:right] = colour
        truth.append((tuple(int(c) for c in colour), (right - left) / size))
    image += rng.normal(0, 3.0, size=image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), tuple(truth)


def _title(rng: np.random.Generator) -> str:
    return " ".join(str(w) for w in rng.choice(TITLE_WORDS, size=2, replace=False))


def generate_assets(
    n_assets: int, config: SampleConfig | None = None, *, start: int = 0
) -> list[SampleAsset]:
    """Generate sample assets ``start`` .. ``start + n_assets - 1``.

    Args:
        n_assets: How many.
        config: Sizes and seed (default `SampleConfig()`); ``config.n_assets`` is ignored.
        start: Index of the first asset.
    """
    config = config or SampleConfig()
    genres = sorted(GENRES)
    assets = []
    for index in range(start, start + n_assets):
        rng = np.random.default_rng([config.seed, index])
        genre = genres[int(rng.integers(len(genres)))]
        frames, shot_starts = _frames(rng, config.n_frames, config.frame_height, config.frame_width)
        audio, loud = _audio(rng, config.audio_seconds, config.audio_sample_rate)
        artwork, colours = _artwork(rng, config.artwork_size)
        content = AssetContent(
            asset_id=asset_id_for(index),
            title=_title(rng),
            genre=genre,
            frames=frames,
            fps=FPS,
            audio=audio,
            synopsis=_synopsis(rng, genre),
            artwork=artwork,
        )
        assets.append(SampleAsset(content, SampleTruth(shot_starts, loud, colours)))
    return assets


def reference_synopses(n: int = 1000, seed: int = 20_261_202) -> tuple[list[str], list[str]]:
    """A fixed corpus the text embedding is fitted on: (synopses, genres).

    It depends on nothing but ``n`` and ``seed``, so every process fits the same model and
    an asset's embedding does not change when other assets are added.
    """
    rng = np.random.default_rng(seed)
    genres = sorted(GENRES)
    labels = [genres[int(i)] for i in rng.integers(len(genres), size=n)]
    return [_synopsis(rng, genre) for genre in labels], labels
