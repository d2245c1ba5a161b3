"""The production event backend: the Argo Events webhook, through Metaflow's `ArgoEvent`.

Deployed flows' sensors receive what is posted here. The webhook keeps no log: it cannot
tell a repeated id from a new event, so deduplication is the local log's alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlplatform._checks import CheckResult, tcp_probe
from mlplatform._time import utc_now
from mlplatform.orchestration._backend import EventBackend
from mlplatform.orchestration._errors import EventBackendError
from mlplatform.orchestration._events import Event, validate_event

if TYPE_CHECKING:
    from mlplatform.config import Settings


class ArgoEventsBackend(EventBackend):
    """Events go to the Argo Events webhook event source.

    Args:
        webhook_url: The webhook event source's URL (``settings.argo.events_webhook_url``).
    """

    name = "argo"

    def __init__(self, webhook_url: str) -> None:
        self.webhook_url = webhook_url

    @classmethod
    def from_settings(cls, settings: Settings) -> ArgoEventsBackend:
        """The webhook ``argo.events_webhook_url`` names.

        Raises:
            EventBackendError: ``argo.events_webhook_url`` is not set.
        """
        if not settings.argo.events_webhook_url:
            raise EventBackendError(
                "orchestration.backend = 'argo' needs argo.events_webhook_url (env "
                "MLP_ARGO__EVENTS_WEBHOOK_URL): the Argo Events webhook that receives events"
            )
        return cls(settings.argo.events_webhook_url)

    @classmethod
    def check(cls, settings: Settings) -> CheckResult:
        url = settings.argo.events_webhook_url
        if not url:
            return CheckResult(
                "argo events",
                "webhook",
                "missing",
                "argo.events_webhook_url is not set: flows cannot publish events",
                required=False,
            )
        return CheckResult("argo events", "webhook", *tcp_probe(url, 443))

    def describe(self) -> str:
        return f"argo events webhook {self.webhook_url}"

    def publish(
        self,
        name: str,
        payload: Mapping[str, Any] | None = None,
        *,
        event_id: str | None = None,
        source: str = "api",
    ) -> Event:
        """Post one event to Argo Events; the sensors of deployed flows receive it.

        Raises:
            EventPayloadError: Bad name or payload; nothing is posted.
            EventBackendError: The webhook refused the event or could not be reached.
        """
        from metaflow.integrations import ArgoEvent

        clean = validate_event(name, payload)
        event_id = event_id or uuid.uuid4().hex
        # ArgoEvent puts name, id and timestamp into the payload; our id wins over its uuid.
        body = {**clean, "id": event_id, "source": source}
        try:
            ArgoEvent(name=name, url=self.webhook_url).publish(
                payload=body, force=True, ignore_errors=False
            )
        except Exception as error:
            raise EventBackendError(
                f"Argo Events did not accept event {name!r} at {self.webhook_url}: {error}; "
                "check argo.events_webhook_url and that the webhook event source is running"
            ) from None
        return Event(name=name, payload=clean, id=event_id, timestamp=utc_now(), source=source)
