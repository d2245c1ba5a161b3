"""Deterministic sample data: noisy person records from several sources, plus ground truth.

The second example domain of the template (the first is `_sample.py`'s title records): people
listed by registries that each hold a person at most once, with typos (a third of them an
adjacent transposition), given name and surname swapped, address lines swapped, dates of
birth with day and month transposed or one field wrong, nicknames, people who moved, postcodes
without their leading zero, and missing values. Households make the hard non-matches: family
members share a surname and an address, twins a date of birth too.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass

from knowledge_graph import _person_vocabulary as vocab
from knowledge_graph._sample import SampleData, check_sample_arguments, shuffled_sample
from knowledge_graph._schemas import PERSON_RECORD_SCHEMA, PERSON_TRUTH_SCHEMA

__all__ = ["MAX_PERSON_SOURCES", "generate_person_records"]

logger = logging.getLogger(__name__)

_FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
)


@dataclass(frozen=True)
class _PersonSource:
    name: str
    id_prefix: str
    coverage: float  # share of all people this source lists
    typo: float  # per name or address field
    swap_names: float
    swap_address: float
    dob_transposed: float
    dob_typo: float
    nickname: float
    moved: float  # lists the person at another address
    drop_leading_zero: float  # "0800" -> "800"
    upper: float  # share of records written in capitals
    missing: float  # per field (address_2 is missing more often anyway)


_PERSON_SOURCES = (
    _PersonSource("registry", "reg-", 0.85, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.03, 0.0,
                  0.0, 0.01),
    _PersonSource("survey", "sv", 0.80, 0.08, 0.05, 0.05, 0.04, 0.04, 0.04, 0.08, 0.5,
                  0.3, 0.05),
    _PersonSource("clinic", "CL/", 0.60, 0.05, 0.03, 0.03, 0.03, 0.03, 0.05, 0.06, 0.2,
                  0.1, 0.04),
    _PersonSource("electoral", "el:", 0.70, 0.04, 0.02, 0.02, 0.02, 0.02, 0.02, 0.05, 0.1,
                  0.5, 0.03),
)  # fmt: skip

MAX_PERSON_SOURCES = len(_PERSON_SOURCES)
_KEYBOARD = "abcdefghijklmnopqrstuvwxyz"
_FIRST_DAY = dt.date(1930, 1, 1).toordinal()
_LAST_DAY = dt.date(2012, 12, 31).toordinal()


def _places(rng: random.Random, n_postcodes: int) -> list[dict]:
    """Suburbs with a postcode and a state; a postcode covers one to three suburbs."""
    names = [p + s for p in vocab.SUBURB_PREFIXES for s in vocab.SUBURB_SUFFIXES]
    names += [f"{m} {name}" for m in ("north", "south", "east", "west", "mount") for name in names]
    rng.shuffle(names)
    states = list(vocab.STATE_WEIGHTS)
    places: list[dict] = []
    used: set[int] = set()
    for _ in range(n_postcodes):
        state = rng.choices(states, weights=vocab.STATE_WEIGHTS.values())[0]
        low, high = vocab.STATES[state]
        postcode = rng.randint(low, high)
        while postcode in used:
            postcode = rng.randint(low, high) if len(used) < 9000 else postcode + 1
        used.add(postcode)
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            suburb = names[len(places) % len(names)]
            places.append({"suburb": suburb, "postcode": f"{postcode:04d}", "state": state})
    return places


def _address(rng: random.Random, places: list[dict]) -> dict:
    number = str(rng.randint(1, 250))
    if rng.random() < 0.05:
        number += rng.choice("abc")
    line_2 = rng.choice(vocab.ADDRESS_LINE_2) if rng.random() < 0.35 else None
    street = f"{rng.choice(vocab.STREET_NAMES)} {rng.choice(vocab.STREET_TYPES)}"
    return {"street_number": number, "address_1": street, "address_2": line_2,
            **rng.choice(places)}  # fmt: skip


def _zipf_surnames(rng: random.Random) -> tuple[list[str], list[float]]:
    surnames = list(vocab.SURNAMES)
    rng.shuffle(surnames)
    return surnames, [1 / (rank + 1) ** 0.8 for rank in range(len(surnames))]


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    at = rng.randrange(1, len(text) - 1)
    operation = rng.random()
    if operation < 0.35:  # adjacent transposition: one edit for Damerau-Levenshtein
        return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    if operation < 0.6:
        return text[:at] + text[at + 1 :]
    if operation < 0.8:
        return text[:at] + text[at] + text[at:]
    return text[:at] + rng.choice(_KEYBOARD) + text[at + 1 :]


def _digit_typo(rng: random.Random, digits: str) -> str:
    at = rng.randrange(len(digits))
    replacement = rng.choice([d for d in "0123456789" if d != digits[at]])
    return digits[:at] + replacement + digits[at + 1 :]


def _date_typo(rng: random.Random, date: dt.date) -> dt.date:
    """One of year, month and day wrong (the others kept)."""
    for _ in range(10):
        field = rng.random()
        try:
            if field < 0.4:
                return date.replace(day=rng.choice([d for d in range(1, 29) if d != date.day]))
            if field < 0.7:
                month = rng.choice([m for m in range(1, 13) if m != date.month])
                return date.replace(month=month)
            year = date.year + rng.choice((-10, -1, 1, 10))
            return date.replace(year=year)
        except ValueError:  # 29 February or day 31 in a short month: draw again
            continue
    return date


def _person(rng: random.Random, surnames, weights, places, household: dict | None) -> dict:
    person = {"given_name": rng.choice(vocab.GIVEN_NAMES)}
    if household is not None:
        person |= {k: household[k] for k in ("street_number", "address_1", "address_2",
                                              "suburb", "postcode", "state")}  # fmt: skip
        person["surname"] = household["surname"] if rng.random() < 0.9 else None
        while person["given_name"] == household["given_name"]:
            person["given_name"] = rng.choice(vocab.GIVEN_NAMES)
        twin = rng.random() < 0.15
        person["date_of_birth"] = household["date_of_birth"] if twin else None
    else:
        person |= _address(rng, places)
        person["surname"] = None
        person["date_of_birth"] = None
    if person["surname"] is None:
        person["surname"] = rng.choices(surnames, weights=weights)[0]
    if person["date_of_birth"] is None:
        person["date_of_birth"] = dt.date.fromordinal(rng.randint(_FIRST_DAY, _LAST_DAY))
    return person


def _record(rng: random.Random, style: _PersonSource, person: dict, places) -> dict:
    row = dict(person)
    if rng.random() < style.moved:
        row |= _address(rng, places)
    if rng.random() < style.nickname:
        row["given_name"] = vocab.NICKNAMES.get(row["given_name"], row["given_name"])
    for name in ("given_name", "surname", "address_1", "suburb"):
        if rng.random() < style.typo:
            row[name] = _typo(rng, row[name])
    if rng.random() < style.typo / 2:
        row["street_number"] = _digit_typo(rng, row["street_number"])
    if rng.random() < style.typo / 2:
        row["postcode"] = _digit_typo(rng, row["postcode"])
    if row["postcode"].startswith("0") and rng.random() < style.drop_leading_zero:
        row["postcode"] = row["postcode"].lstrip("0")
    if rng.random() < style.swap_names:
        row["given_name"], row["surname"] = row["surname"], row["given_name"]
    if rng.random() < style.swap_address:
        row["address_1"], row["address_2"] = row["address_2"], row["address_1"]
    date = row["date_of_birth"]
    roll = rng.random()
    if roll < style.dob_transposed and date.day <= 12 and date.day != date.month:
        row["date_of_birth"] = date.replace(day=date.month, month=date.day)
    elif roll < style.dob_transposed + style.dob_typo:
        row["date_of_birth"] = _date_typo(rng, date)
    elif roll < style.dob_transposed + style.dob_typo + style.dob_typo / 4:  # plain wrong
        row["date_of_birth"] = dt.date.fromordinal(rng.randint(_FIRST_DAY, _LAST_DAY))
    for name in _FIELDS:
        if rng.random() < style.missing * (3 if name == "street_number" else 1):
            row[name] = None
    if rng.random() < style.upper:
        row = {k: v.upper() if isinstance(v, str) else v for k, v in row.items()}
    else:
        for name in ("given_name", "surname", "address_1", "address_2", "suburb"):
            if row[name] is not None and rng.random() < 0.5:
                row[name] = row[name].title()
    return row


def generate_person_records(
    n_records: int = 10_000, n_sources: int = 2, seed: int = 0
) -> SampleData:
    """Generate noisy person records from several sources, with ground truth.

    Each source lists a person at most once. Noise: typos in names and addresses (a third of
    them adjacent transpositions), nicknames, given name and surname swapped, address lines
    swapped, date of birth with day and month transposed or one of its fields wrong, another
    address (the person moved), a postcode digit wrong or its leading zero dropped, capitals,
    missing values. A quarter of the people share a household with the previous one (same
    surname and address; one in seven of those is a twin, with the same date of birth): those
    are the hard non-matches. The same arguments always give the same data.

    Args:
        n_records: Number of records to generate (exactly this many; 0 gives empty tables).
        n_sources: Number of sources, 1 to `MAX_PERSON_SOURCES`.
        seed: Random seed.

    Raises:
        InputDataError: ``n_records`` is negative or ``n_sources`` is out of range.
    """
    check_sample_arguments(n_records, n_sources, MAX_PERSON_SOURCES)
    rng = random.Random(seed)
    sources = _PERSON_SOURCES[:n_sources]
    n_people = max(1, int(n_records / sum(s.coverage for s in sources)) + 1)
    places = _places(rng, max(20, n_people // 25))
    surnames, weights = _zipf_surnames(rng)
    rows: list[dict] = []
    truth: list[tuple[str, str, str]] = []
    counters = dict.fromkeys((s.name for s in sources), 0)
    previous: dict | None = None
    person_index = 0
    while len(rows) < n_records:
        household = previous if previous is not None and rng.random() < 0.25 else None
        person = _person(rng, surnames, weights, places, household)
        previous = person
        listed = [s for s in sources if rng.random() < s.coverage] or [rng.choice(sources)]
        entity_id = f"person-{person_index:07d}"
        person_index += 1
        for style in listed:
            if len(rows) == n_records:
                break
            counters[style.name] += 1
            record_id = f"{style.id_prefix}{counters[style.name] * 7919 % 10_000_019:08d}"
            rows.append({"source": style.name, "record_id": record_id,
                         **_record(rng, style, person, places)})  # fmt: skip
            truth.append((style.name, record_id, entity_id))
    sample = shuffled_sample(rng, rows, truth, PERSON_RECORD_SCHEMA, PERSON_TRUTH_SCHEMA)
    logger.info(
        "generated %d records of %d people from %d sources (seed %d)",
        len(rows),
        person_index,
        n_sources,
        seed,
    )
    return sample
