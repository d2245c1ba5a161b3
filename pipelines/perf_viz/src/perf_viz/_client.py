"""The app's HTTP client of the service: answers as dicts, failures as one-line errors.

The app never reads the cache or the tables itself; it only talks to the service. Every
failure becomes an exception whose message is what the app shows instead of a chart:
unreachable, too slow, nothing published, an unknown name, a date range outside the data.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from perf_viz._errors import (
    DateRangeError,
    NothingPublishedError,
    QueryError,
    ServiceError,
    ServiceSlowError,
    ServiceUnreachableError,
    UnknownNameError,
)

__all__ = ["DEFAULT_SERVICE_URL", "PerformanceClient"]

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_URL = "http://127.0.0.1:8000"


def _validation_message(detail: Any) -> str:
    """FastAPI's 422 body (a list of pydantic errors) as one line."""
    if not isinstance(detail, list):
        return str(detail)
    parts = []
    for item in detail:
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
    return "; ".join(parts)


def _error(status: int, body: Any, url: str) -> Exception:
    body = body if isinstance(body, dict) else {}
    message = body.get("error") or _validation_message(body.get("detail"))
    kind = str(body.get("kind", ""))
    if status == 404 and kind.startswith("unknown_"):
        return UnknownNameError(kind.removeprefix("unknown_"), body.get("name", ""), message)
    if status == 503 and kind == "nothing_published":
        return NothingPublishedError(message)
    if status == 422 and kind == "date_range_outside_data":
        return DateRangeError(message)
    if status in (400, 422):
        return QueryError(f"the service refused the query: {message}")
    return ServiceError(f"the performance service at {url} answered {status}: {message}")


class PerformanceClient:
    """Calls the performance service over HTTP.

    Args:
        base_url: The service's address, e.g. ``http://127.0.0.1:8000``.
        timeout_s: How long to wait for an answer before `ServiceSlowError`.
    """

    def __init__(self, base_url: str = DEFAULT_SERVICE_URL, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def request(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """``GET path`` (no body) or ``POST path`` with a JSON body; the answer's JSON.

        Raises:
            ServiceUnreachableError: Nothing answers at the address.
            ServiceSlowError: No answer within the timeout.
            UnknownNameError: A title, country or region the data does not have (404).
            DateRangeError: The date range lies outside the data (422).
            NothingPublishedError: The cache holds no generation yet (503).
            QueryError: Any other refused query.
            ServiceError: Any other failure of the service.
        """
        url = f"{self.base_url}{path}"
        try:
            if body is None:
                response = httpx.get(url, timeout=self.timeout_s)
            else:
                response = httpx.post(url, json=body, timeout=self.timeout_s)
        except httpx.TimeoutException:
            raise ServiceSlowError(
                f"the performance service at {self.base_url} did not answer within "
                f"{self.timeout_s:g} s; it may be overloaded or still starting: try again"
            ) from None
        except httpx.TransportError as error:
            raise ServiceUnreachableError(
                f"the performance service at {self.base_url} is not reachable "
                f"({type(error).__name__}); start it with `uv run mlp app perf_viz`"
            ) from None
        try:
            payload = response.json()
        except ValueError:
            payload = {"error": response.text[:200]}
        if response.status_code >= 400:
            raise _error(response.status_code, payload, self.base_url)
        return payload

    def meta(self) -> dict[str, Any]:
        """The current generation's meta (dates, countries, regions, genres, titles)."""
        return self.request("/meta")
