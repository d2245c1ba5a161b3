"""Alert rules: fire to a webhook and the log, once per episode.

A rule (`AlertRule`) fires when its metric has stayed above its threshold for ``for_s``
seconds, and fires again only after the metric came back under it (a new episode). Each
firing and each recovery is one warning/info log line; a firing is also one JSON POST to
``hosting.alert_webhook_url`` (``{"alert", "metric", "value", "above", "service", ...}``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from mlplatform.hosting._settings import AlertRule

__all__ = ["AlertEvaluator"]

logger = logging.getLogger(__name__)


@dataclass
class _State:
    since: float | None = None
    firing: bool = False


class AlertEvaluator:
    """Evaluates the rules against metric readers and posts firings.

    Args:
        service: The service's name (in every alert).
        rules: The rules (``hosting.alerts``).
        webhook_url: Where firings are posted, or None for the log only.
        readers: Metric name -> a function returning its current value.
        on_fire: Called with the rule's name when it fires (e.g. to count it).
    """

    def __init__(
        self,
        service: str,
        rules: tuple[AlertRule, ...],
        webhook_url: str | None,
        readers: dict[str, Callable[[], float]],
        on_fire: Callable[[str], None] = lambda rule: None,
    ) -> None:
        self.service = service
        self.rules = rules
        self.webhook_url = webhook_url
        self.readers = readers
        self.on_fire = on_fire
        self._states = {rule.name: _State() for rule in rules}
        self.fired: list[dict[str, object]] = []

    async def evaluate(self, client: httpx.AsyncClient, now: float | None = None) -> None:
        """Check every rule once; post what fires."""
        now = time.monotonic() if now is None else now
        for rule in self.rules:
            state = self._states[rule.name]
            value = self.readers[rule.metric]()
            if value <= rule.above:
                if state.firing:
                    logger.info("alert %s resolved: %s = %.4g", rule.name, rule.metric, value)
                state.since, state.firing = None, False
                continue
            state.since = now if state.since is None else state.since
            if state.firing or now - state.since < rule.for_s:
                continue
            state.firing = True
            alert = {
                "alert": rule.name,
                "service": self.service,
                "metric": rule.metric,
                "value": value,
                "above": rule.above,
                "for_s": rule.for_s,
                "at": time.time(),
            }
            self.fired.append(alert)
            self.on_fire(rule.name)
            logger.warning(
                "alert %s firing: %s = %.4g above %.4g for %gs",
                rule.name,
                rule.metric,
                value,
                rule.above,
                rule.for_s,
            )
            if self.webhook_url:
                try:
                    await client.post(self.webhook_url, json=alert, timeout=5.0)
                except httpx.HTTPError as error:
                    logger.error(
                        "alert %s: the webhook %s failed: %s", rule.name, self.webhook_url, error
                    )
