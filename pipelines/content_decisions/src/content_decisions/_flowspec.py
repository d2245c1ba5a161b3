"""What the chain's four flows share: the region Configs and how a run learns its day.

Light on purpose (no Arrow, no catalog at import): every task of every flow imports it,
the ``end`` steps that do nothing else included.

`ContentDecisionsFlowSpec` declares one Metaflow ``Config`` per region (``region_na`` ...
``region_apac``, defaults ``config/regions/<region>.json``), each validated by
`parse_region_config` while the command line is parsed: a bad file stops the run before
any task, whichever flow of the chain it is. Override one with
``--config region_na path/to/na.json``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metaflow import Config, FlowSpec

from content_decisions._config import REGION_CONFIG_DIR, RegionConfig, parse_region_config
from content_decisions._dates import parse_date
from content_decisions._errors import InputDataError
from content_decisions._vocabulary import REGIONS

if TYPE_CHECKING:
    from content_decisions._outputs import Outputs

__all__ = ["ContentDecisionsFlowSpec", "RunDay", "run_day"]

logger = logging.getLogger(__name__)


def _parser(region: str) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        return parse_region_config(text, region)

    parse.__name__ = f"parse_region_{region}_config"
    return parse


def _region_config(region: str) -> Config:
    return Config(
        f"region_{region}",
        default=str(REGION_CONFIG_DIR / f"{region}.json"),
        parser=_parser(region),
        plain=True,
        help=f"Configuration of region {region!r} (JSON): horizon, value per hour, slate.",
    )


class ContentDecisionsFlowSpec(FlowSpec):
    """Base class of the chain's flows: the five region Configs."""

    region_na = _region_config("na")
    region_latam = _region_config("latam")
    region_europe = _region_config("europe")
    region_mea = _region_config("mea")
    region_apac = _region_config("apac")

    def begin_downstream_run(self, as_of: str = "") -> RunDay | None:
        """Start a downstream run: its outputs, its day, whether there is anything to do.

        Sets the artifacts every flow of the chain has: ``outputs`` (the branch's tables),
        ``as_of_date`` and ``changed`` (what the next flow reads from this run).

        Returns:
            The day to work on, or None when the upstream run changed nothing (skip).
        """
        from metaflow import current

        from content_decisions._outputs import Outputs

        self.outputs = Outputs.for_branch(current.branch_name)
        day = run_day(current, self.outputs, as_of)
        self.changed, self.as_of_date = day.changed, day.as_of.isoformat()
        if not day.changed:
            logger.info("upstream run %s changed nothing: this run skips", day.upstream)
            return None
        return day

    def region_configs(self) -> dict[str, RegionConfig]:
        """Region -> its validated configuration."""
        return {
            region: RegionConfig.model_validate(dict(getattr(self, f"region_{region}")))
            for region in REGIONS
        }


@dataclass(frozen=True)
class RunDay:
    """The day a downstream run works on, and whether there is anything new.

    Attributes:
        as_of: The day.
        changed: False when the upstream run changed nothing (this run skips too).
        upstream: Pathspec of the triggering run (None for a run started by hand).
    """

    as_of: dt.date
    changed: bool
    upstream: str | None


def run_day(current: Any, outputs: Outputs, as_of: str = "") -> RunDay:
    """What a downstream flow's run works on.

    Started by the finish of the upstream flow (``@trigger_on_finish``): that run's
    ``as_of_date`` and ``changed`` artifacts. By hand: ``as_of`` if given, else the
    branch's latest processed day.

    Raises:
        InputDataError: Started by hand on a branch that processed no day yet.
    """
    trigger = getattr(current, "trigger", None)
    if trigger is not None and trigger.run is not None:
        data = trigger.run.data
        return RunDay(parse_date(data.as_of_date), bool(data.changed), trigger.run.pathspec)
    if as_of:
        return RunDay(parse_date(as_of, what="as_of"), True, None)
    from content_decisions._tables import latest_processed_date  # Arrow and the catalog

    latest = latest_processed_date(outputs)
    if latest is None:
        raise InputDataError(
            f"branch {outputs.branch} has processed no day yet ({outputs.ledger} is empty); "
            "run ViewingAggregatesFlow (or publish etl.viewing_daily.done) first, or pass --as_of"
        )
    return RunDay(latest, True, None)
