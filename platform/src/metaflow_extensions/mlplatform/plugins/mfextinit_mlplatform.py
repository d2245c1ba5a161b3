"""Metaflow plugins of the platform.

``mlp_events`` is a step decorator that Metaflow attaches to every step of every flow (see
``TOGGLE_DECOSPECS`` in the config extension). It publishes the run's finish event from the
local runtime and exposes the orchestrator's triggering event as ``current.trigger``.
"""

STEP_DECORATORS_DESC = [("mlp_events", ".mlp_events_decorator.MlpEventsDecorator")]
