"""One pipeline's nightly hook in its own process: ``python -m mlplatform.nightly._worker``.

The parent (`mlplatform.nightly._run`) starts it in a new process group with ``MLP_HOME`` set
to a fresh folder, reads its stdout as progress and its records file as results. Exit code 0
when the hook returned, 1 when it raised (the error is recorded as a failed check).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from mlplatform._loader import load_object
from mlplatform.nightly._context import NightlyContext

#: ``--inject-failure``: the hook fails at once, so tests can check how a failure is handled.
INJECTED = "injected failure (mlp nightly --inject-failure)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlplatform.nightly._worker")
    parser.add_argument("pipeline")
    parser.add_argument("hook", help="module:function")
    parser.add_argument("--size", required=True)
    parser.add_argument("--records", type=Path, required=True)
    parser.add_argument("--cards", type=Path, required=True)
    parser.add_argument("--fail", action="store_true")
    args = parser.parse_args(argv)

    home = Path(os.environ["MLP_HOME"])
    context = NightlyContext(args.pipeline, args.size, home, Path.cwd(), args.records, args.cards)
    try:
        if args.fail:
            raise RuntimeError(INJECTED)
        hook = load_object(args.hook)
        hook(context)
    except BaseException as error:  # a hook's failure, whatever it is, is this run's result
        lines = traceback.format_exception(error)
        with args.records.open("a") as out:
            record = {
                "kind": "error",
                "error": f"{type(error).__name__}: {error}".strip(),
                "traceback": "".join(lines[-12:]),
            }
            out.write(json.dumps(record) + "\n")
        print(f"FAIL {type(error).__name__}: {error}", flush=True)
        return 130 if isinstance(error, KeyboardInterrupt) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
