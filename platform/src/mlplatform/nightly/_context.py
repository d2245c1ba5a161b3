"""What a pipeline's nightly hook gets: its size, a fresh local profile, and a check recorder.

A pipeline takes part in ``mlp nightly`` through an entry point in the group
``mlplatform.nightly`` of its ``pyproject.toml``::

    [project.entry-points."mlplatform.nightly"]
    knowledge_graph = "knowledge_graph._nightly:nightly"

The hook is ``nightly(context: NightlyContext) -> None``. It runs in its own process, on a
fresh local profile (``MLP_HOME`` is ``context.home``, already set), with its working directory
``context.workdir``. It runs the pipeline's flows and services at ``context.size`` and records
what it finds with `NightlyContext.check` (pass/fail against a threshold) and
`NightlyContext.figure` (a key figure); `NightlyContext.stage` prints one progress line per
stage with its duration. An exception ends the hook and fails it, with the message as the
reason. Everything the hook starts must stop when it returns (use ``with``); ``mlp nightly``
kills the hook's whole process group at the end in any case.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mlplatform.nightly._errors import NightlyError

__all__ = ["SIZES", "Check", "NightlyContext"]

SIZES = ("small", "default", "large")

T = TypeVar("T")


@dataclass
class Check:
    """One pass/fail finding of a pipeline's nightly run.

    Attributes:
        name: What was checked (``"pairwise F1"``).
        passed: Whether it met its threshold.
        value: The measured value (a number, or text).
        expected: The threshold, as text (``">= 0.99"``).
        detail: Anything that helps a reader (the error of a failed stage).
    """

    name: str
    passed: bool
    value: Any = None
    expected: str = ""
    detail: str = ""


@dataclass
class _Record:
    kind: str  # "check" | "figure" | "stage" | "card"
    data: dict[str, Any] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    """A JSON-able value (numpy scalars become Python numbers)."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class NightlyContext:
    """The nightly run as one pipeline's hook sees it.

    Attributes:
        pipeline: The pipeline's name (its entry point's name).
        size: ``"small"``, ``"default"`` or ``"large"``: how much sample data to use.
        home: The fresh local profile's state folder (``MLP_HOME``).
        workdir: A scratch folder, the process's working directory.
        cards_dir: Where `cards` copies Metaflow cards for the report.
    """

    def __init__(
        self, pipeline: str, size: str, home: Path, workdir: Path, records: Path, cards_dir: Path
    ):
        if size not in SIZES:
            raise NightlyError(f"size {size!r} is not one of {list(SIZES)}")
        self.pipeline = pipeline
        self.size = size
        self.home = home
        self.workdir = workdir
        self.cards_dir = cards_dir
        self._records = records
        self._started = time.monotonic()

    def sized(self, *, small: T, default: T, large: T | None = None) -> T:
        """The value for this run's size (``large`` defaults to ``default``)."""
        if self.size == "small":
            return small
        if self.size == "large" and large is not None:
            return large
        return default

    def _write(self, record: _Record) -> None:
        # One JSON line per record, appended and flushed at once: a killed hook keeps what
        # it found so far.
        with self._records.open("a") as out:
            out.write(json.dumps({"kind": record.kind, **record.data}) + "\n")

    def _say(self, text: str) -> None:
        print(text, flush=True)

    def check(
        self, name: str, passed: bool, *, value: Any = None, expected: str = "", detail: str = ""
    ) -> bool:
        """Record a pass/fail check; returns ``passed``."""
        result = Check(str(name), bool(passed), _plain(value), str(expected), str(detail))
        self._write(_Record("check", asdict(result)))
        mark = "ok  " if result.passed else "FAIL"
        shown = f" = {result.value}" if result.value is not None else ""
        self._say(f"{mark} {name}{shown}" + (f" (expected {expected})" if expected else ""))
        return result.passed

    def at_least(self, name: str, value: float, threshold: float, *, unit: str = "") -> bool:
        """Check ``value >= threshold``."""
        return self.check(name, value >= threshold, value=value, expected=f">= {threshold}{unit}")

    def at_most(self, name: str, value: float, threshold: float, *, unit: str = "") -> bool:
        """Check ``value <= threshold``."""
        return self.check(name, value <= threshold, value=value, expected=f"<= {threshold}{unit}")

    def figure(self, name: str, value: Any, unit: str = "") -> None:
        """Record a key figure (no threshold), shown in the report beside the checks."""
        self._write(_Record("figure", {"name": name, "value": _plain(value), "unit": unit}))
        self._say(f"     {name} = {_plain(value)}{unit}")

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage and print a line when it ends; an exception fails the stage."""
        start = time.monotonic()
        self._say(f"...  {name}")
        try:
            yield
        except BaseException as error:
            seconds = round(time.monotonic() - start, 1)
            self._write(_Record("stage", {"name": name, "seconds": seconds, "ok": False}))
            self._say(f"FAIL {name} after {seconds} s: {type(error).__name__}: {error}")
            raise
        seconds = round(time.monotonic() - start, 1)
        self._write(_Record("stage", {"name": name, "seconds": seconds, "ok": True}))
        self._say(f"done {name} in {seconds} s")

    def cards(self, pathspec: str) -> list[Path]:
        """Copy the Metaflow cards of run ``Flow/run_id`` into the report; returns the copies.

        Cards are found in this profile's local Metaflow datastore.
        """
        flow, run_id = pathspec.split("/")[:2]
        root = self.home / "metaflow" / ".metaflow" / flow / "runs" / run_id / "steps"
        copies = []
        for card in sorted(root.glob("*/tasks/*/cards/*.html")):
            step, task = card.parts[-5], card.parts[-3]
            target = self.cards_dir / self.pipeline / f"{flow}-{run_id}-{step}-{task}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(card, target)
            self._write(
                _Record(
                    "card",
                    {
                        "run": pathspec,
                        "step": step,
                        "path": str(target.relative_to(self.cards_dir)),
                    },
                )
            )
            copies.append(target)
        if not copies:
            print(f"note: run {pathspec} has no card under {root}", file=sys.stderr, flush=True)
        return copies
