"""The service's error policy: a query the data cannot answer gets its status and one line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse

from mlplatform.cache import CacheError
from perf_viz._errors import QueryError

__all__ = ["answer"]

logger = logging.getLogger(__name__)


def answer(compute: Callable[[], Any]) -> Any:
    """Run a query; a `QueryError` becomes its JSON error response.

    Unknown names answer 404 (naming them), date ranges outside the data 422, an empty cache
    namespace 503; a cache that does not answer is 503 too (the service itself is up).
    """
    try:
        return compute()
    except QueryError as error:
        return JSONResponse(error.body(), status_code=error.status)
    except CacheError as error:
        logger.warning("cache unavailable: %s", error)
        return JSONResponse(
            {"error": f"the cache is unavailable: {error}", "kind": "cache_unavailable"},
            status_code=503,
        )
