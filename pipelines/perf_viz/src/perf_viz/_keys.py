"""Names of the values in a cache generation: the one contract between the flow and the service.

One generation holds, for the generation's as-of date:

- ``meta``: the generation id, the dates, countries, regions, genres and metrics it covers;
- ``catalogue``: every title (genre, release date, runtime) and its peers;
- ``series:<title_id>:<scope>``: daily views, completions, hours and retention counts of a
  title in a scope (a country, a region or ``ALL``), from its first day in the data;
- ``launch:<title_id>:<scope>``: the same for the first days after release;
- ``genre:<genre>:<scope>``: daily totals of every title of a genre in a scope.
"""

from __future__ import annotations

__all__ = ["CATALOGUE_KEY", "META_KEY", "genre_key", "launch_key", "series_key"]

META_KEY = "meta"
CATALOGUE_KEY = "catalogue"


def series_key(title_id: str, scope: str) -> str:
    """Key of a title's daily series in a scope."""
    return f"series:{title_id}:{scope}"


def launch_key(title_id: str, scope: str) -> str:
    """Key of a title's first days after release in a scope."""
    return f"launch:{title_id}:{scope}"


def genre_key(genre: str, scope: str) -> str:
    """Key of a genre's daily totals in a scope."""
    return f"genre:{genre}:{scope}"
