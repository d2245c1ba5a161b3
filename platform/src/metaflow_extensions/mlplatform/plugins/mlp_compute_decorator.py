"""The ``mlp_compute`` step decorator (attached to every step by the platform's extension).

When a flow starts — a run, a deploy, a task — it checks each step's resource requests
(``@resources``, ``@kubernetes``) against the profile's limits (``compute.max_cpu``,
``compute.max_memory_mb``, ``compute.max_gpu``), so a step asking for more than the profile
allows fails before anything runs, naming the step and the limit.
"""

from metaflow.decorators import StepDecorator
from metaflow.exception import MetaflowException


class ResourceLimitException(MetaflowException):
    headline = "Resource request above the profile's limit"


class MlpComputeDecorator(StepDecorator):
    """Check the step's resource requests against the profile (platform plumbing)."""

    name = "mlp_compute"
    defaults = {}  # noqa: RUF012 (Metaflow's decorator API reads this class attribute)

    def step_init(self, flow, graph, step_name, decorators, environment, flow_datastore, logger):
        from mlplatform.compute import ResourceLimitError, check_requests, requested_resources
        from mlplatform.config import load_settings

        try:
            check_requests(step_name, requested_resources(decorators), load_settings().compute)
        except ResourceLimitError as error:
            raise ResourceLimitException(str(error)) from None
