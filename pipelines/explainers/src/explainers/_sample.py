"""The seeded sample problem: title engagement from title features.

Deterministic for a seed, so every fresh clone trains on the same data. The target mixes
smooth non-linear effects, a threshold interaction and noise, so tree models beat the linear
one and their explanations differ in shape, not only in scale.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["FEATURES", "TARGET", "TITLE_FEATURES_SCHEMA", "generate_title_engagement"]

#: The model features, in the column order every model is trained on.
FEATURES = (
    "runtime_min",
    "release_year",
    "log_budget",
    "cast_popularity",
    "trailer_views_log",
    "critic_score",
    "is_series",
    "n_languages",
)
#: What the models predict: log hours viewed per thousand subscribers in the first 28 days.
TARGET = "engagement"

TITLE_FEATURES_SCHEMA = pa.schema(
    [
        pa.field("title_id", pa.string(), nullable=False),
        *(pa.field(name, pa.float64(), nullable=False) for name in FEATURES),
        pa.field(TARGET, pa.float64(), nullable=False),
    ]
)


def generate_title_engagement(n_rows: int, seed: int = 0) -> pa.Table:
    """``n_rows`` generated titles with their features and engagement.

    Args:
        n_rows: Number of titles (at least 1).
        seed: Random seed.

    Returns:
        A table with `TITLE_FEATURES_SCHEMA`.
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}")
    rng = np.random.default_rng(seed)
    is_series = (rng.random(n_rows) < 0.35).astype(np.float64)
    runtime = np.where(is_series > 0, rng.normal(48, 10, n_rows), rng.normal(108, 22, n_rows)).clip(
        20, 220
    )
    year = rng.integers(1975, 2027, n_rows).astype(np.float64)
    log_budget = rng.normal(3.0, 1.0, n_rows)
    cast = rng.beta(2.0, 5.0, n_rows) * 100
    trailer = rng.normal(5.0, 1.5, n_rows) + 0.02 * cast
    critic = rng.normal(64, 15, n_rows).clip(0, 100)
    languages = (rng.poisson(3.0, n_rows) + 1).astype(np.float64)
    engagement = (
        1.5
        + 0.9 * np.tanh((cast - 30) / 15)
        + 0.30 * trailer
        + 1.2 * np.exp(-(2026 - year) / 8)
        - 0.00012 * (runtime - 95) ** 2 * (1 - is_series)
        + 0.20 * log_budget
        + 0.35 * np.log1p(languages)
        + 0.6 * is_series * (critic > 70)
        + 0.012 * (critic - 64)
        + rng.normal(0, 0.25, n_rows)
    )
    columns = {
        "title_id": pa.array([f"t{seed:02d}-{i:07d}" for i in range(n_rows)], pa.string()),
        "runtime_min": runtime.round(1),
        "release_year": year,
        "log_budget": log_budget.round(4),
        "cast_popularity": cast.round(3),
        "trailer_views_log": trailer.round(4),
        "critic_score": critic.round(1),
        "is_series": is_series,
        "n_languages": languages,
        TARGET: engagement.round(5),
    }
    return pa.table(columns, schema=TITLE_FEATURES_SCHEMA)
