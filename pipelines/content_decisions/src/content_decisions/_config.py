"""Configuration per region, as data: one JSON file per region under ``config/regions/``.

Each file holds the region's forecast horizon, its value per hour viewed and its slate's
budget and constraints. Every flow of the chain declares the five files as Metaflow
``Config``s (`ContentDecisionsFlowSpec`); `parse_region_config` validates a file while the
command line is parsed, so a bad one fails before any task runs, with the key, the value and
what is allowed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from content_decisions._errors import RegionConfigError
from content_decisions._vocabulary import GENRES, LANGUAGES, REGIONS

__all__ = [
    "REGION_CONFIG_DIR",
    "REQUIRED_IMPROVEMENT",
    "RegionConfig",
    "load_region_config",
    "parse_region_config",
]

REGION_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "regions"
"""The pipeline's region files (``<region>.json``), the Configs' defaults."""
REQUIRED_IMPROVEMENT = 0.10
"""The forecast's backtest WAPE must be at least this much below seasonal naive's."""
_TITLE_ID = re.compile(r"^T\d{5}$")
Genre = Literal[GENRES]  # type: ignore[valid-type]
Language = Literal[LANGUAGES]  # type: ignore[valid-type]


class RegionConfig(BaseModel):
    """The settings of one region (one file ``config/regions/<region>.json``).

    Shares are of the number of titles in the slate. Money is in thousands (k$).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: Literal[REGIONS]  # type: ignore[valid-type]
    """The region this file configures (must match the file's Config name)."""
    forecast_horizon_weeks: int = Field(ge=1, le=8)
    """Weeks ahead to forecast and value; also the backtest's held-out weeks."""
    interval_coverage: float = Field(default=0.8, ge=0.5, le=0.99)
    """Nominal coverage of the value interval (0.8: from the 10% to the 90% quantile)."""
    value_per_hour: float = Field(gt=0, le=100)
    """What an hour viewed is worth in the region, in $."""
    budget_k: float | None = Field(default=None, gt=0)
    """The slate's licence budget in k$ (give this or ``budget_share``)."""
    budget_share: float | None = Field(default=None, gt=0, le=1)
    """The budget as a share of the cost of every title offered in the region."""
    min_titles: int = Field(default=0, ge=0)
    max_titles: int | None = Field(default=None, ge=1)
    genre_min_share: dict[Genre, float] = {}
    """Lowest share of each listed genre in the slate."""
    genre_max_share: dict[Genre | Literal["default"], float] = {"default": 1.0}
    """Highest share of each genre; ``default`` applies to genres not listed."""
    local_languages: list[Language] = []
    """Original languages that count as local in the region."""
    min_local_language_share: float = Field(default=0.0, ge=0, le=1)
    must_keep: list[str] = []
    """Title ids the slate must contain (ongoing commitments)."""
    risk_aversion: float = Field(default=0.0, ge=0, le=1)
    """0 values titles at their expected value, 1 at the interval's lower bound."""

    @field_validator("genre_min_share", "genre_max_share")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        for genre, share in value.items():
            if not 0 <= share <= 1:
                raise ValueError(f"share of {genre!r} is {share}: expected a number from 0 to 1")
        return value

    @field_validator("must_keep")
    @classmethod
    def _title_ids(cls, value: list[str]) -> list[str]:
        bad = [title for title in value if not _TITLE_ID.match(title)]
        if bad:
            raise ValueError(f"{bad} are not title ids: expected 'T' and 5 digits, e.g. 'T00042'")
        if len(set(value)) != len(value):
            raise ValueError("lists a title more than once")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RegionConfig:
        if (self.budget_k is None) == (self.budget_share is None):
            raise ValueError("give exactly one of 'budget_k' (k$) and 'budget_share' (0 to 1]")
        if self.max_titles is not None and self.min_titles > self.max_titles:
            raise ValueError(
                f"min_titles ({self.min_titles}) is above max_titles ({self.max_titles})"
            )
        for genre, low in self.genre_min_share.items():
            high = self.genre_max_share.get(genre, self.genre_max_share.get("default", 1.0))
            if low > high:
                raise ValueError(
                    f"genre_min_share[{genre!r}] = {low} is above its max share {high}"
                )
        if sum(self.genre_min_share.values()) > 1:
            raise ValueError("genre_min_share adds up to more than 1")
        if self.min_local_language_share > 0 and not self.local_languages:
            raise ValueError("min_local_language_share > 0 needs local_languages")
        return self

    def max_share(self, genre: str) -> float:
        """The highest share of ``genre`` (its own bound, else the default)."""
        return self.genre_max_share.get(genre, self.genre_max_share.get("default", 1.0))


def _describe(error: dict[str, Any], document: Any) -> str:
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(RegionConfig.model_fields)
        return f"unknown key {location!r}; allowed keys: {allowed}"
    if error["type"] == "missing":
        return f"missing key {location!r}"
    message = error["msg"].removeprefix("Value error, ")
    if not location:
        return message
    return f"{location} = {json.dumps(error.get('input'), default=str)}: {message}"


def parse_region_config(text: str, region: str) -> dict[str, Any]:
    """Metaflow ``Config`` parser of one region's file: validate it before any task runs.

    Args:
        text: The file's content (JSON).
        region: The region the Config is for; the file must say the same.

    Returns:
        The validated configuration as plain JSON values.

    Raises:
        RegionConfigError: Not JSON, an unknown or missing key, a value out of range, or
            the file of another region; the message names the key and what is allowed.
    """
    where = f"region config region_{region}"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise RegionConfigError(f"{where} is not valid JSON: {error}") from None
    try:
        config = RegionConfig.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(_describe(e, document) for e in error.errors())
        raise RegionConfigError(f"{where}: {problems}") from None
    if config.region != region:
        raise RegionConfigError(
            f"{where}: region = {config.region!r}, but this Config is for {region!r}; "
            f"pass the file of region {region!r}"
        )
    return config.model_dump(mode="json")


def load_region_config(region: str, path: Path | str | None = None) -> RegionConfig:
    """Read and validate one region's file (default: the pipeline's own)."""
    path = Path(path) if path else REGION_CONFIG_DIR / f"{region}.json"
    return RegionConfig.model_validate(parse_region_config(path.read_text(), region))
