"""The matching configuration: fields, comparators, blocking rules and threshold, as data.

A team adapting the pipeline to people, music or podcasts edits the JSON file, not the code.
`load_match_config` validates the structure; `check_columns` validates it against the input
table's schema so that a misspelt column fails before any task runs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from knowledge_graph._errors import MatchConfigError
from mlplatform.config import load_json_config

__all__ = [
    "BlockingKey",
    "BlockingRule",
    "FieldComparison",
    "MatchConfig",
    "SampleConfig",
    "check_columns",
    "column_kind",
    "load_match_config",
]

Comparator = Literal[
    "exact",
    "jaro_winkler",
    "levenshtein",
    "damerau_levenshtein",
    "token_sort",
    "numeric",
    "list_overlap",
    "date",
]
STRING_COMPARATORS = ("exact", "jaro_winkler", "levenshtein", "damerau_levenshtein", "token_sort")
FUZZY_COMPARATORS = ("jaro_winkler", "levenshtein", "damerau_levenshtein", "token_sort")
EDIT_COMPARATORS = ("levenshtein", "damerau_levenshtein")
"""Comparators that can also count edits (``distances``) instead of a similarity."""
Normalisation = Literal["text", "code"]
Transform = Literal[
    "exact", "normalised", "code", "sorted_tokens", "first_token", "prefix", "tokens", "each"
]
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_DATE_OPTIONS = ("day_month_swapped", "one_field_differs", "within_days", "within_years")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ascending(values: list, what: str, minimum: float) -> None:
    if values != sorted(set(values)) or (values and values[0] < minimum):
        raise ValueError(f"'{what}' must be distinct, >= {minimum:g} and ascending, got {values}")


class FieldComparison(_Model):
    """One comparison of the Fellegi-Sunter model: a column and how two values agree.

    Levels, worst first (level 0 is "else"); a pair gets the best level whose test it passes:

    * string comparators: one level per similarity threshold (``thresholds``, descending) or,
      for the edit-distance comparators, per number of edits (``distances``, ascending);
      then "swapped" (with ``swapped_with``); then an exact match of the normalised values;
    * ``numeric``: one level per absolute-difference tolerance (``tolerances``, ascending);
    * ``list_overlap``: one level per overlap-coefficient threshold (``thresholds``);
    * ``date``: within each of ``within_years`` (largest first), within each of
      ``within_days`` (largest first), one of year, month and day differs
      (``one_field_differs``), day and month transposed (``day_month_swapped``), exact.

    A null on either side is "no evidence": the comparison adds nothing to the score.
    """

    name: str
    """Identifier of the comparison (lower-case letters, digits, underscores)."""
    column: str
    comparator: Comparator
    thresholds: list[float] = []
    """Similarity thresholds in (0, 1], descending (string and list comparators)."""
    distances: list[int] = []
    """Most edits per level, ascending (``levenshtein``, ``damerau_levenshtein``)."""
    tolerances: list[float] = []
    """Absolute differences, ascending (``numeric``)."""
    normalise: Normalisation = "text"
    """How strings are normalised before comparing: ``text`` (ASCII folding, casing,
    punctuation, ``articles``) or ``code`` (identifiers such as postcodes and street numbers:
    letters and digits only, leading zeros dropped, so ``"0800"``, ``"800"`` and the integer
    800 agree)."""
    articles: list[str] = []
    """Leading (or comma-moved trailing) words dropped when normalising strings."""
    swapped_with: str | None = None
    """Another column: a "swapped" level (just below exact) for pairs whose values of the two
    columns are crossed (left ``column`` == right ``swapped_with`` and the other way round,
    after normalisation), e.g. given name and surname. Declare it on one of the two
    comparisons: the other one still sees a disagreement, so a swap is counted once."""
    tf_adjust: bool = False
    """Term-frequency adjustment of an exact match: common values count for less."""
    day_month_swapped: bool = False
    """``date``: a level for day and month transposed (same year)."""
    one_field_differs: bool = False
    """``date``: a level for exactly one of year, month and day differing (a typo)."""
    within_days: list[int] = []
    """``date``: one level per most days apart, ascending."""
    within_years: list[int] = []
    """``date``: one level per most years (of 365.25 days) apart, ascending."""
    date_format: str = "%Y-%m-%d"
    """``date`` on a string column: the strptime format of its values (others are null)."""

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"expected lower-case letters, digits and '_', got {value!r}")
        return value

    @model_validator(mode="after")
    def _levels(self) -> FieldComparison:
        comparator = self.comparator
        if comparator != "numeric" and self.tolerances:
            raise ValueError(f"'tolerances' only apply to numeric, not {comparator!r}")
        if comparator not in EDIT_COMPARATORS and self.distances:
            raise ValueError(
                f"'distances' only apply to {list(EDIT_COMPARATORS)}, not {comparator!r}"
            )
        if comparator != "date":
            given = [option for option in _DATE_OPTIONS if getattr(self, option)]
            if given or self.date_format != "%Y-%m-%d":
                raise ValueError(f"{given or ['date_format']} only apply to the date comparator")
        if comparator in ("numeric", "date", "exact") and self.thresholds:
            raise ValueError(f"a {comparator} comparison has no 'thresholds'")
        if comparator == "numeric":
            if not self.tolerances:
                raise ValueError("a numeric comparison needs 'tolerances', e.g. [0, 1, 3]")
            _ascending(self.tolerances, "tolerances", 0)
        elif comparator == "date":
            _ascending(self.within_days, "within_days", 1)
            _ascending(self.within_years, "within_years", 1)
        elif comparator in EDIT_COMPARATORS and self.distances:
            if self.thresholds:
                raise ValueError("give 'thresholds' (similarity) or 'distances' (edits), not both")
            _ascending(self.distances, "distances", 1)
        elif comparator in (*FUZZY_COMPARATORS, "list_overlap") and not self.thresholds:
            extra = " or 'distances'" if comparator in EDIT_COMPARATORS else ""
            raise ValueError(f"a {comparator} comparison needs 'thresholds'{extra}")
        if self.thresholds != sorted(set(self.thresholds), reverse=True) or not all(
            0 < t <= 1 for t in self.thresholds
        ):
            raise ValueError(
                f"'thresholds' must be distinct, in (0, 1] and descending, got {self.thresholds}"
            )
        if comparator not in STRING_COMPARATORS:
            for option, value in (
                ("tf_adjust", self.tf_adjust),
                ("swapped_with", self.swapped_with),
                ("articles", self.articles),
                ("normalise", self.normalise != "text"),
            ):
                if value:
                    raise ValueError(f"{option!r} applies to string comparators only")
        if self.normalise == "code" and self.articles:
            raise ValueError("'articles' apply to normalise 'text', not 'code'")
        if self.swapped_with == self.column:
            raise ValueError(f"'swapped_with' must name another column than {self.column!r}")
        return self

    @property
    def n_levels(self) -> int:
        """Number of agreement levels, including "else" (level 0)."""
        return len(self.level_names)

    @property
    def level_names(self) -> list[str]:
        """A short label of each level, worst ("else", level 0) first."""
        if self.comparator == "numeric":
            steps = [f"|diff| <= {t:g}" if t else "equal" for t in reversed(self.tolerances)]
            return ["else", *steps]
        if self.comparator == "list_overlap":
            return ["else", *(f"overlap >= {t:g}" for t in reversed(self.thresholds))]
        if self.comparator == "date":
            names = ["else"]
            names += [f"within {n} year{'s' * (n > 1)}" for n in reversed(self.within_years)]
            names += [f"within {n} day{'s' * (n > 1)}" for n in reversed(self.within_days)]
            names += ["one field differs"] * self.one_field_differs
            names += ["day/month swapped"] * self.day_month_swapped
            return [*names, "exact"]
        if self.distances:
            steps = [f"<= {d} edit{'s' * (d > 1)}" for d in reversed(self.distances)]
        else:
            steps = [f"{self.comparator} >= {t:g}" for t in reversed(self.thresholds)]
        swapped = [f"swapped with {self.swapped_with}"] if self.swapped_with else []
        return ["else", *steps, *swapped, "exact"]

    @property
    def swapped_level(self) -> int | None:
        """The "swapped" level (just below exact), or None without ``swapped_with``."""
        return self.n_levels - 2 if self.swapped_with else None


class BlockingKey(_Model):
    """One part of a blocking key: a column (or an expression of several) and a transform.

    ``tokens`` (each word of a string) and ``each`` (each element of a list) give a record
    several keys; a pair is a candidate when the two records share any of them. With
    ``columns`` the key is an expression of several columns, each transformed first:
    ``ordered`` (their values in order), ``unordered`` (the same values in any column order:
    given name and surname swapped agree) or ``any`` (one key per column: a value in any of
    the columns meets the same value in any of them).
    """

    column: str | None = None
    columns: list[str] | None = Field(default=None, min_length=2)
    combine: Literal["ordered", "unordered", "any"] | None = None
    transform: Transform = "normalised"
    length: int | None = Field(default=None, ge=1)
    """Number of characters kept by ``prefix``."""
    articles: list[str] = []

    @model_validator(mode="after")
    def _shape(self) -> BlockingKey:
        if (self.column is None) == (self.columns is None):
            raise ValueError("a blocking key names either 'column' or 'columns' (an expression)")
        if (self.columns is None) != (self.combine is None):
            raise ValueError("'combine' (ordered, unordered, any) goes with 'columns', and only")
        if self.combine in ("ordered", "unordered") and self.transform in ("tokens", "each"):
            raise ValueError(
                f"combine {self.combine!r} needs one value per column; transform "
                f"{self.transform!r} gives several (use combine 'any')"
            )
        if self.columns is not None and len(set(self.columns)) != len(self.columns):
            raise ValueError(f"'columns' must be distinct, got {self.columns}")
        if (self.transform == "prefix") != (self.length is not None):
            raise ValueError("'length' is required by, and only allowed with, 'prefix'")
        return self

    @property
    def key_columns(self) -> list[str]:
        """The columns the key reads."""
        return [self.column] if self.column is not None else list(self.columns or [])


class BlockingRule(_Model):
    """Records that agree on every key part of the rule become candidate pairs."""

    name: str
    keys: list[BlockingKey] = Field(min_length=1)


def _unique_names(items: list, what: str) -> list:
    """``items`` if their ``name``s are unique, else a ValueError naming them."""
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names must be unique, got {names}")
    return items


class BlockingConfig(_Model):
    """Union of rules; blocks larger than ``max_block_size`` records are skipped."""

    rules: list[BlockingRule] = Field(min_length=1)
    max_block_size: int = Field(default=500, ge=2)

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[BlockingRule]) -> list[BlockingRule]:
        return _unique_names(rules, "blocking rule")


class EMConfig(_Model):
    """Expectation-maximisation of the m and u probabilities (no labels needed)."""

    max_iterations: int = Field(default=100, ge=1)
    tolerance: float = Field(default=1e-6, gt=0)
    sample_pairs: int = Field(default=2_000_000, ge=1)
    """Candidate pairs EM trains on (a random sample when there are more)."""
    u_sample_pairs: int = Field(default=500_000, ge=1)
    """Random record pairs that estimate u (almost all are non-matches)."""
    fix_u: bool = False
    """Keep u from random record pairs instead of re-estimating it by EM on the candidates.
    Off by default: random-pair u cannot describe candidate non-matches (a postcode block's
    non-matches all agree on postcode, state and mostly suburb), so EM then explains them as
    matches: on both samples the prior went to 0.99+ and F1 fell (titles 0.9988 -> 0.9621,
    people 0.9713 -> 0.8595). Re-estimated on the candidates, u makes agreement on a column
    that blocking forces count for little; ``monotone`` keeps a near miss from then counting
    for more than an exact match."""
    monotone: bool = True
    """Constrain each comparison's m/u ratio to be non-decreasing with agreement (its levels
    worst first, as `FieldComparison` orders them): a better level never weighs less. The M-step
    then gives the constrained maximum-likelihood estimate (isotonic regression, pooling
    levels that would be out of order)."""
    prior_match: float = Field(default=0.1, gt=0, lt=1)
    """Starting share of matches among candidate pairs."""
    seed: int = 0


class ClusterConfig(_Model):
    """Connected components with a guard against chaining unrelated records together."""

    exclusive_column: str | None = None
    """An entity holds at most one record per value of this column (e.g. ``source``)."""
    min_link_density: float = Field(default=0.5, ge=0, le=1)
    """Two groups merge only if this share of their record pairs are matches."""
    max_size: int | None = Field(default=None, ge=2)


class SampleConfig(_Model):
    """The generated sample that seeds a missing input table in the local profile."""

    generator: Literal["titles", "people"]
    """``titles`` (film and series records) or ``people`` (person records)."""
    records: int = Field(default=10_000, ge=0)
    """Records generated (the flow's ``--sample_records`` overrides it)."""
    sources: int = Field(default=2, ge=1)
    """Sources they come from (the flow's ``--sample_sources`` overrides it)."""


class MatchConfig(_Model):
    """The whole matching configuration (see ``match_config.json`` next to ``flow.py``)."""

    input_table: str
    sample: SampleConfig | None = None
    """Sample data for a missing input table (local profile only); without it a missing
    input table is an error: write the table first."""
    truth_table: str | None = None
    pairs_table: str
    matches_table: str
    entities_table: str
    id_columns: list[str] = Field(min_length=1)
    """Columns that identify a record (e.g. ``["source", "source_id"]``)."""
    source_column: str | None = None
    link_type: Literal["link_only", "dedupe_only", "link_and_dedupe"] = "link_and_dedupe"
    """``link_only`` compares records of different sources only (``source_column``)."""
    fields: list[FieldComparison] = Field(min_length=1)
    blocking: BlockingConfig
    threshold: float = Field(gt=0, lt=1)
    """Match probability at or above which a pair is a match."""
    tf_minimum: float = Field(default=1e-4, gt=0, le=1)
    """Lower bound of a value's frequency in the term-frequency adjustment."""
    em: EMConfig = EMConfig()
    cluster: ClusterConfig = ClusterConfig()
    canonical_columns: list[str] = []
    """Columns whose most common value among an entity's records describes the entity."""
    pairs_per_file: int = Field(default=2_000_000, ge=1)
    """Candidate pairs per file of the pairs table; a shard is one or more files."""
    shard_target_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    """Parquet bytes of candidate pairs per match task."""
    workers: int = -1
    """Cores per match task: its chunks of pairs are scored in that many threads (-1: all)."""

    @field_validator("fields")
    @classmethod
    def _unique_fields(cls, fields: list[FieldComparison]) -> list[FieldComparison]:
        return _unique_names(fields, "comparison")

    @model_validator(mode="after")
    def _source(self) -> MatchConfig:
        if self.link_type != "dedupe_only" and self.source_column is None:
            raise ValueError(f"link_type {self.link_type!r} needs 'source_column'")
        if self.link_type == "dedupe_only" and self.source_column is not None:
            raise ValueError(
                "link_type 'dedupe_only' does not use 'source_column'; remove it or use 'link_only'"
            )
        return self

    def columns(self) -> dict[str, str]:
        """Every column the configuration reads, mapped to where the config names it."""
        named: dict[str, str] = {}
        for column in self.id_columns:
            named.setdefault(column, "id_columns")
        if self.source_column:
            named.setdefault(self.source_column, "source_column")
        for field in self.fields:
            named.setdefault(field.column, f"fields[{field.name}].column")
            if field.swapped_with:
                named.setdefault(field.swapped_with, f"fields[{field.name}].swapped_with")
        for rule in self.blocking.rules:
            for key in rule.keys:
                for column in key.key_columns:
                    named.setdefault(column, f"blocking.rules[{rule.name}].keys.column")
        if self.cluster.exclusive_column:
            named.setdefault(self.cluster.exclusive_column, "cluster.exclusive_column")
        for column in self.canonical_columns:
            named.setdefault(column, "canonical_columns")
        return named


def load_match_config(source: str | Path | Mapping[str, Any]) -> MatchConfig:
    """Load and validate a matching configuration.

    Args:
        source: A mapping, a JSON document (a string starting with ``{``) or a path to a JSON
            file.

    Raises:
        MatchConfigError: The file is missing or not JSON, or the content is invalid; the
            message names each offending key and what is expected.
    """
    return load_json_config(
        source,
        MatchConfig,
        name="match config",
        error=MatchConfigError,
        example="pipelines/knowledge_graph/match_config.json",
    )


def column_kind(data_type: pa.DataType) -> str:
    """What a comparator sees in a column: string, integer, float, date, list, or the type."""
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "string"
    if pa.types.is_integer(data_type):
        return "integer"
    if pa.types.is_floating(data_type):
        return "float"
    if pa.types.is_date(data_type) or pa.types.is_timestamp(data_type):
        return "date"
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        inner = data_type.value_type
        if pa.types.is_string(inner) or pa.types.is_large_string(inner):
            return "list"
    return str(data_type)


# Integers compare as strings too (postcodes, street numbers stored as numbers); floats do not
# (800.0 is not a code): compare those with ``numeric``.
_TEXT_KINDS = ("string", "integer", "list")
_ALLOWED_KINDS = {
    "exact": ("string", "integer", "float", "date", "list"),
    "jaro_winkler": _TEXT_KINDS,
    "levenshtein": _TEXT_KINDS,
    "damerau_levenshtein": _TEXT_KINDS,
    "token_sort": _TEXT_KINDS,
    "numeric": ("integer", "float"),
    "list_overlap": ("list",),
    "date": ("date", "string"),
}


def check_columns(config: MatchConfig, schema: pa.Schema, table: str = "the input table") -> None:
    """Check that every column the configuration names exists with a usable type.

    Args:
        config: A validated configuration.
        schema: The input table's Arrow schema.
        table: Name used in error messages.

    Raises:
        MatchConfigError: A column is missing (the message names it, where the config uses
            it, and the closest existing names) or its type does not suit its comparator,
            its swapped column or its blocking transform.
    """
    names = schema.names
    for column, where in config.columns().items():
        if column not in names:
            closest = difflib.get_close_matches(column, names, n=3)
            hint = f"; did you mean {closest}?" if closest else ""
            raise MatchConfigError(
                f"{where} names column {column!r}, which {table} does not have; its columns "
                f"are {names}{hint}. Fix the match config or the table."
            )

    def kind(column: str) -> str:
        return column_kind(schema.field(column).type)

    for field in config.fields:
        allowed = _ALLOWED_KINDS[field.comparator]
        if field.normalise == "code":
            allowed = ("string", "integer")
        if kind(field.column) not in allowed:
            raise MatchConfigError(
                f"fields[{field.name}]: comparator {field.comparator!r}"
                f"{' with normalise code' if field.normalise == 'code' else ''} needs a column "
                f"of kind {list(allowed)}, but {field.column!r} in {table} is "
                f"{schema.field(field.column).type} ({kind(field.column)})"
            )
        if field.swapped_with and kind(field.swapped_with) not in ("string", "integer"):
            raise MatchConfigError(
                f"fields[{field.name}]: swapped_with {field.swapped_with!r} needs a string or "
                f"integer column, but it is {schema.field(field.swapped_with).type} in {table}"
            )
        if field.swapped_with and kind(field.column) == "list":
            raise MatchConfigError(
                f"fields[{field.name}]: swapped_with compares single values, but "
                f"{field.column!r} in {table} is a list"
            )
    for rule in config.blocking.rules:
        for key in rule.keys:
            for column in key.key_columns:
                if key.transform == "code" and kind(column) not in ("string", "integer"):
                    raise MatchConfigError(
                        f"blocking.rules[{rule.name}]: transform 'code' needs a string or "
                        f"integer column, but {column!r} in {table} is {schema.field(column).type}"
                    )
                if key.combine in ("ordered", "unordered") and kind(column) == "list":
                    raise MatchConfigError(
                        f"blocking.rules[{rule.name}]: combine {key.combine!r} needs one value "
                        f"per column, but {column!r} in {table} is a list (use combine 'any')"
                    )
                if key.transform == "each" and kind(column) != "list":
                    raise MatchConfigError(
                        f"blocking.rules[{rule.name}]: transform 'each' needs a list column, "
                        f"but {column!r} in {table} is {schema.field(column).type}"
                    )
