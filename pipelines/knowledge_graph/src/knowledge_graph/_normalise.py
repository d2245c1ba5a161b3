"""Text normalisation used by blocking keys and comparators.

All functions work on *unique* values and map back, so the Python-level cost grows with the
number of distinct strings, not with the number of records or pairs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

# Letters that NFKD does not decompose into ASCII + combining marks.
_FOLD = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "ð": "d",
        "\u0131": "i",  # dotless i
    }
)
_NON_WORD = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=1 << 16)
def fold_ascii(text: str) -> str:
    """Fold diacritics and ligatures to ASCII (``"Amélie Œuvre" -> "Amelie OEuvre"``)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def normalise_text(text: str, articles: Sequence[str] = ()) -> str:
    """Lower-case, ASCII-folded, punctuation-free form of ``text`` for comparison.

    ``&`` becomes ``and``; a leading article from ``articles`` is dropped, and so is a
    trailing one moved behind a comma (``"Matrix, The"`` and ``"The Matrix"`` both give
    ``"matrix"``).

    Args:
        text: Any string.
        articles: Lower-case articles to strip at the start or after a final comma.
    """
    folded = fold_ascii(text).lower().replace("&", " and ")
    if articles:
        head, comma, tail = folded.rpartition(",")
        if comma and tail.strip() in articles:
            folded = head
    tokens = _NON_WORD.sub(" ", folded).split()
    if articles and len(tokens) > 1 and tokens[0] in articles:
        tokens = tokens[1:]
    return " ".join(tokens)


def normalise_code(text: str) -> str:
    """Normalised form of an identifier such as a postcode or a street number.

    Letters and digits only, lower-case, and leading zeros dropped: ``"0800"``, ``"800"``
    and ``" 08-00 "`` all give ``"800"``, ``"12 A"`` gives ``"12a"``; all zeros give ``"0"``.
    """
    code = _NON_WORD.sub("", fold_ascii(text).lower())
    stripped = code.lstrip("0")
    return stripped or ("0" if code else "")


def sort_tokens(text: str) -> str:
    """The whitespace tokens of ``text`` in sorted order (precomputed token-sort form)."""
    return " ".join(sorted(text.split()))


def normalise_unique(
    values: Sequence[str | None] | np.ndarray,
    articles: Sequence[str] = (),
    normalise: str = "text",
) -> np.ndarray:
    """`normalise_text` (or `normalise_code`) over an array with nulls, once per distinct value.

    Args:
        values: Strings (or any values: they are formatted with ``str``); None for null.
        articles: Articles `normalise_text` strips.
        normalise: ``text`` (`normalise_text`) or ``code`` (`normalise_code`).

    Returns:
        An object array of the same length: normalised strings, ``None`` for nulls and for
        values that normalise to the empty string.
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    if normalise == "code":
        mapped = [normalise_code(str(value)) or None for value in uniques]
    else:
        article_set = tuple(articles)
        mapped = [normalise_text(str(value), article_set) or None for value in uniques]
    lookup = np.array([*mapped, None], dtype=object)  # index -1 -> None
    return lookup[codes]


def map_unique(values: np.ndarray, function) -> np.ndarray:
    """Apply ``function`` to each distinct non-null value of an object array; nulls stay."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = np.array([*(function(value) for value in uniques), None], dtype=object)
    return lookup[codes]


def normalise_lists(
    lists: Iterable[Sequence[str] | None],
) -> list[list[str] | None]:
    """Normalise each element of each list; empty or missing lists become ``None``."""
    cache: dict[str, str] = {}
    result: list[list[str] | None] = []
    for items in lists:
        if not items:
            result.append(None)
            continue
        normalised = []
        for item in items:
            if item is None:
                continue
            value = cache.get(item)
            if value is None:
                value = cache[item] = normalise_text(item)
            if value:
                normalised.append(value)
        result.append(normalised or None)
    return result
