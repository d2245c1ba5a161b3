"""Metaflow config extension: every flow in this workspace runs on the active mlp profile.

Metaflow imports this module at the end of ``metaflow.metaflow_config`` and copies its
upper-case globals over Metaflow's settings. The values come from
`mlplatform.config.metaflow_config`; an explicit ``METAFLOW_<NAME>`` in the environment
wins. Subprocesses (Runner, tasks) import Metaflow again and resolve the same settings.

``TOGGLE_DECOSPECS`` attaches the platform's ``mlp_events`` step decorator (in
``../plugins``) to every step of every flow: it publishes each successful run's finish
event once, from the local runtime, and exposes the orchestrator's triggering event as
``current.trigger``. ``METAFLOW_DEFAULT_DECOSPECS``, if set, replaces this list.
"""

TOGGLE_DECOSPECS = ["mlp_events"]


def _profile_values() -> dict[str, object]:
    import os
    import sys

    from mlplatform.config import ConfigError, load_settings, metaflow_config

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
    return values


globals().update(_profile_values())
del _profile_values
