"""The matching configuration: fields, comparators, blocking rules and threshold, as data.

A team adapting the pipeline to people, music or podcasts edits the JSON file, not the code.
`load_match_config` validates the structure; `check_columns` validates it against the input
table's schema so that a misspelt column fails before any task runs.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from knowledge_graph._errors import MatchConfigError

__all__ = [
    "BlockingKey",
    "BlockingRule",
    "FieldComparison",
    "MatchConfig",
    "check_columns",
    "load_match_config",
]

Comparator = Literal[
    "exact", "jaro_winkler", "levenshtein", "token_sort", "numeric", "list_overlap"
]
STRING_COMPARATORS = ("exact", "jaro_winkler", "levenshtein", "token_sort")
FUZZY_COMPARATORS = ("jaro_winkler", "levenshtein", "token_sort")
Transform = Literal[
    "exact", "normalised", "sorted_tokens", "first_token", "prefix", "tokens", "each"
]
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldComparison(_Model):
    """One comparison of the Fellegi-Sunter model: a column and how two values agree.

    Levels, best first: for string comparators an exact match of the normalised values, then
    one level per similarity threshold (descending), then "else"; for ``numeric`` one level per
    absolute-difference tolerance (ascending), then "else"; for ``list_overlap`` one level per
    overlap-coefficient threshold (descending), then "else". A null on either side is "no
    evidence": the comparison adds nothing to the score.
    """

    name: str
    """Identifier of the comparison (lower-case letters, digits, underscores)."""
    column: str
    comparator: Comparator
    thresholds: list[float] = []
    """Similarity thresholds in (0, 1], descending (string and list comparators)."""
    tolerances: list[float] = []
    """Absolute differences, ascending (``numeric``)."""
    articles: list[str] = []
    """Leading (or comma-moved trailing) words dropped when normalising strings."""
    tf_adjust: bool = False
    """Term-frequency adjustment of an exact match: common values count for less."""

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"expected lower-case letters, digits and '_', got {value!r}")
        return value

    @model_validator(mode="after")
    def _levels(self) -> FieldComparison:
        if self.comparator == "numeric":
            if not self.tolerances:
                raise ValueError("a numeric comparison needs 'tolerances', e.g. [0, 1, 3]")
            if self.tolerances != sorted(set(self.tolerances)) or self.tolerances[0] < 0:
                raise ValueError(
                    f"'tolerances' must be distinct, >= 0 and ascending, got {self.tolerances}"
                )
            if self.thresholds:
                raise ValueError("a numeric comparison takes 'tolerances', not 'thresholds'")
        else:
            if self.tolerances:
                raise ValueError(f"'tolerances' only apply to numeric, not {self.comparator!r}")
            if self.comparator in (*FUZZY_COMPARATORS, "list_overlap") and not self.thresholds:
                raise ValueError(f"a {self.comparator} comparison needs 'thresholds'")
            if self.comparator == "exact" and self.thresholds:
                raise ValueError("an exact comparison has no 'thresholds'")
            if self.thresholds != sorted(set(self.thresholds), reverse=True) or not all(
                0 < t <= 1 for t in self.thresholds
            ):
                raise ValueError(
                    f"'thresholds' must be distinct, in (0, 1] and descending, "
                    f"got {self.thresholds}"
                )
        if self.tf_adjust and self.comparator not in STRING_COMPARATORS:
            raise ValueError("'tf_adjust' applies to string comparators only")
        return self

    @property
    def n_levels(self) -> int:
        """Number of agreement levels, including "else" (level 0)."""
        if self.comparator == "numeric":
            return len(self.tolerances) + 1
        if self.comparator == "list_overlap":
            return len(self.thresholds) + 1
        return len(self.thresholds) + 2  # "else", thresholds, exact


class BlockingKey(_Model):
    """One part of a blocking key: a column and a transform of its values.

    ``tokens`` (each word of a string) and ``each`` (each element of a list) give a record
    several keys; a pair is a candidate when the two records share any of them.
    """

    column: str
    transform: Transform = "normalised"
    length: int | None = Field(default=None, ge=1)
    """Number of characters kept by ``prefix``."""
    articles: list[str] = []

    @model_validator(mode="after")
    def _length(self) -> BlockingKey:
        if (self.transform == "prefix") != (self.length is not None):
            raise ValueError("'length' is required by, and only allowed with, 'prefix'")
        return self


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
    """Keep u from random pairs instead of re-estimating it by EM. Off by default: blocking
    makes candidate non-matches agree far more often than random pairs do, and the weights
    score candidates, so u is learnt on them (random-pair u only starts EM off)."""
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


class MatchConfig(_Model):
    """The whole matching configuration (see ``match_config.json`` next to ``flow.py``)."""

    input_table: str
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
        for rule in self.blocking.rules:
            for key in rule.keys:
                named.setdefault(key.column, f"blocking.rules[{rule.name}].keys.column")
        if self.cluster.exclusive_column:
            named.setdefault(self.cluster.exclusive_column, "cluster.exclusive_column")
        for column in self.canonical_columns:
            named.setdefault(column, "canonical_columns")
        return named


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "config"
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key {where!r}")
        elif item["type"] == "missing":
            problems.append(f"missing required key {where!r}")
        else:
            problems.append(f"{where}: {item['msg']} (got {item.get('input')!r})")
    return "; ".join(problems)


def load_match_config(source: str | Path | Mapping[str, Any]) -> MatchConfig:
    """Load and validate a matching configuration.

    Args:
        source: A mapping, a JSON document (a string starting with ``{``) or a path to a JSON
            file.

    Raises:
        MatchConfigError: The file is missing or not JSON, or the content is invalid; the
            message names each offending key and what is expected.
    """
    if isinstance(source, Mapping):
        document: Any = dict(source)
        origin = "match config"
    else:
        text = str(source)
        origin = "match config"
        if not text.lstrip().startswith("{"):
            path = Path(text)
            origin = str(path)
            try:
                text = path.read_text()
            except OSError as error:
                raise MatchConfigError(
                    f"cannot read match config {path}: {error.strerror}; pass an existing "
                    "JSON file (see pipelines/knowledge_graph/match_config.json)"
                ) from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise MatchConfigError(f"{origin} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise MatchConfigError(f"{origin} must be a JSON object, got {type(document).__name__}")
    try:
        return MatchConfig.model_validate(document)
    except ValidationError as error:
        raise MatchConfigError(f"{origin} is invalid: {_describe(error)}") from None


def _kind(data_type: pa.DataType) -> str:
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "string"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
        return "numeric"
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        inner = data_type.value_type
        if pa.types.is_string(inner) or pa.types.is_large_string(inner):
            return "list"
    return str(data_type)


_ALLOWED_KINDS = {
    "exact": ("string", "numeric", "list"),
    "jaro_winkler": ("string", "list"),
    "levenshtein": ("string", "list"),
    "token_sort": ("string", "list"),
    "numeric": ("numeric",),
    "list_overlap": ("list",),
}


def check_columns(config: MatchConfig, schema: pa.Schema, table: str = "the input table") -> None:
    """Check that every column the configuration names exists with a usable type.

    Args:
        config: A validated configuration.
        schema: The input table's Arrow schema.
        table: Name used in error messages.

    Raises:
        MatchConfigError: A column is missing (the message names it, where the config uses
            it, and the closest existing names) or its type does not suit its comparator.
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
    for field in config.fields:
        kind = _kind(schema.field(field.column).type)
        if kind not in _ALLOWED_KINDS[field.comparator]:
            raise MatchConfigError(
                f"fields[{field.name}]: comparator {field.comparator!r} needs a column of kind "
                f"{list(_ALLOWED_KINDS[field.comparator])}, but {field.column!r} in {table} is "
                f"{schema.field(field.column).type}"
            )
