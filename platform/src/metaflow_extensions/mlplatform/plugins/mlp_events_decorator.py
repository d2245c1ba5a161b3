"""The ``mlp_events`` step decorator (attached to every step by the platform's extension).

- In the local runtime (``flow.py run``, ``Runner``, the orchestrator) it publishes one
  finish event per successful run, named as on Argo Workflows. Argo runs have no local
  runtime, so nothing is published twice there: Metaflow's Argo decorator does it.
- In each task it turns the orchestrator's ``MLP_TRIGGER_EVENTS`` into ``current.trigger``,
  as Metaflow's Argo decorator does with the sensor's payload, unless Metaflow already set
  it (``--trigger`` for ``@trigger_on_finish``).
- In a run the local orchestrator launched (``MLP_RUN_CLAIM``), the runtime takes the
  launch claim before the first step, so that an orchestrator restarted after a crash can
  adopt the run instead of starting it again (`mlplatform.orchestration._claims`).

It fails a run only when a restarted orchestrator closed its claim (it runs the attempt
again itself); a publishing error is reported on stderr.
"""

import json
import os
import sys
import traceback

from metaflow.decorators import StepDecorator


class MlpEventsDecorator(StepDecorator):
    """Publish finish events and expose triggering events (platform plumbing)."""

    name = "mlp_events"
    defaults = {}  # noqa: RUF012 (Metaflow's decorator API reads this class attribute)

    def step_init(self, flow, graph, step_name, decorators, environment, flow_datastore, logger):
        self._step_name = step_name
        self._is_end = step_name == graph.end_step
        self._flow_name = flow.name
        self._run_id = None
        self._task_id = None

    def runtime_init(self, flow, graph, package, run_id):
        self._run_id = run_id
        claim = os.environ.get("MLP_RUN_CLAIM")
        if claim:
            from mlplatform.orchestration._claims import take

            take(claim, str(run_id))

    def runtime_task_created(
        self, task_datastore, task_id, split_index, input_paths, is_cloned, ubf_context
    ):
        if self._is_end:
            # The task_id argument is None for new tasks; the datastore knows the real one.
            self._task_id = getattr(task_datastore, "task_id", None) or task_id

    def runtime_finished(self, exception):
        if exception is not None or not self._is_end or not self._task_id or not self._run_id:
            return
        try:
            from metaflow import current

            from mlplatform.orchestration._finish import publish_finish_event

            project = {
                key: current.get(key)
                for key in (
                    "project_name",
                    "branch_name",
                    "is_user_branch",
                    "is_production",
                    "project_flow_name",
                )
                if current.get(key) is not None
            }
            publish_finish_event(
                self._flow_name, str(self._run_id), self._step_name, str(self._task_id), project
            )
        except Exception:
            print(
                f"mlp: could not publish the finish event of {self._flow_name}/{self._run_id}:\n"
                + traceback.format_exc(),
                file=sys.stderr,
            )

    def task_pre_step(
        self,
        step_name,
        task_datastore,
        metadata,
        run_id,
        task_id,
        flow,
        graph,
        retry_count,
        max_user_code_retries,
        ubf_context,
        inputs,
    ):
        if not os.environ.get("MLP_TRIGGER_EVENTS"):
            return
        from metaflow import current
        from metaflow.events import Trigger
        from metaflow.metadata_provider import MetaDatum

        from mlplatform.orchestration._trigger import metaflow_trigger_meta, triggers_from_env

        meta = metaflow_trigger_meta(triggers_from_env())
        if current.get("trigger") is None:
            current._update_env({"trigger": Trigger([dict(item) for item in meta])})
        if step_name == graph.start_step:
            # As Metaflow's Argo decorator: the client's Run.trigger reads this metadata.
            entry = MetaDatum(
                field="execution-triggers",
                value=json.dumps(meta),
                type="execution-triggers",
                tags=[f"attempt_id:{retry_count}"],
            )
            metadata.register_metadata(run_id, step_name, task_id, [entry])
