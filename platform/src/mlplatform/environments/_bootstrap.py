"""Rehydrate a step's named environment in a remote pod, before the step starts.

The platform's Metaflow environment (``--environment=mlp``, the production default) puts

    python -m mlplatform.environments._bootstrap --step STEP (--name NAME |
        --from-artifact ARTIFACT --flow FLOW --run-id RUN --input-paths PATHS)

into the container command of every ``@named_env`` step. It looks the name up in the
profile's registry (S3 in production) — for ``from_artifact``, it first reads the artifact
from the task's inputs through Metaflow's client — builds the environment from its lock with
uv (cached by hash under ``environments.envs_dir``), and links ``./.mlp-env`` to it: the
step then runs with ``.mlp-env/bin/python``. Any failure is one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["ACTIVE_LINK", "main"]

ACTIVE_LINK = ".mlp-env"


def _name_from_artifact(flow: str, run_id: str, input_paths: str, artifact: str) -> str:
    from metaflow import Task, namespace
    from metaflow.util import decompress_list

    from mlplatform.environments._errors import EnvironmentsError

    namespace(None)
    names = set()
    for path in decompress_list(input_paths):
        step, task_id = path.split("/")[-2:]
        task = Task(f"{flow}/{run_id}/{step}/{task_id}", attempt=None)
        if artifact not in task:
            raise EnvironmentsError(
                f"step {step} (task {task_id}) of {flow}/{run_id} has no artifact {artifact!r}"
            )
        names.add(str(task[artifact].data))
    if len(names) != 1:
        raise EnvironmentsError(f"the inputs name different environments: {sorted(names)}")
    return names.pop()


def main(argv: list[str] | None = None) -> int:
    """Build the step's environment and link ``./.mlp-env`` to it; 0 on success, else 2."""
    parser = argparse.ArgumentParser(prog="python -m mlplatform.environments._bootstrap")
    parser.add_argument("--step", required=True)
    parser.add_argument("--name")
    parser.add_argument("--from-artifact")
    parser.add_argument("--flow")
    parser.add_argument("--run-id")
    parser.add_argument("--input-paths", default="")
    options = parser.parse_args(argv)
    try:
        from mlplatform.environments._api import environment

        name = options.name or _name_from_artifact(
            options.flow, options.run_id, options.input_paths, options.from_artifact
        )
        built = environment(name)
        link = Path.cwd() / ACTIVE_LINK
        temporary = link.with_name(f"{ACTIVE_LINK}.{os.getpid()}")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(built.path, target_is_directory=True)
        os.replace(temporary, link)
    except Exception as error:  # a bootstrap prints one line, never a traceback
        print(f"error: step {options.step}: {error}", file=sys.stderr)
        return 2
    print(
        f"step {options.step} runs in {name} ({built.lock.hash}) at {built.path}", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
