"""`mlp cache ls|get|generations|rollback` on the local profile."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from mlplatform.cache import Cache
from mlplatform.cli import cli


def mlp_cache(*args: str):
    return CliRunner().invoke(cli, ["cache", *args])


def publish(cache: Cache, values: dict, run_id: str = "ScoresFlow/1") -> str:
    generation = cache.new_generation(run_id=run_id)
    with cache.writer(generation) as writer:
        writer.put_many(values)
    cache.publish(generation)
    return generation


@pytest.fixture
def titles(mlp_home) -> Cache:
    return Cache("titles")


def test_ls_without_namespaces(mlp_home):
    result = mlp_cache("ls")
    assert result.exit_code == 0
    assert "no cache namespaces yet" in result.output


def test_ls_lists_namespaces_and_keys(titles):
    generation = publish(titles, {f"title:{i}": i for i in range(5)} | {"blob": b"xyz"})
    Cache("other").put("k", 1)

    result = mlp_cache("ls")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("other\t")
    assert lines[1] == f"titles\t{generation}"

    result = mlp_cache("ls", "titles", "--prefix", "title:", "--limit", "3")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "title:0\tjson\t7 bytes",
        "title:1\tjson\t7 bytes",
        "title:2\tjson\t7 bytes",
        "... more keys; raise --limit (now 3) to see them",
    ]
    assert "blob\tbytes\t9 bytes" in mlp_cache("ls", "titles").output


def test_ls_of_an_unknown_namespace_is_an_error(mlp_home):
    result = mlp_cache("ls", "nothing")
    assert result.exit_code == 2
    assert "namespace 'nothing' has no published generation" in result.output


def test_get_prints_each_kind_of_value(titles):
    titles.put_many(
        {
            "json": {"title": "Dune", "views": 3},
            "bytes": b"\x00\x01",
            "array": np.arange(3),
            "table": pa.table({"x": [1, 2]}),
        }
    )
    result = mlp_cache("get", "titles", "json")
    assert result.exit_code == 0, result.output
    assert result.output == '{\n  "title": "Dune",\n  "views": 3\n}\n'
    assert "bytes (2): b'\\x00\\x01'" in mlp_cache("get", "titles", "bytes").output
    assert "numpy array dtype=int64 shape=(3,)" in mlp_cache("get", "titles", "array").output
    assert "Arrow table, 2 rows" in mlp_cache("get", "titles", "table").output


def test_get_of_a_missing_key_is_an_error(titles):
    titles.put("k", 1)
    result = mlp_cache("get", "titles", "missing")
    assert result.exit_code == 2
    assert "no key 'missing' in the current generation" in result.output


def test_an_invalid_namespace_is_a_clear_error(mlp_home):
    result = mlp_cache("get", "bad:name", "k")
    assert result.exit_code == 2
    assert "invalid cache namespace 'bad:name'" in result.output


def test_generations_shows_status_and_metadata(titles):
    first = publish(titles, {"a": 1}, run_id="ScoresFlow/1")
    second = publish(titles, {"a": 2, "b": 2}, run_id="ScoresFlow/2")
    open_one = titles.new_generation(run_id="ScoresFlow/3")
    result = mlp_cache("generations", "titles")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "ScoresFlow" in line]
    assert len(rows) == 3
    assert open_one in rows[0] and "open" in rows[0]
    assert second in rows[1] and "current" in rows[1] and rows[1].rstrip(" │").endswith("2")
    assert first in rows[2] and "previous" in rows[2]
    assert mlp_cache("generations", "nothing").exit_code == 2


def test_rollback_switches_back_and_reports(titles):
    first = publish(titles, {"a": 1})
    second = publish(titles, {"a": 2})
    result = mlp_cache("rollback", "titles")
    assert result.exit_code == 0, result.output
    assert f"current generation is now {first}" in result.output
    assert f"{second} is deleted" in result.output
    assert titles.get("a") == 1

    result = mlp_cache("rollback", "titles")
    assert result.exit_code == 2
    assert "no previous generation to roll back to" in result.output


def test_rollback_to_a_generation_that_is_not_kept_is_an_error(titles):
    publish(titles, {"a": 1})
    publish(titles, {"a": 2})
    result = mlp_cache("rollback", "titles", "--to", "20200101T000000-deadbeef")
    assert result.exit_code == 2
    assert "is not a previous generation kept for rollback" in result.output
    assert titles.get("a") == 2
