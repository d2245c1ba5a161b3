"""Deploy a flow to Argo Workflows with Metaflow, on the production profile.

``mlp deploy FLOW --target argo`` runs ``python FLOW argo-workflows create`` with
``MLP_PROFILE=production``; the platform's Metaflow extension then points Metaflow at the
production S3 datastore, metadata service, Kubernetes namespace and Argo Events. With
``--dry-run`` it runs ``argo-workflows create --only-json``: Metaflow compiles the
WorkflowTemplate (uploading the code package to S3) without touching the cluster.

Both need the S3 root (``storage.s3_root``) reachable and AWS credentials: they are checked
first, in seconds, so that a missing one is one clear error instead of Metaflow waiting on
the cloud's credential lookup and S3 retries.
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

from mlplatform._checks import NETWORK_TIMEOUT_S, tcp_probe
from mlplatform.config import Settings, load_settings
from mlplatform.orchestration._errors import DeployError

logger = logging.getLogger(__name__)

DEPLOY_TARGETS = ("argo",)
_TIMEOUT_S = 300
# Where boto3 asks an instance's metadata service for credentials: ask once, briefly.
_METADATA_SERVICE = {"metadata_service_timeout": 1, "metadata_service_num_attempts": 1}


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


def _credentials_problem() -> str | None:
    """Why boto3 finds no AWS credentials (environment, files, instance role), or None."""
    import botocore.exceptions
    import botocore.session

    session = botocore.session.Session()
    for name, value in _METADATA_SERVICE.items():
        session.set_config_variable(name, value)
    try:
        if session.get_credentials() is not None:
            return None
        found = "none were found"
    except botocore.exceptions.BotoCoreError as error:
        found = f"resolving them failed ({error})"
    return (
        f"no AWS credentials: {found}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
        "AWS_PROFILE, or run where an instance or pod role provides them"
    )


def check_s3_access(settings: Settings) -> None:
    """Fail fast unless the S3 endpoint accepts connections and AWS credentials resolve.

    Raises:
        DeployError: One line naming what is missing.
    """
    storage = settings.storage
    endpoint = storage.s3_endpoint_url or f"https://s3.{storage.s3_region}.amazonaws.com"
    needs, problems = [], []
    status, detail = tcp_probe(endpoint, 443)
    if status != "ok":
        needs.append(f"an S3 endpoint that answers for {storage.s3_root}")
        problems.append(
            f"S3 endpoint {endpoint} does not accept connections within {NETWORK_TIMEOUT_S:g} s "
            f"({detail}); check storage.s3_endpoint_url and the network"
        )
    credentials = _credentials_problem()
    if credentials:
        needs.append("AWS credentials")
        problems.append(credentials)
    if problems:
        raise DeployError(
            f"mlp deploy needs {' and '.join(needs)} (Metaflow uploads the flow's code package "
            f"to S3): {'; '.join(problems)}"
        )


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
        env: Extra environment for the Metaflow command (default: this process's). The S3
            and credential checks see this process's environment.

    Returns:
        What was deployed or compiled.

    Raises:
        DeployError: Unknown target, missing flow file, S3 unreachable or no AWS
            credentials, or Metaflow refused to compile/deploy (its message is included).
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
    # Fail early: a ConfigError names any missing production setting.
    check_s3_access(load_settings(run_env))
    for name, value in _METADATA_SERVICE.items():
        run_env.setdefault(f"AWS_{name.upper()}", str(value))
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
            "root and (without --dry-run) the Kubernetes API answer"
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
