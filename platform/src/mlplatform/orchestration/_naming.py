"""Event names as Metaflow's Argo Workflows integration spells them, and @project branches.

Finish events are ``metaflow.<flow>.end``, or ``metaflow.<project>.<branch>.<flow>.end`` for
a flow under ``@project`` (Metaflow's ``current.project_flow_name``), as published by
``ArgoWorkflowsInternalDecorator`` and awaited by ``@trigger_on_finish`` sensors.
Namespaced events (``metaflow.namespaced_event_name``) are ``mfns.<project>.<branch>.<name>``.
A branch is ``user.<name>``, ``test.<name>``, ``prod`` or ``prod.<name>``.
"""

from __future__ import annotations

import os

from mlplatform.orchestration._errors import FlowDefinitionError

FINISH_PREFIX = "metaflow."
NAMESPACED_PREFIX = "mfns."
SCHEDULE_PREFIX = "mlp.schedule."


def finish_event_name(
    flow_name: str, project: str | None = None, branch: str | None = None, step: str = "end"
) -> str:
    """The name of the event a successful run of ``flow_name`` publishes."""
    parts = [part for part in (project, branch, flow_name) if part]
    return f"{FINISH_PREFIX}{'.'.join(parts)}.{step}"


def namespaced_name(event: str, project: str | None, branch: str | None) -> str:
    """What ``metaflow.namespaced_event_name(event)`` resolves to for a project and branch."""
    if project and branch:
        return f"{NAMESPACED_PREFIX}{project}.{branch}.{event}"
    return f"{NAMESPACED_PREFIX}{event}"


def user_branch(user: str | None = None) -> str:
    """The branch ``@project`` picks without ``--branch`` or ``--production``."""
    owner = os.environ.get("METAFLOW_OWNER") or user
    if not owner:
        from mlplatform.config import load_settings

        owner = load_settings().metaflow_user
    return f"user.{owner}"


def branch_name(
    branch: str | None = None, production: bool = False, user: str | None = None
) -> str:
    """The ``@project`` branch for ``--branch``/``--production`` options, as Metaflow names it."""
    if branch:
        return f"{'prod' if production else 'test'}.{branch}"
    return "prod" if production else user_branch(user)


def branch_options(branch: str) -> tuple[dict[str, object], dict[str, str]]:
    """Runner top-level options and environment that run a ``@project`` flow on ``branch``.

    Returns:
        ``(top_level_kwargs, env)``: e.g. ``({"production": True}, {})`` for ``prod`` and
        ``({}, {"METAFLOW_OWNER": "alice"})`` for ``user.alice`` (Metaflow names user
        branches after ``METAFLOW_OWNER`` when it is set).

    Raises:
        FlowDefinitionError: Not a branch name Metaflow produces.
    """
    kind, _, rest = branch.partition(".")
    if kind == "prod" and not rest:
        return {"production": True}, {}
    if kind == "prod":
        return {"production": True, "branch": rest}, {}
    if kind == "test" and rest:
        return {"branch": rest}, {}
    if kind == "user" and rest:
        return {}, {"METAFLOW_OWNER": rest}
    raise FlowDefinitionError(
        f"{branch!r} is not a @project branch; expected 'prod', 'prod.<name>', "
        "'test.<name>' or 'user.<name>'"
    )
