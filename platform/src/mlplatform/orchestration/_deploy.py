"""Deploy a flow to Argo Workflows with Metaflow, on the production profile.

``mlp deploy FLOW --target argo`` runs ``python FLOW argo-workflows create`` with
``MLP_PROFILE=production``; the platform's Metaflow extension then points Metaflow at the
production S3 datastore, metadata service, Kubernetes namespace and Argo Events. With
``--dry-run`` it runs ``argo-workflows create --only-json``: Metaflow compiles the
WorkflowTemplate (uploading the code package to S3) without touching the cluster.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplatform.config import load_settings
from mlplatform.orchestration._errors import DeployError

logger = logging.getLogger(__name__)

DEPLOY_TARGETS = ("argo",)
_TIMEOUT_S = 900


@dataclass(frozen=True)
class DeployResult:
    """The outcome of `deploy`.

    Attributes:
        flow_file: The flow deployed.
        target: The scheduler (``argo``).
        dry_run: True when only the template was compiled.
        workflow_template: The compiled Argo WorkflowTemplate (dry run only).
        output: Where the template was written, if anywhere.
        log: Metaflow's messages (stderr of the compile/deploy command).
    """

    flow_file: Path
    target: str
    dry_run: bool
    workflow_template: dict[str, Any] | None
    output: Path | None
    log: str


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])


def deploy(
    flow_file: Path | str,
    *,
    target: str = "argo",
    dry_run: bool = False,
    output: Path | str | None = None,
    branch: str | None = None,
    production: bool = False,
    env: Mapping[str, str] | None = None,
) -> DeployResult:
    """Deploy (or with ``dry_run``, compile) a flow for a production scheduler.

    Args:
        flow_file: Path to the flow, e.g. ``pipelines/x/flow.py``.
        target: Only ``argo`` (Argo Workflows) is supported.
        dry_run: Compile the WorkflowTemplate JSON only; nothing reaches the cluster.
        output: Write the template JSON here (dry run).
        branch: ``@project`` branch, as Metaflow's ``--branch``.
        production: ``@project`` production branch, as Metaflow's ``--production``.
        env: Extra environment for the Metaflow command (default: this process's).

    Returns:
        What was deployed or compiled.

    Raises:
        DeployError: Unknown target, missing flow file, or Metaflow
            refused to compile/deploy (its message is included).
        ConfigError: The production profile is incomplete.
    """
    if target not in DEPLOY_TARGETS:
        raise DeployError(
            f"deploy target {target!r} is unknown; valid targets are {list(DEPLOY_TARGETS)}"
        )
    path = Path(flow_file).resolve()
    if not path.is_file():
        raise DeployError(f"flow file {flow_file} does not exist; pass the path of a flow.py")
    run_env = {**os.environ, **(env or {}), "MLP_PROFILE": "production"}
    load_settings(run_env)  # fail early: a ConfigError names any missing production setting
    top_level = []
    if production:
        top_level.append("--production")
    if branch:
        top_level += ["--branch", branch]
    command = [sys.executable, str(path), "--no-pylint", *top_level, "argo-workflows", "create"]
    if dry_run:
        command.append("--only-json")
    logger.info("running %s", " ".join(command))
    try:
        result = subprocess.run(
            command,
            cwd=path.parent,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DeployError(
            f"`{' '.join(command)}` did not finish in {_TIMEOUT_S} s; check that the S3 "
            "endpoint and (without --dry-run) the Kubernetes API answer"
        ) from None
    if result.returncode != 0:
        raise DeployError(
            f"Metaflow could not {'compile' if dry_run else 'deploy'} {path.name} for Argo "
            f"Workflows (exit {result.returncode}):\n{_tail(result.stderr + result.stdout)}"
        )
    template = None
    written = None
    if dry_run:
        start = result.stdout.find("{")
        try:
            template = json.loads(result.stdout[start:]) if start >= 0 else None
        except json.JSONDecodeError:
            template = None
        if not isinstance(template, dict):
            raise DeployError(
                f"Metaflow compiled {path.name} but printed no WorkflowTemplate JSON:\n"
                f"{_tail(result.stdout + result.stderr)}"
            )
        if output:
            written = Path(output)
            written.parent.mkdir(parents=True, exist_ok=True)
            tmp = written.with_name(written.name + ".tmp")
            tmp.write_text(json.dumps(template, indent=2, sort_keys=True))
            tmp.replace(written)
    return DeployResult(
        flow_file=path,
        target=target,
        dry_run=dry_run,
        workflow_template=template,
        output=written,
        log=result.stderr,
    )
