"""Writing a cache generation and publishing it: readers switch to it in one atomic step."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mlplatform.cache import Cache
from perf_viz._config import PerfVizConfig

__all__ = ["new_generation", "publish_generation", "write_values"]

logger = logging.getLogger(__name__)


def new_generation(config: PerfVizConfig) -> str:
    """Open a new, invisible generation of the pipeline's namespace; returns its id."""
    with Cache(config.cache_namespace) as cache:
        return cache.new_generation()


def write_values(config: PerfVizConfig, generation: str, values: Mapping[str, Any]) -> int:
    """Write values into an open generation (from any task); returns how many."""
    with Cache(config.cache_namespace) as cache, cache.writer(generation) as writer:
        return writer.put_many(values)


def publish_generation(config: PerfVizConfig, generation: str) -> dict[str, Any]:
    """Make ``generation`` current; the replaced one stays for ``mlp cache rollback``.

    Returns:
        The published generation: ``generation``, ``published`` (ISO time), ``key_count``,
        and ``previous`` (the generation it replaced, or None).
    """
    with Cache(config.cache_namespace) as cache:
        previous = cache.current_generation()
        info = cache.publish(generation)
    published = {
        "generation": info.id,
        "published": info.published.isoformat() if info.published else None,
        "key_count": info.key_count,
        "previous": previous if previous != info.id else None,
    }
    logger.info("published %s", published)
    return published
