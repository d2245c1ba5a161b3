"""What the platform asks of a running Metaflow task, without importing Metaflow to ask."""

from __future__ import annotations

import sys
from dataclasses import dataclass

__all__ = ["TaskIdentity", "current_task"]


@dataclass(frozen=True)
class TaskIdentity:
    """The Metaflow task the calling code runs in."""

    flow_name: str
    run_id: str
    step_name: str
    task_id: str
    retry_count: int

    @property
    def run_pathspec(self) -> str:
        """``Flow/run_id``."""
        return f"{self.flow_name}/{self.run_id}"

    @property
    def attempt_pathspec(self) -> str:
        """``Flow/run_id/step/task_id/attempt-N``: unique to this attempt of the task."""
        return (
            f"{self.flow_name}/{self.run_id}/{self.step_name}/{self.task_id}/"
            f"attempt-{self.retry_count}"
        )


def current_task() -> TaskIdentity | None:
    """The running Metaflow task, or None outside a flow.

    Metaflow is never imported just to ask: code that is not running in a flow has not
    imported it, and pays nothing.
    """
    if "metaflow" not in sys.modules:
        return None
    from metaflow import current

    if not getattr(current, "is_running_flow", False):
        return None
    return TaskIdentity(
        flow_name=current.flow_name,
        run_id=str(current.run_id),
        step_name=current.step_name,
        task_id=str(current.task_id),
        retry_count=int(current.retry_count or 0),
    )
