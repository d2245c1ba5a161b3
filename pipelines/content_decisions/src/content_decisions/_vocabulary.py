"""Names every module shares, importable without pulling in Arrow or Metaflow.

The sample world's 190 countries (ISO 3166 code, region, main language) in five regions,
each with its own configuration file under ``config/regions/``; genres and languages of the
titles; the ``@project`` name and the event and input table names of the chain.
"""

from __future__ import annotations

__all__ = [
    "COUNTRIES",
    "COUNTRIES_TABLE",
    "ETL_EVENT",
    "GENRES",
    "LANGUAGES",
    "OFFERS_TABLE",
    "PROJECT",
    "REGIONS",
    "REGION_NAMES",
    "TITLES_TABLE",
    "VIEWING_TABLE",
    "WORLD_TABLE",
]

PROJECT = "content_decisions"
"""The ``@project`` name of the chain's flows (finish events ``metaflow.<project>...``)."""
ETL_EVENT = "etl.viewing_daily.done"
"""The event the partner's ETL publishes when a day of viewing is written: ``{"date": D}``."""
VIEWING_TABLE = "etl.viewing_daily"
TITLES_TABLE = "etl.titles"
COUNTRIES_TABLE = "etl.countries"
OFFERS_TABLE = "etl.license_offers"
WORLD_TABLE = "etl.sample_world"

GENRES: tuple[str, ...] = (
    "drama",
    "comedy",
    "action",
    "thriller",
    "crime",
    "romance",
    "sci_fi",
    "fantasy",
    "horror",
    "documentary",
    "animation",
    "family",
)
LANGUAGES: tuple[str, ...] = (
    "en", "es", "pt", "fr", "de", "it", "ja", "ko", "hi", "ar", "tr", "zh", "nl", "sv", "pl",
    "ru", "th",
)  # fmt: skip
"""Original languages of the sample's titles (ISO 639-1)."""

REGION_NAMES: dict[str, str] = {
    "na": "North America",
    "latam": "Latin America and the Caribbean",
    "europe": "Europe",
    "mea": "Middle East and Africa",
    "apac": "Asia-Pacific",
}
REGIONS: tuple[str, ...] = tuple(REGION_NAMES)

# region: "CODE:language ..." (ISO 639-1 language codes).
_BY_REGION = {
    "na": "US:en CA:en BM:en",
    "latam": (
        "MX:es AR:es BR:pt CL:es CO:es PE:es VE:es EC:es BO:es PY:es UY:es CR:es PA:es "
        "GT:es HN:es SV:es NI:es CU:es DO:es PR:es JM:en TT:en BS:en BB:en BZ:en HT:fr "
        "GY:en SR:nl LC:en VC:en GD:en DM:en KN:en"
    ),
    "europe": (
        "GB:en IE:en FR:fr DE:de IT:it ES:es PT:pt NL:nl BE:fr LU:fr CH:de AT:de DK:da "
        "SE:sv NO:no FI:fi IS:en PL:pl CZ:cs SK:sk HU:hu RO:ro BG:bg GR:el CY:el MT:en "
        "SI:sl HR:hr BA:hr RS:sr ME:sr MK:mk AL:sq XK:sq EE:et LV:lv LT:lt UA:uk MD:ro "
        "AD:es MC:fr SM:it LI:de GE:ka AM:hy AZ:tr"
    ),
    "mea": (
        "TR:tr IL:he AE:ar SA:ar QA:ar KW:ar BH:ar OM:ar JO:ar LB:ar IQ:ar EG:ar PS:ar "
        "YE:ar MA:ar DZ:ar TN:ar LY:ar SD:ar ZA:en NG:en KE:en GH:en ET:en TZ:en UG:en "
        "RW:fr CM:fr CI:fr SN:fr ML:fr BF:fr NE:fr TD:fr BJ:fr TG:fr GN:fr GA:fr CG:fr "
        "CD:fr MG:fr MU:en SC:en ZM:en ZW:en MW:en MZ:pt AO:pt NA:en BW:en LS:en SZ:en "
        "LR:en SL:en GM:en GW:pt CV:pt ST:pt GQ:es SO:ar DJ:fr ER:ar SS:en BI:fr KM:ar "
        "MR:ar CF:fr"
    ),
    "apac": (
        "JP:ja KR:ko CN:zh TW:zh HK:zh MO:zh SG:en MY:en ID:id TH:th VN:vi PH:en IN:hi "
        "PK:hi BD:hi LK:en NP:hi BT:en MV:en AU:en NZ:en FJ:en PG:en SB:en VU:en WS:en "
        "TO:en KI:en NR:en KH:th LA:th MM:en MN:zh KZ:ru KG:ru UZ:ru TJ:ru TM:ru TL:id BN:en AF:hi"
    ),
}

COUNTRIES: tuple[tuple[str, str, str], ...] = tuple(
    (code, region, language)
    for region, text in _BY_REGION.items()
    for code, language in (item.split(":") for item in text.split())
)
"""``(country code, region, language)`` for each of the 190 countries, region by region."""
