"""Metaflow config extension: every flow in this workspace runs on the active mlp profile.

Metaflow imports this module at the end of ``metaflow.metaflow_config`` and copies its
upper-case globals over Metaflow's settings. The values come from
`mlplatform.config.metaflow_config`; an explicit ``METAFLOW_<NAME>`` in the environment
wins. Subprocesses (Runner, tasks) import Metaflow again and resolve the same settings.

``TOGGLE_DECOSPECS`` attaches the step decorators the profile's sections ask for to every
step of every flow (`mlplatform.config.metaflow_decospecs`): ``mlp_events`` (in
``../plugins``) publishes each successful run's finish event once and exposes the
orchestrator's triggering event as ``current.trigger``; ``mlp_compute`` refuses resource
requests above the profile's limits; ``kubernetes`` runs every step on Kubernetes when
``compute.backend`` says so. ``METAFLOW_DEFAULT_DECOSPECS``, if set, replaces this list.

The local runtime runs at most ``compute.max_workers`` tasks at once: the default of
``run``'s and ``resume``'s ``--max-workers`` (``METAFLOW_RUN_MAX_WORKERS``) is set here.
"""


def _profile_values() -> dict[str, object]:
    import os
    import sys

    from mlplatform.config import ConfigError, load_settings, metaflow_config, metaflow_decospecs

    try:
        settings = load_settings()
    except ConfigError as error:
        # Unusable settings: say why in one line, as `mlp` does, instead of a traceback
        # through Metaflow's import machinery; running on Metaflow's own defaults instead
        # would write to the user's home.
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    values = {
        name: value
        for name, value in metaflow_config(settings).items()
        if f"METAFLOW_{name}" not in os.environ
    }
    # Metaflow derives its S3 client's endpoint from S3_ENDPOINT_URL while its config module
    # loads, before this extension runs, so the profile's endpoint must be passed on here too.
    endpoint = values.get("S3_ENDPOINT_URL")
    if endpoint and "METAFLOW_DATATOOLS_CLIENT_PARAMS" not in os.environ:
        values["DATATOOLS_CLIENT_PARAMS"] = {"endpoint_url": endpoint}
    values["TOGGLE_DECOSPECS"] = metaflow_decospecs(settings)
    # click reads METAFLOW_RUN_MAX_WORKERS as the default of `run --max-workers`. Set it from
    # the profile unless the user set it; a value we set earlier (inherited by this process,
    # told apart by the marker, which is not an MLP_ setting) follows the profile as it is now.
    workers = str(settings.compute.workers)
    for command in ("RUN", "RESUME"):
        name = f"METAFLOW_{command}_MAX_WORKERS"
        marker = f"MLPLATFORM_SET_{name}"
        if os.environ.get(name) in (None, os.environ.get(marker)):
            os.environ[name] = os.environ[marker] = workers
    return values


globals().update(_profile_values())
del _profile_values
