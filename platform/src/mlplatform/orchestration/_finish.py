"""Finish events: one per successful run, named and shaped as on Argo Workflows.

The platform's Metaflow extension (step decorator ``mlp_events``, attached to every step of
every flow through Metaflow's ``TOGGLE_DECOSPECS``) calls `publish_finish_event` once, from
the local runtime, when a run ends without an exception. On Argo Workflows there is no
local runtime: Metaflow's own ``argo_workflows_internal`` decorator publishes the same event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mlplatform.orchestration._events import Event, publish
from mlplatform.orchestration._naming import finish_event_name

logger = logging.getLogger(__name__)

_PROJECT_KEYS = ("project_name", "branch_name", "is_user_branch", "is_production")


def finish_payload(
    flow_name: str,
    run_id: str,
    end_step: str,
    task_id: str,
    project: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The payload Metaflow's Argo decorator sends (all values as strings, as it does)."""
    pathspec = f"{flow_name}/{run_id}/{end_step}/{task_id}"
    payload: dict[str, Any] = {
        "id": pathspec,
        "pathspec": pathspec,
        "flow_name": flow_name,
        "run_id": run_id,
        "step_name": end_step,
        "task_id": task_id,
    }
    project = project or {}
    for key in (*_PROJECT_KEYS, "project_flow_name"):
        if project.get(key):
            payload[key] = project[key]
    payload["auto-generated-by-metaflow"] = True
    return {key: str(value) for key, value in payload.items()}


def publish_finish_event(
    flow_name: str,
    run_id: str,
    end_step: str,
    task_id: str,
    project: Mapping[str, Any] | None = None,
) -> list[Event]:
    """Publish the finish event(s) of a successful run on the profile's event backend.

    The event id is the end task's pathspec (as on Argo), so publishing twice stores once.
    A custom-named end step also gets the well-known ``.end`` alias, as on Argo.

    Args:
        flow_name: The flow's name.
        run_id: The run's id.
        end_step: The name of the flow's end step.
        task_id: The end task's id.
        project: ``@project`` facts from ``current`` (project_name, branch_name, ...).
    """
    project = project or {}
    payload = finish_payload(flow_name, run_id, end_step, task_id, project)
    names = [
        finish_event_name(
            flow_name, project.get("project_name"), project.get("branch_name"), end_step
        )
    ]
    if end_step != "end":
        names.append(
            finish_event_name(flow_name, project.get("project_name"), project.get("branch_name"))
        )
    published = []
    for index, name in enumerate(names):
        event_id = payload["id"] if index == 0 else f"{payload['id']}#end"
        published.append(publish(name, payload, event_id=event_id, source="metaflow"))
        logger.info("published finish event %s (%s)", name, event_id)
    return published
