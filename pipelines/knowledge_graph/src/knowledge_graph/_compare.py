"""Comparators: turn record pairs into agreement levels, vectorised.

Records are prepared once (normalised strings, factorised codes, padded list codes), then any
number of pairs ``(left[i], right[i])`` are compared with integer gathers, numpy and
rapidfuzz's ``process.cpdist``. Level ``-1`` means "no evidence" (a null on either side).

Fuzzy comparisons of the same column with the same normalisation (``title`` by Jaro-Winkler and
by token sort) form one `ValueGroup`: its distinct pairs of values are found once and each
comparison scores only those, since many candidate pairs repeat a pair of values (a title
against the same title in three other sources).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import distance, process

from knowledge_graph._config import FieldComparison, MatchConfig
from knowledge_graph._errors import InputDataError
from knowledge_graph._normalise import map_unique, normalise_lists, normalise_unique, sort_tokens

__all__ = [
    "PreparedField",
    "PreparedRecords",
    "ValueGroup",
    "compare_pairs",
    "comparison_stages",
    "prepare_records",
]

logger = logging.getLogger(__name__)

NULL_LEVEL = -1
NULL_DAY = np.iinfo(np.int32).min
"""A null date in `PreparedField.days`."""
MAX_LIST_WIDTH = 16
_EPSILON = 1e-6  # rapidfuzz returns float32: 0.9 comes back as 0.89999998
_SCORERS = {
    "jaro_winkler": distance.JaroWinkler.normalized_similarity,
    "levenshtein": distance.Levenshtein.normalized_similarity,
    "damerau_levenshtein": distance.DamerauLevenshtein.normalized_similarity,
    # Token-sort ratio == Indel similarity of the sorted tokens, which are precomputed.
    "token_sort": distance.Indel.normalized_similarity,
}
# Edit counts, for comparisons with ``distances`` (an adjacent transposition is one edit for
# Damerau-Levenshtein, two for Levenshtein).
_DISTANCES = {
    "levenshtein": distance.Levenshtein.distance,
    "damerau_levenshtein": distance.DamerauLevenshtein.distance,
}
_CHUNK = 1 << 18
_DAYS_PER_YEAR = 365.25


@dataclass
class PreparedField:
    """One comparison's view of the records.

    Attributes:
        spec: The comparison from the config.
        codes: Per record, an integer code of the normalised value (-1 = null); equal codes
            mean an exact match. String and exact comparators.
        numbers: Per record, a float (NaN = null); ``numeric``.
        lists: Per record, up to `MAX_LIST_WIDTH` distinct element codes padded with -1;
            ``list_overlap``.
        list_lengths: Per record, the number of elements in ``lists`` (0 = null).
        signatures: Per record, a 64-bit mask of its list elements (a fast "no overlap" test).
        uniques: The normalised value of each code (for fuzzy comparators and term
            frequencies).
        days: Per record, days since 1970-01-01 (`NULL_DAY` = null); ``date``.
        years: Per record, the date's year; ``date``.
        months: Per record, the date's month (1-12); ``date``.
        month_days: Per record, the date's day of the month (1-31); ``date``.
        swap_codes: With ``swapped_with``: per record, codes of this column's and the other
            column's normalised values in one vocabulary (-1 = null), so that "left's value
            equals right's other value" is an integer comparison.
    """

    spec: FieldComparison
    codes: np.ndarray | None = None
    numbers: np.ndarray | None = None
    lists: np.ndarray | None = None
    list_lengths: np.ndarray | None = None
    signatures: np.ndarray | None = None
    uniques: np.ndarray | None = None
    days: np.ndarray | None = None
    years: np.ndarray | None = None
    months: np.ndarray | None = None
    month_days: np.ndarray | None = None
    swap_codes: tuple[np.ndarray, np.ndarray] | None = None

    def strings(self) -> np.ndarray:
        """Per record, the normalised string of a string comparator (None = null)."""
        return np.append(self.uniques, None)[self.codes]  # code -1 takes the appended None


@dataclass
class ValueGroup:
    """Fuzzy comparisons that share one column and its normalisation.

    Attributes:
        codes: Per record, a code of the normalised value (-1 = null).
        n_values: Number of distinct normalised values.
        field_codes: Per member comparison name, its own value code for each group value code
            (token sort maps "matrix the" and "the matrix" to one code).
    """

    codes: np.ndarray
    n_values: int
    field_codes: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, name: str, codes: np.ndarray) -> None:
        """Add a comparison whose per-record ``codes`` are a function of the group's."""
        field_codes = np.full(self.n_values, -1, dtype=np.int32)
        present = self.codes >= 0
        field_codes[self.codes[present]] = codes[present]
        self.field_codes[name] = field_codes


@dataclass
class PreparedRecords:
    """Records prepared for comparison (see `prepare_records`).

    Attributes:
        n: Number of records.
        fields: Prepared data per comparison name, in config order.
        value_groups: The fuzzy comparisons grouped by column and normalisation.
        source_codes: Per record, a code of its source (``link_only``), or None.
    """

    n: int
    fields: dict[str, PreparedField] = field(default_factory=dict)
    value_groups: list[ValueGroup] = field(default_factory=list)
    source_codes: np.ndarray | None = None


def _normalised_strings(
    column: pa.ChunkedArray, articles: Sequence[str], normalise: str = "text"
) -> np.ndarray:
    """Normalised strings (lists are joined in sorted order), None for null or empty.

    Numbers are compared as their decimal digits (an integer postcode or street number).
    """
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        lists = normalise_lists(column.to_pylist())
        joined = [" ".join(sorted(items)) if items else None for items in lists]
        return np.array(joined, dtype=object)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    return normalise_unique(column.to_numpy(zero_copy_only=False), articles, normalise)


def _dates(column: pa.ChunkedArray, date_format: str, name: str) -> np.ndarray:
    """Days since 1970-01-01 of a date, timestamp or (``date_format``) string column."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        parsed = pc.strptime(column, format=date_format, unit="s", error_is_null=True)
        failed = parsed.null_count - column.null_count
        if failed:
            logger.warning(
                "%s: %d values do not parse with date format %r; they count as null",
                name,
                failed,
                date_format,
            )
        column = parsed
    values = column.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    days = np.full(len(values), NULL_DAY, dtype=np.int32)
    present = ~np.isnat(values)
    days[present] = values[present].astype(np.int64)
    return days


def _date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day of the month of each day number (nulls give 0s)."""
    dates = np.where(days == NULL_DAY, 0, days).astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    years = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    return years.astype(np.int16), month.astype(np.int8), day.astype(np.int8)


def _list_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    lists = normalise_lists(column.to_pylist())
    vocabulary: dict[str, int] = {}
    matrix = np.full((len(lists), MAX_LIST_WIDTH), -1, dtype=np.int32)
    lengths = np.zeros(len(lists), dtype=np.int16)
    for row, items in enumerate(lists):
        if not items:
            continue
        codes = list(dict.fromkeys(vocabulary.setdefault(item, len(vocabulary)) for item in items))
        codes = codes[:MAX_LIST_WIDTH]
        matrix[row, : len(codes)] = codes
        lengths[row] = len(codes)
    return matrix, lengths


def prepare_records(records: pa.Table, config: MatchConfig) -> PreparedRecords:
    """Normalise and encode the columns the configuration compares.

    Args:
        records: Input records; row ``i`` is record ``i`` in every pair index.
        config: The matching configuration (its columns must exist: see `check_columns`).

    Raises:
        InputDataError: A configured column is missing from ``records``.
    """
    missing = sorted(set(config.columns()) - set(records.column_names))
    if missing:
        raise InputDataError(
            f"records lack configured columns {missing}; they have {records.column_names}"
        )
    prepared = PreparedRecords(n=records.num_rows)
    # (column, articles, normalisation) -> normalised strings, and the fuzzy groups
    normalised: dict[tuple[str, tuple[str, ...], str], np.ndarray] = {}
    groups: dict[tuple[str, tuple[str, ...], str], ValueGroup] = {}

    def strings_of(column_name: str, spec: FieldComparison) -> np.ndarray:
        key = (column_name, tuple(spec.articles), spec.normalise)
        if key not in normalised:
            normalised[key] = _normalised_strings(
                records.column(column_name), spec.articles, spec.normalise
            )
        return normalised[key]

    for spec in config.fields:
        column = records.column(spec.column)
        entry = PreparedField(spec=spec)
        if spec.comparator == "numeric":
            entry.numbers = (
                pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
            )
        elif spec.comparator == "list_overlap":
            entry.lists, entry.list_lengths = _list_codes(column)
            entry.signatures = _signatures(entry.lists)
        elif spec.comparator == "date":
            entry.days = _dates(column, spec.date_format, spec.name)
            entry.years, entry.months, entry.month_days = _date_parts(entry.days)
        else:
            key = (spec.column, tuple(spec.articles), spec.normalise)
            strings = strings_of(spec.column, spec)
            if spec.comparator == "token_sort":
                strings = map_unique(strings, sort_tokens)
            if spec.swapped_with:
                other = strings_of(spec.swapped_with, spec)
                if spec.comparator == "token_sort":
                    other = map_unique(other, sort_tokens)
                joint, _ = pd.factorize(np.concatenate([strings, other]), use_na_sentinel=True)
                joint = joint.astype(np.int32)
                entry.swap_codes = (joint[: prepared.n], joint[prepared.n :])
            codes, uniques = pd.factorize(strings, use_na_sentinel=True)
            entry.codes = codes.astype(np.int32)
            entry.uniques = np.asarray(uniques, dtype=object)
            if spec.comparator != "exact":
                if key not in groups:
                    if strings is normalised[key]:
                        groups[key] = ValueGroup(entry.codes, len(entry.uniques))
                    else:
                        group_codes, group_values = pd.factorize(normalised[key])
                        groups[key] = ValueGroup(group_codes.astype(np.int32), len(group_values))
                groups[key].add(spec.name, entry.codes)
        prepared.fields[spec.name] = entry
    prepared.value_groups = list(groups.values())
    if config.link_type == "link_only" and config.source_column:
        codes, _ = pd.factorize(
            records.column(config.source_column).to_numpy(zero_copy_only=False),
            use_na_sentinel=True,
        )
        prepared.source_codes = codes.astype(np.int32)
    return prepared


def _levels_from_similarity(similarity: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Number of (descending) thresholds met: 0 = "else", len(thresholds) = the best."""
    levels = np.zeros(len(similarity), dtype=np.int8)
    for threshold in thresholds:
        levels += similarity >= threshold - _EPSILON
    return levels


def _levels_from_distance(edits: np.ndarray, distances: Sequence[int]) -> np.ndarray:
    """Number of (ascending) edit limits met: 0 = "else", len(distances) = the fewest edits."""
    levels = np.zeros(len(edits), dtype=np.int8)
    for limit in distances:
        levels += edits <= limit
    return levels


def _compare_exact(entry: PreparedField, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    code_left, code_right = entry.codes[left], entry.codes[right]
    levels = (code_left == code_right).astype(np.int8) * np.int8(entry.spec.n_levels - 1)
    levels[(code_left < 0) | (code_right < 0)] = NULL_LEVEL
    return levels


def _compare_group(
    prepared: PreparedRecords,
    group: ValueGroup,
    names: Sequence[str],
    left: np.ndarray,
    right: np.ndarray,
    workers: int,
) -> dict[str, np.ndarray]:
    """Levels of the named comparisons of ``group``; each distinct value pair is scored once."""
    code_left, code_right = group.codes[left], group.codes[right]
    null = (code_left < 0) | (code_right < 0)
    same = (code_left == code_right) & ~null
    differ = np.flatnonzero(~(null | same))
    # The scorers are symmetric, so (a, b) and (b, a) are one pair of values.
    a, b = code_left[differ].astype(np.int64), code_right[differ].astype(np.int64)
    inverse, distinct = pd.factorize(np.minimum(a, b) * group.n_values + np.maximum(a, b))
    low, high = np.divmod(distinct, group.n_values)
    out = {}
    for name in names:
        field_codes = group.field_codes[name]
        entry = prepared.fields[name]
        spec = entry.spec
        top = spec.n_levels - 1
        value_left, value_right = field_codes[low], field_codes[high]
        distinct_levels = np.full(len(distinct), top, dtype=np.int8)
        scored = np.flatnonzero(value_left != value_right)
        if len(scored):
            if spec.distances:  # edits, at most the largest limit counted exactly
                scorer, cutoff, dtype = _DISTANCES[spec.comparator], max(spec.distances), np.int32
            else:
                scorer, cutoff, dtype = _SCORERS[spec.comparator], min(spec.thresholds), np.float32
            scores = process.cpdist(
                entry.uniques[value_left[scored]],
                entry.uniques[value_right[scored]],
                scorer=scorer,
                score_cutoff=cutoff,
                workers=workers,
                dtype=dtype,
            )
            distinct_levels[scored] = (
                _levels_from_distance(scores, spec.distances)
                if spec.distances
                else _levels_from_similarity(scores, spec.thresholds)
            )
        distinct_levels[(value_left < 0) | (value_right < 0)] = NULL_LEVEL
        levels = same.astype(np.int8) * np.int8(top)
        levels[differ] = distinct_levels[inverse]
        levels[null] = NULL_LEVEL
        out[name] = levels
    return out


def _compare_numbers(entry: PreparedField, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    difference = np.abs(entry.numbers[left] - entry.numbers[right])
    levels = np.zeros(len(left), dtype=np.int8)
    for tolerance in entry.spec.tolerances:
        levels += difference <= tolerance + _EPSILON
    levels[np.isnan(difference)] = NULL_LEVEL
    return levels


def _compare_dates(entry: PreparedField, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Date levels: within years, within days, one field differs, day/month swapped, exact."""
    spec = entry.spec
    days_left, days_right = entry.days[left], entry.days[right]
    null = (days_left == NULL_DAY) | (days_right == NULL_DAY)
    apart = np.abs(days_left.astype(np.int64) - days_right)
    levels = np.zeros(len(left), dtype=np.int8)
    level = 0
    # Lowest level first: a pair keeps the best level whose test it passes.
    for years in reversed(spec.within_years):
        level += 1
        levels[apart <= round(years * _DAYS_PER_YEAR)] = level
    for days in reversed(spec.within_days):
        level += 1
        levels[apart <= days] = level
    if spec.one_field_differs or spec.day_month_swapped:
        same_year = entry.years[left] == entry.years[right]
        month_left, month_right = entry.months[left], entry.months[right]
        day_left, day_right = entry.month_days[left], entry.month_days[right]
        if spec.one_field_differs:
            level += 1
            differ = (~same_year).astype(np.int8)
            differ += month_left != month_right
            differ += day_left != day_right
            levels[differ == 1] = level
        if spec.day_month_swapped:
            level += 1
            swapped = same_year & (day_left == month_right) & (month_left == day_right)
            levels[swapped & (day_left != month_left)] = level
    levels[apart == 0] = level + 1
    levels[null] = NULL_LEVEL
    return levels


def _overlay_swaps(entry: PreparedField, levels: np.ndarray, left, right) -> None:
    """Raise pairs whose values are crossed with ``swapped_with`` to the "swapped" level."""
    own, other = entry.swap_codes
    own_left, other_left = own[left], other[left]
    # Both sides present: own[left] == other[right] >= 0 and other[left] == own[right] >= 0.
    crossed = (own_left == other[right]) & (other_left == own[right])
    crossed &= (own_left >= 0) & (other_left >= 0)
    swapped = np.int8(entry.spec.swapped_level)
    levels[crossed & (levels < swapped)] = swapped


def _signatures(lists: np.ndarray) -> np.ndarray:
    """Per record, a 64-bit mask with bit ``code % 64`` set for each element."""
    bits = np.where(lists >= 0, np.left_shift(np.uint64(1), (lists % 64).astype(np.uint64)), 0)
    return np.bitwise_or.reduce(bits.astype(np.uint64), axis=1)


def list_overlap(
    lists: np.ndarray,
    lengths: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    signatures: np.ndarray | None = None,
) -> np.ndarray:
    """Overlap coefficient |A ∩ B| / min(|A|, |B|) of padded code lists; NaN if one is empty.

    Lists whose 64-bit signatures share no bit share no element, so only the others are
    compared element by element.
    """
    smaller = np.minimum(lengths[left], lengths[right])
    out = np.where(smaller > 0, 0.0, np.nan).astype(np.float32)
    if signatures is None:
        signatures = _signatures(lists)
    maybe = np.flatnonzero((signatures[left] & signatures[right]) != 0)
    if lists.shape[1] % 8:  # rows of whole 64-bit words (see below)
        lists = np.pad(lists, ((0, 0), (0, -lists.shape[1] % 8)), constant_values=-1)
    for start in range(0, len(maybe), _CHUNK):
        chunk = maybe[start : start + _CHUNK]
        # Look up each element of the shorter list in the longer one. Rows sorted by that
        # length, longest first, make "rows with an element in this column" a prefix.
        left_shorter = lengths[left[chunk]] <= lengths[right[chunk]]
        short = np.where(left_shorter, left[chunk], right[chunk])
        long = np.where(left_shorter, right[chunk], left[chunk])
        short_lengths = lengths[short]
        order = np.argsort(-short_lengths, kind="stable")
        short, long, short_lengths = short[order], long[order], short_lengths[order]
        width = int(short_lengths[0]) if len(short_lengths) else 0
        long_width = -(-int(lengths[long].max(initial=1)) // 8) * 8
        long_lists = lists[long, :long_width]
        shared = np.zeros(len(chunk), dtype=np.int16)
        for column in range(width):
            rows = int(np.count_nonzero(short_lengths > column))
            equal = lists[short[:rows], column][:, None] == long_lists[:rows]
            # Each row's 8, 16, ... booleans read as 64-bit words: a word != 0 means found.
            shared[:rows] += equal.view(np.uint64).any(axis=1)
        out[chunk[order]] = shared / short_lengths
    return out


def _compare_lists(entry: PreparedField, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    overlap = list_overlap(entry.lists, entry.list_lengths, left, right, entry.signatures)
    levels = _levels_from_similarity(np.nan_to_num(overlap, nan=0.0), entry.spec.thresholds)
    levels[np.isnan(overlap)] = NULL_LEVEL
    return levels


def comparison_stages(prepared: PreparedRecords) -> list[list[str]]:
    """Comparison names in the order a pruning scorer runs them (see `score_pairs`).

    First every comparison that is not fuzzy (numpy alone: 5-100 ms per million pairs each),
    then the fuzzy comparisons one `ValueGroup` at a time, in configuration order (the members
    of a group share the search for distinct value pairs, so they run together). Pairs that
    can no longer match skip the later groups, so the most decisive fuzzy comparison belongs
    first in the configuration.
    """
    fuzzy = [name for group in prepared.value_groups for name in group.field_codes]
    cheap = [name for name in prepared.fields if name not in fuzzy]
    return [cheap, *(list(group.field_codes) for group in prepared.value_groups)]


def compare_pairs(
    prepared: PreparedRecords,
    left: np.ndarray,
    right: np.ndarray,
    workers: int = -1,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Agreement level of every configured comparison for every pair.

    Args:
        prepared: Prepared records.
        left: Record indices of the pairs' left sides.
        right: Record indices of the pairs' right sides (same length).
        workers: Threads for rapidfuzz (-1: all cores).
        names: Only these comparisons, in this order (default: all, in config order).

    Returns:
        An ``int8`` array of shape ``(len(left), len(names))``: 0 = "else", higher is
        better, -1 = no evidence.

    Raises:
        InputDataError: Index arrays differ in length or point outside the records, or a
            name is not a configured comparison.
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    if left.shape != right.shape:
        raise InputDataError(f"left and right differ in length: {len(left)} != {len(right)}")
    if len(left) and (
        min(left.min(), right.min()) < 0 or max(left.max(), right.max()) >= prepared.n
    ):
        raise InputDataError(
            f"pair indices must lie in [0, {prepared.n}); got {min(left.min(), right.min())}.."
            f"{max(left.max(), right.max())}"
        )
    names = list(prepared.fields) if names is None else list(names)
    unknown = sorted(set(names) - set(prepared.fields))
    if unknown:
        raise InputDataError(f"no comparisons {unknown}; configured: {list(prepared.fields)}")
    # Column-major: each comparison's levels are contiguous for the writers and the scorer.
    levels = np.empty((len(left), len(names)), dtype=np.int8, order="F")
    columns = {name: column for column, name in enumerate(names)}
    for group in prepared.value_groups:
        members = [name for name in group.field_codes if name in columns]
        if members:
            compared = _compare_group(prepared, group, members, left, right, workers)
            for name, group_levels in compared.items():
                levels[:, columns[name]] = group_levels
    for name in names:
        entry = prepared.fields[name]
        if entry.spec.comparator == "numeric":
            levels[:, columns[name]] = _compare_numbers(entry, left, right)
        elif entry.spec.comparator == "list_overlap":
            levels[:, columns[name]] = _compare_lists(entry, left, right)
        elif entry.spec.comparator == "exact":
            levels[:, columns[name]] = _compare_exact(entry, left, right)
        elif entry.spec.comparator == "date":
            levels[:, columns[name]] = _compare_dates(entry, left, right)
        if entry.swap_codes is not None:
            _overlay_swaps(entry, levels[:, columns[name]], left, right)
    return levels
