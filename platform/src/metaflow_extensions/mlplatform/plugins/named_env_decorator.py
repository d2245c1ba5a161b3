"""The ``named_env`` step decorator: run a step in a named environment built with uv.

    @named_env(name="recsys/ranking/sklearn:v1")      # fixed when the flow is written
    @step
    def train(self): ...

    @named_env(from_artifact="explainer_env")          # an environment name an earlier
    @step                                              # step of the run stored
    def train_explainer(self): ...

In the local runtime the environment is resolved when the step's task is launched: the
name (or the artifact's value, read from the task's inputs) is looked up in the profile's
registry, built if it is not built yet (once per lock: every task of a foreach reuses it),
and the task process is started with that environment's interpreter. The platform's code
and Metaflow are importable there (see `mlplatform.environments`). While the run lasts the
environment is marked in use, so ``mlp env gc`` keeps it.

A decorator and not an environment plugin (as ``@conda`` is): it composes with Metaflow's
default environment and with the profile, asks nothing of ``--environment``, and a flow
without it behaves exactly as before.
"""

import contextlib
import os

from metaflow.decorators import StepDecorator
from metaflow.exception import MetaflowException

# Decorators that run a step remotely (the `mlp` environment's bootstrap builds it there).
_REMOTE_DECORATORS = {"kubernetes", "batch"}


class NamedEnvironmentException(MetaflowException):
    headline = "Named environment"


class NamedEnvDecorator(StepDecorator):
    """Run the step in a named, uv-built environment (``name=`` or ``from_artifact=``)."""

    name = "named_env"
    defaults = {"name": None, "from_artifact": None}  # noqa: RUF012 (Metaflow's API)

    def step_init(self, flow, graph, step_name, decorators, environment, flow_datastore, logger):
        from mlplatform.environments import EnvironmentNameError, parse_name

        self._step_name = step_name
        self._flow_datastore = flow_datastore
        self._leases = contextlib.ExitStack()
        name, artifact = self.attributes["name"], self.attributes["from_artifact"]
        if bool(name) == bool(artifact):
            raise NamedEnvironmentException(
                f"step {step_name}: @named_env takes name='team/project/name:tag' or "
                f"from_artifact='<artifact of an earlier step>', exactly one of them "
                f"(got name={name!r}, from_artifact={artifact!r})"
            )
        if name:
            try:
                parse_name(name)
            except EnvironmentNameError as error:
                raise NamedEnvironmentException(f"step {step_name}: {error}") from None
        elif step_name == graph.start_step:
            raise NamedEnvironmentException(
                f"step {step_name}: @named_env(from_artifact={artifact!r}) needs an earlier "
                "step to set the artifact; the start step has none"
            )

    def _name_from_artifact(self, input_paths):
        from mlplatform.environments import EnvironmentNameError, parse_name

        artifact = self.attributes["from_artifact"]
        names = set()
        for path in input_paths:
            run_id, step, task_id = path.split("/")[-3:]
            datastore = self._flow_datastore.get_task_datastore(run_id, step, task_id)
            if artifact not in datastore:
                raise NamedEnvironmentException(
                    f"step {self._step_name}: @named_env(from_artifact={artifact!r}): step "
                    f"{step} (task {task_id}) has no artifact {artifact!r}; set "
                    f"self.{artifact} = '<team/project/name:tag>' in an earlier step"
                )
            value = datastore[artifact]
            try:
                names.add(str(parse_name(value)))
            except EnvironmentNameError as error:
                raise NamedEnvironmentException(
                    f"step {self._step_name}: artifact {artifact!r} of step {step} is "
                    f"{value!r:.200}, not an environment name: {error}"
                ) from None
        if len(names) != 1:
            raise NamedEnvironmentException(
                f"step {self._step_name}: the inputs of this join name different environments "
                f"in {artifact!r}: {sorted(names)}; they must agree"
            )
        return names.pop()

    def runtime_step_cli(self, cli_args, retry_count, max_user_code_retries, ubf_context):
        from mlplatform import MLPlatformError
        from mlplatform.environments import environment

        if any(deco.name in _REMOTE_DECORATORS for deco in cli_args.task.decos):
            return  # the step runs in a pod: the platform's environment bootstraps it there

        name = self.attributes["name"] or self._name_from_artifact(cli_args.task.input_paths)
        try:
            built = environment(name)
        except MLPlatformError as error:
            raise NamedEnvironmentException(f"step {self._step_name}: {error}") from None
        self._leases.enter_context(built.in_use(os.getpid()))  # until the run ends
        cli_args.entrypoint[0] = str(built.python)
        cli_args.env["PYTHONNOUSERSITE"] = "1"
        cli_args.env["MLP_NAMED_ENV"] = f"{name}@{built.lock.hash}"

    def runtime_finished(self, exception):
        self._leases.close()
