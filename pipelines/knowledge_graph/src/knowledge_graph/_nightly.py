"""The pipeline's part of ``mlp nightly``: both example configs resolved end to end.

The title config (the default ``match_config.json``) and the person config run through
``metaflow.Runner`` on sample records seeded in the fresh local profile; each run's quality
(pairwise and B-cubed F1 against the generator's truth, blocking recall) is checked against
the thresholds the end-to-end tests hold it to, and the match step's speed is a figure.
"""

from __future__ import annotations

from pathlib import Path

from mlplatform.nightly import NightlyContext

__all__ = ["nightly"]

PIPELINE = Path(__file__).resolve().parents[2]

#: Quality a resolved sample must reach (the README's figures are well above these).
THRESHOLDS = {
    "titles": {"f1": 0.95, "cluster_f1": 0.95, "blocking_recall": 0.98},
    "people": {"f1": 0.90, "cluster_f1": 0.90, "blocking_recall": 0.95},
}


def _resolve(context: NightlyContext, sample: str, config: str | None, records: int) -> None:
    from metaflow import Runner

    options = {"config": [("match_config", config)]} if config else {}
    runner = Runner(
        str(PIPELINE / "flow.py"), show_output=False, cwd=str(context.workdir), **options
    )
    stage = context.stage(f"{sample}: EntityResolutionFlow on {records:,} sample records")
    with stage, runner.run(sample_records=records) as running:
        if running.status != "successful":
            raise RuntimeError(f"EntityResolutionFlow ({sample}) failed:\n{running.stderr[-3000:]}")
        run = running.run
        metrics = run.data.metrics
    for name, threshold in THRESHOLDS[sample].items():
        context.at_least(f"{sample}: {name}", round(metrics[name], 4), threshold)
    context.figure(f"{sample}: candidate pairs", metrics["candidate_pairs"])
    context.figure(f"{sample}: entities", metrics["entities"])
    context.figure(
        f"{sample}: match step", round(metrics["pairs_per_second_per_core"]), " pairs/s/core"
    )
    context.cards(run.pathspec)


def nightly(context: NightlyContext) -> None:
    """Resolve the title sample and the person sample; check their quality."""
    _resolve(context, "titles", None, context.sized(small=3_000, default=20_000, large=80_000))
    _resolve(
        context,
        "people",
        str(PIPELINE / "person_match_config.json"),
        context.sized(small=1_000, default=10_000, large=40_000),
    )
