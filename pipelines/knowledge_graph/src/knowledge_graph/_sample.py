"""Deterministic sample data: noisy title records from several sources, plus ground truth."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import pyarrow as pa

from knowledge_graph import _vocabulary as vocab
from knowledge_graph._errors import InputDataError
from knowledge_graph._normalise import fold_ascii
from knowledge_graph._schemas import TITLE_RECORD_SCHEMA, TITLE_TRUTH_SCHEMA

__all__ = ["SampleData", "check_sample_arguments", "generate_title_records", "shuffled_sample"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _SourceStyle:
    name: str
    id_prefix: str
    coverage: float  # share of all titles this source lists
    ascii_only: bool  # strips diacritics everywhere
    transliterate: float  # uses another romanisation of a name
    moved_article: float  # "Matrix, The"
    upper: float
    lower: float
    drop_punctuation: float
    typo: float
    drop_subtitle: float
    dash_subtitle: float
    year_off: float
    missing_original: float
    missing_year: float
    missing_runtime: float
    missing_people: float
    cast_kept: float  # share of the cast a source lists
    shuffle_cast: float
    missing_country: float


_SOURCES = (
    _SourceStyle("cinedb", "cdb-", 0.85, False, 0.0, 0.0, 0.0, 0.0, 0.05, 0.02, 0.05, 0.0,
                 0.03, 0.10, 0.02, 0.05, 0.03, 1.0, 0.0, 0.03),
    _SourceStyle("streamhub", "sh", 0.75, True, 0.3, 0.25, 0.05, 0.10, 0.20, 0.08, 0.2, 0.3,
                 0.06, 0.40, 0.04, 0.20, 0.08, 0.6, 0.5, 0.15),
    _SourceStyle("filmarchive", "FA/", 0.65, False, 0.5, 0.40, 0.25, 0.0, 0.30, 0.12, 0.3, 0.2,
                 0.08, 0.25, 0.06, 0.15, 0.10, 0.8, 0.3, 0.10),
    _SourceStyle("broadcastguide", "bg:", 0.60, True, 0.2, 0.10, 0.02, 0.35, 0.25, 0.15, 0.35,
                 0.1, 0.10, 0.50, 0.05, 0.30, 0.12, 0.5, 0.6, 0.25),
    _SourceStyle("tvlistings", "tvl", 0.55, True, 0.4, 0.2, 0.1, 0.2, 0.2, 0.1, 0.3, 0.2,
                 0.08, 0.5, 0.05, 0.3, 0.1, 0.6, 0.5, 0.2),
    _SourceStyle("festivalcat", "fc-", 0.5, False, 0.3, 0.3, 0.0, 0.1, 0.1, 0.08, 0.2, 0.2,
                 0.06, 0.2, 0.04, 0.2, 0.08, 0.7, 0.4, 0.1),
)  # fmt: skip

MAX_SOURCES = len(_SOURCES)


@dataclass(frozen=True)
class SampleData:
    """Generated records and their ground truth.

    Attributes:
        records: Title records with `TITLE_RECORD_SCHEMA`, in shuffled order.
        truth: One row per record with its real ``entity_id`` (`TITLE_TRUTH_SCHEMA`); the matcher
            never reads it.
    """

    records: pa.Table
    truth: pa.Table


def check_sample_arguments(n_records: int, n_sources: int, max_sources: int) -> None:
    """Raise `InputDataError` unless ``n_records >= 0`` and ``1 <= n_sources <= max_sources``."""
    if n_records < 0:
        raise InputDataError(f"n_records must be >= 0, got {n_records}")
    if not 1 <= n_sources <= max_sources:
        raise InputDataError(f"n_sources must be between 1 and {max_sources}, got {n_sources}")


def shuffled_sample(
    rng: random.Random,
    rows: list[dict],
    truth: list[tuple[str, str, str]],
    records_schema: pa.Schema,
    truth_schema: pa.Schema,
) -> SampleData:
    """Generated rows and their truth as tables, both in one shuffled order.

    Args:
        rng: The generator's random state (the shuffle is part of the seeded sample).
        rows: One dict per record with every column of ``records_schema``.
        truth: Per row, ``(source, record id, entity id)``: the columns of ``truth_schema``.
        records_schema: Schema of the records.
        truth_schema: Schema of the truth.
    """
    order = list(range(len(rows)))
    rng.shuffle(order)
    columns = {name: [rows[i][name] for i in order] for name in records_schema.names}
    truth_columns = {
        name: [truth[i][position] for i in order]
        for position, name in enumerate(truth_schema.names)
    }
    return SampleData(
        records=pa.Table.from_pydict(columns, schema=records_schema),
        truth=pa.Table.from_pydict(truth_columns, schema=truth_schema),
    )


def _person_pool(rng: random.Random, size: int) -> list[str]:
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < size:
        first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
        # A middle initial now and then, so large samples do not run out of names.
        middle = f" {rng.choice(_KEYBOARD).upper()}." if rng.random() < 0.4 else ""
        name = f"{first}{middle} {last}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _base_title(rng: random.Random) -> str:
    pattern = rng.random()
    adjective, noun = rng.choice(vocab.ADJECTIVES), rng.choice(vocab.NOUNS)
    if pattern < 0.25:
        return f"The {adjective} {noun}"
    if pattern < 0.45:
        return f"{adjective} {noun}"
    if pattern < 0.60:
        return f"The {noun} of {rng.choice(vocab.PLACES)}"
    if pattern < 0.72:
        name = rng.choice(vocab.FIRST_NAMES)
        return f"{name}'s {noun}"
    if pattern < 0.84:
        return f"A {noun} in {rng.choice(vocab.PLACES)}"
    if pattern < 0.92:
        return f"{noun} & {rng.choice(vocab.NOUNS)}"
    return f"The {adjective} {noun} of {rng.choice(vocab.NOUNS)}"


def _entity(rng: random.Random, people: list[str], directors: list[str], previous: list[dict]):
    kind = "series" if rng.random() < 0.3 else "movie"
    country = rng.choices(list(vocab.COUNTRY_WEIGHTS), weights=vocab.COUNTRY_WEIGHTS.values())[0]
    language, native_words = vocab.COUNTRIES[country]
    year = rng.randint(1950, 2024)
    roll = rng.random()
    if roll < 0.04:
        title = rng.choice(vocab.COMMON_TITLES)  # distinct titles sharing a common name
    elif roll < 0.05 and previous:
        # A sequel: near-identical title, same director, part of the cast: a hard non-match.
        first = rng.choice(previous)
        sequel = dict(first)
        sequel["title"] = f"{first['title'].split(':')[0]} {rng.choice(['2', 'II', 'Part 2'])}"
        sequel["original_title"] = sequel["title"]
        sequel["year"] = min(first["year"] + rng.randint(2, 6), 2025)
        kept = rng.sample(first["cast"], k=max(1, len(first["cast"]) // 2))
        sequel["cast"] = kept + rng.sample(people, k=rng.randint(1, 4))
        sequel["runtime_min"] = first["runtime_min"] + rng.randint(-12, 12)
        return sequel
    elif roll < 0.14:
        title = f"{_base_title(rng)}: {rng.choice(vocab.SUBTITLES)}"
    else:
        title = _base_title(rng)
    original = " ".join(rng.sample(native_words, k=rng.randint(1, 3))) if native_words else title
    runtime = rng.randint(20, 65) if kind == "series" else rng.randint(78, 175)
    n_directors = 1 if rng.random() < 0.88 else 2
    return {
        "title": title,
        "original_title": original,
        "year": year,
        "kind": kind,
        "runtime_min": runtime,
        "directors": rng.sample(directors, k=n_directors),
        "cast": rng.sample(people, k=rng.randint(3, 8)),
        "country": country,
        "language": language,
    }


_KEYBOARD = "abcdefghijklmnopqrstuvwxyz"


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text
    at = rng.randrange(1, len(text) - 1)
    operation = rng.random()
    if operation < 0.3:  # swap two neighbours
        return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    if operation < 0.55:  # drop a letter
        return text[:at] + text[at + 1 :]
    if operation < 0.8:  # double a letter
        return text[:at] + text[at] + text[at:]
    return text[:at] + rng.choice(_KEYBOARD) + text[at + 1 :]


def _person(rng: random.Random, style: _SourceStyle, name: str) -> str:
    if style.transliterate and rng.random() < style.transliterate:
        name = " ".join(vocab.TRANSLITERATIONS.get(part, part) for part in name.split())
    if style.ascii_only:
        name = fold_ascii(name)
    return name


def _noisy_title(rng: random.Random, style: _SourceStyle, title: str) -> str:
    if ": " in title:
        head, _, subtitle = title.partition(": ")
        if rng.random() < style.drop_subtitle:
            title = head
        elif rng.random() < style.dash_subtitle:
            title = f"{head} - {subtitle}"
    for article in ("The ", "A ", "An "):
        if title.startswith(article) and rng.random() < style.moved_article:
            title = f"{title[len(article) :]}, {article.strip()}"
            break
    if rng.random() < style.drop_punctuation:
        title = title.replace(":", "").replace("'", "").replace(" - ", " ").replace("&", "and")
    if rng.random() < style.typo:
        title = _typo(rng, title)
    if style.ascii_only:
        title = fold_ascii(title)
    casing = rng.random()
    if casing < style.upper:
        title = title.upper()
    elif casing < style.upper + style.lower:
        title = title.lower()
    return title


def _record(rng: random.Random, style: _SourceStyle, entity: dict) -> dict:
    original = entity["original_title"]
    if rng.random() < style.missing_original:
        original = None
    elif style.ascii_only:
        original = fold_ascii(original)
    if original is not None and rng.random() < style.typo / 2:
        original = _typo(rng, original)
    year = entity["year"]
    if rng.random() < style.year_off:
        year += rng.choice((-1, 1))
    runtime = entity["runtime_min"]
    if rng.random() < 0.3:
        runtime += rng.randint(-4, 4)
    directors = [_person(rng, style, name) for name in entity["directors"]]
    cast = [_person(rng, style, name) for name in entity["cast"]]
    if style.cast_kept < 1.0:
        keep = max(1, round(len(cast) * rng.uniform(style.cast_kept, 1.0)))
        cast = cast[:keep]
    if rng.random() < style.shuffle_cast:
        rng.shuffle(cast)
    missing_people = rng.random()
    return {
        "title": _noisy_title(rng, style, entity["title"]),
        "original_title": original,
        "year": None if rng.random() < style.missing_year else year,
        "kind": entity["kind"],
        "runtime_min": None if rng.random() < style.missing_runtime else runtime,
        "directors": None if missing_people < style.missing_people / 2 else directors,
        "cast": None if rng.random() < style.missing_people else cast,
        "country": None if rng.random() < style.missing_country else entity["country"],
        "language": None if rng.random() < style.missing_country else entity["language"],
    }


def generate_title_records(
    n_records: int = 20_000, n_sources: int = 4, seed: int = 0
) -> SampleData:
    """Generate noisy title records from several sources, with ground truth.

    Every source lists each real title at most once and describes it in its own way: typos,
    casing and punctuation, moved articles ("Matrix, The"), subtitle variants, diacritics
    stripped or names romanised differently, year off by one, missing fields, partial or
    reordered cast. Some distinct titles share a common name ("Home", "Love") and some are
    sequels with near-identical titles. The same arguments always give the same data.

    Args:
        n_records: Number of records to generate (exactly this many; 0 gives empty tables).
        n_sources: Number of sources, 1 to `MAX_SOURCES`.
        seed: Random seed.

    Raises:
        InputDataError: ``n_records`` is negative or ``n_sources`` is out of range.
    """
    check_sample_arguments(n_records, n_sources, MAX_SOURCES)
    rng = random.Random(seed)
    sources = _SOURCES[:n_sources]
    n_titles_hint = max(1, int(n_records / sum(s.coverage for s in sources)) + 1)
    people = _person_pool(rng, max(200, n_titles_hint * 3))
    directors = _person_pool(rng, max(50, n_titles_hint // 4))
    rows: list[dict] = []
    truth: list[tuple[str, str, str]] = []
    previous: list[dict] = []
    counters = dict.fromkeys((s.name for s in sources), 0)
    entity_index = 0
    while len(rows) < n_records:
        entity = _entity(rng, people, directors, previous)
        if len(previous) < 500:
            previous.append(entity)
        else:
            previous[rng.randrange(500)] = entity
        listed = [s for s in sources if rng.random() < s.coverage] or [rng.choice(sources)]
        entity_id = f"title-{entity_index:07d}"
        entity_index += 1
        for style in listed:
            if len(rows) == n_records:
                break
            counters[style.name] += 1
            source_id = f"{style.id_prefix}{counters[style.name] * 7919 % 10_000_019:08d}"
            row = _record(rng, style, entity)
            rows.append({"source": style.name, "source_id": source_id, **row})
            truth.append((style.name, source_id, entity_id))
    sample = shuffled_sample(rng, rows, truth, TITLE_RECORD_SCHEMA, TITLE_TRUTH_SCHEMA)
    logger.info(
        "generated %d records of %d titles from %d sources (seed %d)",
        len(rows),
        entity_index,
        n_sources,
        seed,
    )
    return sample
