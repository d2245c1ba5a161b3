"""The ``mlp`` Metaflow environment: named environments in remote pods.

The production profile makes it Metaflow's default (``DEFAULT_ENVIRONMENT``). It is
Metaflow's own local environment for every step except those with ``@named_env``: for
those, the container command first runs the environments bootstrap (which fetches the lock
from the registry and builds the environment with uv, cached by hash) and the step runs
with that environment's interpreter. The local runtime does not use this: there the
``named_env`` decorator starts each task with the environment's interpreter itself.
"""

import shlex

from metaflow.metaflow_environment import MetaflowEnvironment

ACTIVE_PYTHON = ".mlp-env/bin/python"


class MlpEnvironment(MetaflowEnvironment):
    TYPE = "mlp"

    def __init__(self, flow):
        super().__init__(flow)
        self._flow = flow

    def _named_env(self, step_name):
        step = getattr(self._flow, step_name, None)
        for deco in getattr(step, "decorators", []):
            if deco.name == "named_env":
                return deco.attributes
        return None

    def bootstrap_commands(self, step_name, datastore_type):
        commands = super().bootstrap_commands(step_name, datastore_type)
        attributes = self._named_env(step_name)
        if attributes is None:
            return commands
        arguments = ["python", "-m", "mlplatform.environments._bootstrap", "--step", step_name]
        if attributes["name"]:
            arguments += ["--name", attributes["name"]]
        else:
            arguments += [
                "--from-artifact",
                attributes["from_artifact"],
                "--flow",
                self._flow.name,
            ]
        command = " ".join(shlex.quote(argument) for argument in arguments)
        if not attributes["name"]:
            # Filled in by the container: Argo's run id and the task's input paths (neither
            # holds spaces; Metaflow drops quotes from these commands).
            command += " --run-id argo-{{workflow.name}} --input-paths $INPUT_PATHS"
        return [*commands, command]

    def executable(self, step_name, default=None):
        if self._named_env(step_name) is not None:
            return ACTIVE_PYTHON
        return super().executable(step_name, default)
