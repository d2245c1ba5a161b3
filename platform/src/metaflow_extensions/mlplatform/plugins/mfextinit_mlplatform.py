"""Metaflow plugins of the platform.

``mlp_events`` is a step decorator that Metaflow attaches to every step of every flow (see
``TOGGLE_DECOSPECS`` in the config extension). It publishes the run's finish event from the
local runtime and exposes the orchestrator's triggering event as ``current.trigger``.

``mlp_compute`` (also attached to every step) refuses resource requests above the
profile's limits before a run starts. ``named_env`` runs a step in a named environment of
the environments layer (``@named_env(name=...)`` or ``@named_env(from_artifact=...)``);
the ``mlp`` environment, the production default, rehydrates those environments in pods.
"""

STEP_DECORATORS_DESC = [
    ("mlp_events", ".mlp_events_decorator.MlpEventsDecorator"),
    ("named_env", ".named_env_decorator.NamedEnvDecorator"),
    ("mlp_compute", ".mlp_compute_decorator.MlpComputeDecorator"),
]
ENVIRONMENTS_DESC = [("mlp", ".mlp_environment.MlpEnvironment")]
