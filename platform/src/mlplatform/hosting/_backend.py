"""The hosting layer's backends, and what ``mlp doctor`` checks of them.

``local``: ``mlp serve`` runs the front and its workers on this machine. ``knative``:
``mlp serve --emit knative`` writes the objects to deploy (nothing here talks to a cluster).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlplatform._checks import CheckResult, sqlite_probe, tcp_probe

if TYPE_CHECKING:
    from mlplatform.config import Settings

__all__ = ["check"]


def check(settings: Settings) -> list[CheckResult]:
    """The queue of async jobs, and the production image."""
    options = settings.hosting
    if options.queue == "redis":
        queue = CheckResult("job queue", "redis", *tcp_probe(str(options.redis_url), 6379))
    else:
        queue = CheckResult(
            "job queue", "sqlite", *sqlite_probe(settings.home / "hosting" / "probe.queue.db")
        )
    results = [queue]
    if options.backend == "knative":
        image = options.image
        results.append(
            CheckResult(
                "hosting",
                "knative",
                "ok" if image else "missing",
                f"mlp serve --emit knative, image {image}"
                if image
                else "hosting.image (or compute.kubernetes_image) is not set",
                required=False,
            )
        )
    else:
        results.append(
            CheckResult("hosting", "local", "ok", f"mlp serve: up to {options.workers} workers")
        )
    return results
