"""Metaflow config extension: every flow in this workspace runs on the active mlp profile.

Metaflow imports this module at the end of ``metaflow.metaflow_config`` and copies its
upper-case globals over Metaflow's settings. The values come from
`mlplatform.config.metaflow_config`; an explicit ``METAFLOW_<NAME>`` in the environment
wins. Subprocesses (Runner, tasks) import Metaflow again and resolve the same settings.
"""


def _profile_values() -> dict[str, str]:
    import os

    from mlplatform.config import load_settings, metaflow_config

    return {
        name: value
        for name, value in metaflow_config(load_settings()).items()
        if f"METAFLOW_{name}" not in os.environ
    }


globals().update(_profile_values())
del _profile_values
