"""The pipeline's configuration (``perf_viz_config.json`` next to ``flow.py``), validated."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlplatform.config import load_json_config
from perf_viz._errors import PerfVizConfigError

__all__ = ["DEFAULT_CONFIG_PATH", "PerfVizConfig", "flow_config", "load_config"]

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "perf_viz_config.json"
ALL_SCOPE = "ALL"


class PerfVizConfig(BaseModel):
    """Tables, cache namespace, regions and the rules of the rollups.

    Attributes:
        viewing_table: The input: one row per viewing session, partitioned by ``view_date``.
        titles_table: The input catalogue: one row per title (genre, release date, runtime).
        daily_table: The output: one row per title x country x day.
        cache_namespace: The cache namespace the flow publishes to and the service reads.
        regions: Region name -> its countries (ISO codes); every country is in one region.
        completion_threshold: Share of the runtime a session must reach to count as complete.
        launch_windows: The "first N days" windows compared with peers.
        peer_release_window_days: Peers are titles of the same genre released at most this
            many days before or after the title.
        aggregate_tasks: Parallel tasks that aggregate partitions of the viewing table.
        publish_tasks: Parallel tasks that write the titles' values into the generation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    viewing_table: str
    titles_table: str
    daily_table: str
    cache_namespace: str
    regions: dict[str, list[str]] = Field(min_length=1)
    completion_threshold: float = Field(default=0.9, gt=0, le=1)
    launch_windows: list[int] = Field(default=[7, 28], min_length=1)
    peer_release_window_days: int = Field(default=60, ge=0)
    aggregate_tasks: int = Field(default=4, ge=1)
    publish_tasks: int = Field(default=2, ge=1)

    @field_validator("launch_windows")
    @classmethod
    def _windows(cls, windows: list[int]) -> list[int]:
        if any(w < 1 for w in windows) or len(set(windows)) != len(windows):
            raise ValueError(f"expected distinct whole numbers of days >= 1, got {windows}")
        return sorted(windows)

    @model_validator(mode="after")
    def _one_region_per_country(self) -> PerfVizConfig:
        seen: dict[str, str] = {}
        for region, countries in self.regions.items():
            if region == ALL_SCOPE:
                raise ValueError(f"region name {ALL_SCOPE!r} is reserved for all countries")
            if not countries:
                raise ValueError(f"region {region!r} has no countries")
            for country in countries:
                if country in seen:
                    raise ValueError(
                        f"country {country!r} is in regions {seen[country]!r} and {region!r}; "
                        "put it in one"
                    )
                if country == ALL_SCOPE or country in self.regions:
                    raise ValueError(f"country {country!r} has a region's or a reserved name")
                seen[country] = region
        return self

    @property
    def countries(self) -> list[str]:
        """Every country, in the order of the regions."""
        return [country for countries in self.regions.values() for country in countries]

    @property
    def longest_window(self) -> int:
        """The longest launch window in days."""
        return max(self.launch_windows)


def load_config(source: str | Path | Mapping[str, Any] = DEFAULT_CONFIG_PATH) -> PerfVizConfig:
    """Load and validate the configuration.

    Args:
        source: A mapping, a JSON document (a string starting with ``{``) or a JSON file path.

    Raises:
        PerfVizConfigError: The file is missing or not JSON, or a key is unknown, missing or
            out of range (the message names each).
    """
    return load_json_config(
        source,
        PerfVizConfig,
        name="perf_viz config",
        error=PerfVizConfigError,
        example="pipelines/perf_viz/perf_viz_config.json",
    )


def flow_config(text: str) -> dict[str, Any]:
    """Metaflow ``Config`` parser: validate the configuration before any task runs."""
    return load_config(text).model_dump(mode="json")
