"""Blocking: candidate pairs from a union of configurable rules, without duplicates.

Each rule turns every record into zero or more integer keys; records sharing a key form a
block, and every pair inside a block is a candidate. A pair found by several rules is kept
once, attributed to the first rule that finds it, so each rule's pairs can be produced on
their own. The same keys answer "would blocking have proposed this pair?", which gives
blocking recall from the true pairs alone, without holding all candidates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from knowledge_graph._config import BlockingKey, BlockingRule, MatchConfig
from knowledge_graph._errors import InputDataError
from knowledge_graph._normalise import map_unique, normalise_unique, sort_tokens

__all__ = [
    "BlockingIndex",
    "block_records",
    "build_blocking_index",
    "candidate_pairs",
    "pairs_pass_blocking",
    "pairs_within_groups",
]

logger = logging.getLogger(__name__)

_CHUNK = 1 << 18


@dataclass
class BlockingIndex:
    """Per rule, the block keys of every record.

    Attributes:
        n: Number of records.
        rule_names: Rule names, in config order.
        keys: Per rule, an ``(n, width)`` int64 matrix of key codes padded with -1; keys of
            blocks that are too large (or hold a single record) are already removed.
        skipped_blocks: Per rule, how many blocks were over ``max_block_size``.
        source_codes: Per record, its source code when only cross-source pairs count.
    """

    n: int
    rule_names: list[str] = field(default_factory=list)
    keys: list[np.ndarray] = field(default_factory=list)
    skipped_blocks: list[int] = field(default_factory=list)
    source_codes: np.ndarray | None = None


def _is_list(column: pa.ChunkedArray) -> bool:
    return pa.types.is_list(column.type) or pa.types.is_large_list(column.type)


def _part(column: pa.ChunkedArray, key: BlockingKey) -> tuple[np.ndarray, np.ndarray]:
    """Exploded ``(record index, key string)`` of one key part; nulls give no key."""
    articles = tuple(key.articles)
    if _is_list(column):
        lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False)
        records = np.repeat(np.arange(len(column)), lengths)
        values = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(object)
        if key.transform != "exact":
            values = normalise_unique(values, articles, _normalisation(key))
        if key.transform == "prefix":
            values = map_unique(values, lambda v: v.replace(" ", "")[: key.length])
    else:
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = pc.cast(column, pa.string())
        raw = column.to_numpy(zero_copy_only=False).astype(object)
        transform = key.transform
        if transform == "exact":
            values = raw
        else:
            values = normalise_unique(raw, articles, _normalisation(key))
            if transform == "sorted_tokens":
                values = map_unique(values, sort_tokens)
            elif transform == "first_token":
                values = map_unique(values, lambda v: v.split()[0])
            elif transform == "prefix":
                values = map_unique(values, lambda v: v.replace(" ", "")[: key.length])
        records = np.arange(len(raw))
        if transform == "tokens":
            split = map_unique(values, lambda v: tuple(dict.fromkeys(v.split())))
            lengths = np.array([0 if t is None else len(t) for t in split], dtype=np.int64)
            records = np.repeat(records, lengths)
            values = np.array([token for t in split if t for token in t], dtype=object)
    present = pd.notna(values) & (values != "") if len(values) else np.zeros(0, dtype=bool)
    return records[present], values[present]


def _normalisation(key: BlockingKey) -> str:
    return "code" if key.transform == "code" else "text"


def _key_part(records: pa.Table, key: BlockingKey) -> tuple[np.ndarray, np.ndarray]:
    """Exploded ``(record index, key value)`` of one key part, a column or an expression."""
    if key.column is not None:
        return _part(records.column(key.column), key)
    parts = [_part(records.column(column), key) for column in key.key_columns]
    if key.combine == "any":  # one key per column, in one vocabulary across the columns
        return np.concatenate([r for r, _ in parts]), np.concatenate([v for _, v in parts])
    codes, _ = pd.factorize(np.concatenate([values for _, values in parts]))
    matrix = np.full((records.num_rows, len(parts)), -1, dtype=np.int64)
    offset = 0
    for position, (record_index, values) in enumerate(parts):
        matrix[record_index, position] = codes[offset : offset + len(values)]
        offset += len(values)
    present = np.flatnonzero((matrix >= 0).all(axis=1))  # a null in any column: no key
    matrix = matrix[present]
    if key.combine == "unordered":
        matrix.sort(axis=1)
    combined = matrix[:, 0]
    for position in range(1, len(parts)):
        combined, _ = pd.factorize(combined * (len(codes) + 1) + matrix[:, position])
    return present, combined


def _rule_keys(records: pa.Table, rule: BlockingRule) -> tuple[np.ndarray, np.ndarray]:
    """Exploded ``(record index, key code)`` of a rule: parts combined record by record."""
    frame: pd.DataFrame | None = None
    for position, key in enumerate(rule.keys):
        record_index, values = _key_part(records, key)
        codes, _ = pd.factorize(values)
        part = pd.DataFrame({"record": record_index, f"k{position}": codes.astype(np.int64)})
        frame = part if frame is None else frame.merge(part, on="record", how="inner")
    assert frame is not None
    key_columns = [c for c in frame.columns if c != "record"]
    if len(key_columns) == 1:
        combined = frame[key_columns[0]].to_numpy()
    else:
        combined, _ = pd.factorize(pd.MultiIndex.from_frame(frame[key_columns]))
    unique = pd.DataFrame({"record": frame["record"].to_numpy(), "key": combined}).drop_duplicates()
    return unique["record"].to_numpy(np.int64), unique["key"].to_numpy(np.int64)


def build_blocking_index(records: pa.Table, config: MatchConfig) -> BlockingIndex:
    """Compute every record's block keys for every blocking rule.

    Raises:
        InputDataError: A column the rules name is missing from ``records``.
    """
    index = BlockingIndex(n=records.num_rows)
    for rule in config.blocking.rules:
        for column in (column for key in rule.keys for column in key.key_columns):
            if column not in records.column_names:
                raise InputDataError(
                    f"blocking rule {rule.name!r} names column {column!r}, which the records "
                    f"lack; they have {records.column_names}"
                )
        record_index, keys = _rule_keys(records, rule)
        sizes = np.bincount(keys, minlength=1) if len(keys) else np.zeros(1, dtype=np.int64)
        too_large = sizes > config.blocking.max_block_size
        keep = (sizes[keys] >= 2) & ~too_large[keys] if len(keys) else np.zeros(0, dtype=bool)
        record_index, keys = record_index[keep], keys[keep]
        width = int(np.bincount(record_index).max()) if len(record_index) else 1
        matrix = np.full((records.num_rows, width), -1, dtype=np.int64)
        if len(record_index):
            order = np.lexsort((keys, record_index))
            record_index, keys = record_index[order], keys[order]
            first = np.r_[0, np.flatnonzero(np.diff(record_index)) + 1]
            slot = np.arange(len(record_index)) - np.repeat(
                first, np.diff(np.r_[first, len(record_index)])
            )
            matrix[record_index, slot] = keys
        skipped = int(too_large.sum())
        if skipped:
            logger.warning(
                "blocking rule %r: skipped %d blocks over %d records (max_block_size)",
                rule.name,
                skipped,
                config.blocking.max_block_size,
            )
        index.rule_names.append(rule.name)
        index.keys.append(matrix)
        index.skipped_blocks.append(skipped)
    if config.link_type == "link_only" and config.source_column:
        codes, _ = pd.factorize(records.column(config.source_column).to_numpy(zero_copy_only=False))
        index.source_codes = codes.astype(np.int32)
    return index


def _share_key(keys: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    out = np.zeros(len(left), dtype=bool)
    for start in range(0, len(left), _CHUNK):
        a = keys[left[start : start + _CHUNK]]
        b = keys[right[start : start + _CHUNK]]
        if keys.shape[1] == 1:
            out[start : start + _CHUNK] = (a[:, 0] == b[:, 0]) & (a[:, 0] >= 0)
        else:
            equal = (a[:, :, None] == b[:, None, :]) & (a >= 0)[:, :, None]
            out[start : start + _CHUNK] = equal.any(axis=(1, 2))
    return out


def _allowed(index: BlockingIndex, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    allowed = left != right
    if index.source_codes is not None:
        allowed &= index.source_codes[left] != index.source_codes[right]
    return allowed


def pairs_pass_blocking(index: BlockingIndex, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Whether blocking proposes each pair (any rule shares a key; link type allows it)."""
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    passed = np.zeros(len(left), dtype=bool)
    for keys in index.keys:
        passed |= _share_key(keys, left, right)
    return passed & _allowed(index, left, right)


def pairs_within_groups(
    items: np.ndarray, sorted_groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of ``items`` in one group, as ``(min, max)`` int64 arrays.

    Args:
        items: Item ids, ordered so that ``sorted_groups`` (aligned with them) is sorted.
        sorted_groups: Each item's group.
    """
    if len(items) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    ends = np.repeat(np.r_[starts[1:], len(items)], np.diff(np.r_[starts, len(items)]))
    positions = np.arange(len(items))
    lefts, rights = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    active = positions[ends - positions > 1]
    offset = 1
    while len(active):  # offset d pairs each position with the one d further in its group
        lefts.append(items[active])
        rights.append(items[active + offset])
        offset += 1
        active = active[ends[active] - active > offset]
    left = np.concatenate(lefts).astype(np.int64)
    right = np.concatenate(rights).astype(np.int64)
    return np.minimum(left, right), np.maximum(left, right)


def _rule_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All record pairs (i < j) sharing a key of one rule, each once."""
    records, slots = np.nonzero(keys >= 0)
    values = keys[records, slots]
    order = np.argsort(values, kind="stable")
    low, high = pairs_within_groups(records[order], values[order])
    code = np.unique(low * keys.shape[0] + high)
    return code // keys.shape[0], code % keys.shape[0]


def candidate_pairs(index: BlockingIndex) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Deduplicated candidate pairs of all rules.

    Returns:
        ``(left, right, pairs_by_rule)``: record indices with ``left < right``, sorted; and
        per rule how many pairs it found first.
    """
    lefts, rights, by_rule = [], [], {}
    for position, (name, keys) in enumerate(zip(index.rule_names, index.keys, strict=True)):
        left, right = _rule_pairs(keys)
        keep = _allowed(index, left, right)
        for earlier in index.keys[:position]:
            keep &= ~_share_key(earlier, left, right)
        lefts.append(left[keep])
        rights.append(right[keep])
        by_rule[name] = int(keep.sum())
    if not lefts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), by_rule
    left, right = np.concatenate(lefts), np.concatenate(rights)
    order = np.lexsort((right, left))
    logger.info("blocking: %d candidate pairs %s", len(left), by_rule)
    return left[order], right[order], by_rule


def block_records(
    records: pa.Table, config: MatchConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, int], BlockingIndex]:
    """Candidate pairs of ordered records from every blocking rule.

    Args:
        records: Ordered records (`order_records`).
        config: The matching configuration (blocking rules, link type).

    Returns:
        ``(left, right, pairs_by_rule, index)``: the pairs' record indices (``left < right``,
        sorted), how many pairs each rule found first, and the `BlockingIndex` they came from.
    """
    index = build_blocking_index(records, config)
    left, right, by_rule = candidate_pairs(index)
    return left, right, by_rule, index
