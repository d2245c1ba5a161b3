"""Is a process still running? (Zombies are not: a killed child whose new parent has not
reaped it yet still answers ``kill(pid, 0)``.)"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["pid_alive"]


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    stat = Path(f"/proc/{pid}/stat")
    try:
        # The state follows the command name in parentheses (which may hold spaces).
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): kill() said it exists
    return state not in ("Z", "X")
