"""`mlp cache ls|get|generations|rollback` on the local profile."""

from __future__ import annotations

import json

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

    result = mlp_cache("ls", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "namespace,current generation,keys"
    assert lines[1].startswith("other,") and lines[1].endswith(",1")
    assert lines[2] == f"titles,{generation},6"

    result = mlp_cache("ls", "titles", "--prefix", "title:", "--limit", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"key": f"title:{i}", "kind": "json", "bytes": 7} for i in range(3)
    ]
    assert "... more keys; raise --limit (now 3) to see them" in result.stderr
    table = mlp_cache("ls", "titles").output
    assert "blob" in table and "bytes" in table and "9" in table


def test_listings_are_never_cut_or_wrapped_when_piped(titles):
    # Issue 12: ids were cut and rows wrapped at 80 columns when the output was piped.
    long_key = "title:" + "x" * 150
    titles.put(long_key, 1)
    lines = mlp_cache("ls", "titles").output.splitlines()
    assert any(long_key in line for line in lines)
    generation = titles.current_generation()
    assert any(
        generation in line for line in mlp_cache("generations", "titles").output.splitlines()
    )


def test_counts_below_zero_are_refused(titles):
    result = mlp_cache("ls", "titles", "--limit", "-1")
    assert result.exit_code == 2
    assert "-1 is not in the range x>=0" in result.output


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
    result = mlp_cache("generations", "titles", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(row["generation"], row["status"], row["writer run"], row["keys"]) for row in rows] == [
        (open_one, "open", "ScoresFlow/3", 0),
        (second, "current", "ScoresFlow/2", 2),
        (first, "previous", "ScoresFlow/1", 1),
    ]
    assert rows[0]["published"] is None and rows[1]["published"].endswith("+00:00")
    table = mlp_cache("generations", "titles").output
    assert all(generation in table for generation in (first, second, open_one))
    assert mlp_cache("generations", "nothing").exit_code == 2


def test_generations_and_ls_agree_on_the_key_count_after_put(titles):
    publish(titles, {"a": 1})
    titles.put("b", 2)
    listed = mlp_cache("ls", "--format", "json").output
    (namespace,) = json.loads(listed)
    (current,) = [
        row
        for row in json.loads(mlp_cache("generations", "titles", "--format", "json").output)
        if row["status"] == "current"
    ]
    assert namespace["keys"] == current["keys"] == 2


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
