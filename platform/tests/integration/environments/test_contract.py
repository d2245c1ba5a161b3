"""The registry contract: every backend (local SQLite, S3) passes the same tests."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from mlplatform.environments import Lock, parse_name
from mlplatform.environments._backend import open_registry

pytestmark = pytest.mark.integration


def make_lock(version: str) -> Lock:
    return Lock.from_requirements_txt(f"six=={version} --hash=sha256:{version}\n", "3.11")


def test_a_lock_is_stored_once_by_its_hash(registry):
    lock = make_lock("1.16.0")
    assert registry.get_lock(lock.hash) is None
    registry.put_lock(lock)
    registry.put_lock(lock)
    assert registry.get_lock(lock.hash) == lock


def test_an_immutable_tag_is_set_once_and_reports_what_it_points_at(registry):
    first, second = make_lock("1.16.0"), make_lock("1.17.0")
    for lock in (first, second):
        registry.put_lock(lock)
    name = parse_name("team/proj/six:v1")
    assert registry.set_tag(name, first.hash, 1.0) is None
    assert registry.set_tag(name, first.hash, 2.0) == first.hash  # idempotent repeat
    assert registry.set_tag(name, second.hash, 3.0) == first.hash  # refused: kept
    assert registry.get_tag(name).lock_hash == first.hash


def test_latest_moves(registry):
    first, second = make_lock("1.16.0"), make_lock("1.17.0")
    latest = parse_name("team/proj/six")
    assert registry.set_tag(latest, first.hash, 1.0) is None
    assert registry.set_tag(latest, second.hash, 2.0) is None
    entry = registry.get_tag(latest)
    assert (entry.lock_hash, entry.registered.timestamp()) == (second.hash, 2.0)


def test_entries_are_sorted_and_unknown_names_are_none(registry):
    lock = make_lock("1.16.0")
    registry.put_lock(lock)
    for name in ("team/proj/b:v1", "team/proj/a:v2", "team/proj/a:v1"):
        registry.set_tag(parse_name(name), lock.hash, 1.0)
    assert [str(entry) for entry in registry.entries()] == [
        "team/proj/a:v1",
        "team/proj/a:v2",
        "team/proj/b:v1",
    ]
    assert registry.get_tag(parse_name("team/proj/nothing:v1")) is None


CLAIMER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from mlplatform.config import load_settings
    from mlplatform.environments import Lock, parse_name
    from mlplatform.environments._backend import open_registry

    version, go = sys.argv[1], Path(sys.argv[2])
    registry = open_registry(load_settings())
    lock = Lock.from_requirements_txt(f"six=={version} --hash=sha256:{version}\\n", "3.11")
    registry.put_lock(lock)
    while not go.exists():
        time.sleep(0.001)
    existing = registry.set_tag(parse_name("team/proj/race:v1"), lock.hash, 1.0)
    print(json.dumps([lock.hash, existing]))
    """
)


@pytest.mark.timeout(120)
def test_processes_racing_for_one_tag_leave_exactly_one_winner(registry_settings, tmp_path):
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, f"1.{i}.0", str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    time.sleep(1.5)  # let every process load and store its lock, then start them at once
    go.touch()
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        outcomes.append(json.loads(out))
    winners = [lock_hash for lock_hash, existing in outcomes if existing is None]
    assert len(winners) == 1
    assert all(existing == winners[0] for _, existing in outcomes if existing is not None)
    registry = open_registry(registry_settings)
    assert registry.get_tag(parse_name("team/proj/race:v1")).lock_hash == winners[0]
