"""Environment names: ``team/project/name:tag``.

Three path segments (lower-case letters, digits, ``.``, ``_``, ``-``) and a tag. Tags are
immutable — once ``:v1`` points at a lock it always does — except ``latest``, which moves
to whatever was registered last.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from mlplatform.environments._errors import EnvironmentNameError

__all__ = ["LATEST", "EnvironmentName", "closest_names", "parse_name"]

LATEST = "latest"
_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_EXAMPLE = "e.g. 'recsys/ranking/sklearn-1.5:v1'"


@dataclass(frozen=True, order=True)
class EnvironmentName:
    """A parsed environment name.

    Attributes:
        path: ``team/project/name``.
        tag: The tag (``latest`` when none was given).
    """

    path: str
    tag: str = LATEST

    def __str__(self) -> str:
        return f"{self.path}:{self.tag}"

    @property
    def mutable(self) -> bool:
        """Only ``latest`` may be moved to another lock."""
        return self.tag == LATEST


def parse_name(name: object) -> EnvironmentName:
    """Parse ``team/project/name[:tag]``.

    Raises:
        EnvironmentNameError: The name or tag is malformed; the message says which part.
    """
    if isinstance(name, EnvironmentName):
        return name
    if not isinstance(name, str) or not name:
        raise EnvironmentNameError(
            f"an environment name is a string 'team/project/name:tag' ({_EXAMPLE}), got {name!r}"
        )
    path, separator, tag = name.partition(":")
    if separator and not tag:
        raise EnvironmentNameError(f"environment name {name!r} has an empty tag after ':'")
    tag = tag or LATEST
    segments = path.split("/")
    if len(segments) != 3:
        raise EnvironmentNameError(
            f"environment name {name!r} has {len(segments)} part(s); expected three, "
            f"team/project/name ({_EXAMPLE})"
        )
    for segment in segments:
        if not _SEGMENT.match(segment):
            raise EnvironmentNameError(
                f"environment name {name!r}: part {segment!r} is invalid; expected 1-63 "
                "lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
    if not _TAG.match(tag):
        raise EnvironmentNameError(
            f"environment name {name!r}: tag {tag!r} is invalid; expected 1-128 letters, "
            "digits, '.', '_' or '-', starting with a letter or digit"
        )
    return EnvironmentName(path, tag)


def closest_names(wanted: str, known: Iterable[str], n: int = 5) -> str:
    """A hint naming the registered names closest to ``wanted``."""
    names = sorted(set(known))
    if not names:
        return "no environment is registered yet (mlp env create NAME REQUIREMENT...)"
    close = difflib.get_close_matches(wanted, names, n=n, cutoff=0.4)
    if close:
        return f"closest registered names: {', '.join(close)}"
    return f"registered names include: {', '.join(names[:n])}"
