"""The cache contract: every backend passes the same tests (Feast's "universal" pattern).

Parametrised over ``sqlite`` (unit speed, runs everywhere) and ``redis`` (a real
redis-server from conftest.py, marked ``integration``) by the ``cache_settings`` fixture.
"""

from __future__ import annotations

import math
import pickle
import threading
import time

import numpy as np
import pyarrow as pa
import pytest

from mlplatform.cache import (
    Cache,
    CorruptValueError,
    GenerationError,
    InvalidKeyError,
    list_namespaces,
)
from mlplatform.cache._codec import MAGIC


class ArrowStreamOnly:
    """Data that offers only the Arrow C stream interface (as polars and pandas do)."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self._table.__arrow_c_stream__(requested_schema)


def publish_generation(cache: Cache, values: dict, run_id: str | None = None) -> str:
    generation = cache.new_generation(run_id=run_id)
    with cache.writer(generation) as writer:
        writer.put_many(values)
    cache.publish(generation)
    return generation


# -- values ---------------------------------------------------------------------------------


def test_every_value_kind_round_trips(make_cache):
    cache = make_cache()
    table = pa.table({"title": ["Dune", None, "Ran"], "views": [3, 1, 2]})
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4)
    values = {
        "dict": {"a": [1, 2.5, None, True, "é"], "b": {"c": "d"}},
        "list": [1, "two", 3.0],
        "str": "hello",
        "int": 42,
        "float": -0.5,
        "bool": False,
        "none": None,
        "bytes": b"\x00MLPC raw bytes",
        "empty bytes": b"",
        "fortran": np.asfortranarray(matrix),
        "ints": np.array([1, 2, 3], dtype=np.int64),
    }
    cache.put_many(values)
    cache.put("table", table)
    cache.put("stream", ArrowStreamOnly(pa.table({"x": [1, 2]})))

    got = cache.get_many([*values, "table", "stream"])
    for key in ("dict", "list", "str", "int", "float", "bool", "bytes", "empty bytes"):
        assert got[key] == values[key], key
        assert type(got[key]) is type(values[key]), key
    assert got["none"] is None and "none" in got
    np.testing.assert_array_equal(got["fortran"], matrix)
    assert got["fortran"].dtype == np.float32
    np.testing.assert_array_equal(got["ints"], values["ints"])
    assert got["table"].equals(table)
    assert got["stream"].equals(pa.table({"x": [1, 2]}))
    assert cache.get("table").equals(table)


def test_missing_keys_give_the_default_and_are_left_out_of_get_many(make_cache):
    cache = make_cache()
    assert cache.get("nothing") is None  # an empty namespace
    assert cache.get_many(["nothing"]) == {}
    cache.put("here", 1)
    assert cache.get("nothing", "fallback") == "fallback"
    assert cache.get_many(["here", "nothing"]) == {"here": 1}
    assert cache.get_many([]) == {}


def test_put_overwrites_and_delete_removes(make_cache):
    cache = make_cache()
    cache.put("k", {"v": 1})
    cache.put("k", {"v": 2})
    assert cache.get("k") == {"v": 2}
    assert cache.delete("k") is True
    assert cache.delete("k") is False
    assert cache.get("k") is None
    assert cache.put_many([("a", 1), ("b", 2)]) == 2
    assert cache.get_many(["a", "b"]) == {"a": 1, "b": 2}


def test_namespaces_are_isolated(make_cache, cache_settings):
    films, series = make_cache("films"), make_cache("series")
    films.put("id:1", "Dune")
    series.put("id:1", "Dark")
    assert films.get("id:1") == "Dune"
    assert series.get("id:1") == "Dark"
    assert films.keys() == ["id:1"]
    assert list_namespaces(settings=cache_settings) == ["films", "series"]


def test_scan_yields_prefixed_keys_in_order_across_pages(make_cache):
    cache = make_cache()
    keys = [f"title:{i:02d}" for i in range(10)] + ["titles", "tv:1", "a", "título"]
    cache.put_many({key: key.upper() for key in keys})
    got = list(cache.scan("title:", batch_size=3))
    assert got == [(f"title:{i:02d}", f"TITLE:{i:02d}") for i in range(10)]
    assert [key for key, _ in cache.scan("t", batch_size=4)] == sorted(
        key for key in keys if key.startswith("t")
    )
    assert cache.keys() == sorted(keys)
    assert cache.keys("zzz") == []


def test_a_paused_scan_reads_its_whole_generation_while_newer_ones_are_published(make_cache):
    cache = make_cache(keep_generations=0)  # every publish collects the one it replaced
    first = {f"k{i:03d}": "first" for i in range(250)}
    publish_generation(cache, first)
    scan = cache.scan(batch_size=40)
    read = dict([next(scan)])
    for number in range(3):
        publish_generation(cache, {f"k{i:03d}": number for i in range(250)})
    read.update(scan)
    assert read == first
    assert cache.get("k000") == 2
    cache.discard(cache.new_generation())  # collection runs again after the scan ended
    assert [info.status for info in cache.generations()] == ["current"]


def test_an_abandoned_scan_does_not_keep_its_generation(make_cache):
    cache = make_cache(keep_generations=0)
    old = publish_generation(cache, {f"k{i}": i for i in range(100)})
    scan = cache.scan(batch_size=10)
    next(scan)
    scan.close()
    publish_generation(cache, {"k0": "new"})
    assert old not in {info.id for info in cache.generations()}
    assert cache.backend.count("titles", old) == 0


def test_scan_batch_size_must_be_positive(make_cache):
    cache = make_cache()
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InvalidKeyError, match="batch_size must be an int >= 1"):
            list(cache.scan(batch_size=bad))


def test_scan_of_a_namespace_without_generation_is_empty(make_cache):
    assert list(make_cache("empty").scan()) == []


# -- TTL ------------------------------------------------------------------------------------


def test_key_ttl_expires_the_key(make_cache):
    cache = make_cache()
    cache.put("short", 1, ttl=0.2)
    cache.put("long", 2, ttl=3600)
    cache.put("forever", 3)
    assert cache.get("short") == 1
    time.sleep(0.5)
    assert cache.get("short") is None
    assert cache.get_many(["short", "long", "forever"]) == {"long": 2, "forever": 3}
    assert cache.keys() == ["forever", "long"]
    assert cache.delete("short") is False


def test_namespace_ttl_applies_to_writes_without_their_own(make_cache):
    cache = make_cache()
    assert cache.namespace_ttl is None
    cache.set_namespace_ttl(0.2)
    assert cache.namespace_ttl == pytest.approx(0.2)
    cache.put("default", 1)
    cache.put("own", 2, ttl=3600)
    cache.put("never", 3, ttl=math.inf)
    generation = cache.new_generation()
    with cache.writer(generation) as writer:
        writer.put("in-generation", 4)
    time.sleep(0.5)
    assert cache.get_many(["default", "own", "never"]) == {"own": 2, "never": 3}
    cache.publish(generation)
    assert cache.get("in-generation") is None  # the namespace TTL applied when written
    cache.set_namespace_ttl(None)
    assert cache.namespace_ttl is None
    cache.put("after", 5)
    time.sleep(0.3)
    assert cache.get("after") == 5


# -- generations ----------------------------------------------------------------------------


def test_a_generation_is_invisible_until_published_then_whole(make_cache):
    cache = make_cache()
    cache.put_many({"old:1": "a", "shared": "old"})
    before = cache.current_generation()
    generation = cache.new_generation(run_id="PerfVizFlow/17")
    assert isinstance(generation, str)
    assert pickle.loads(pickle.dumps(generation)) == generation  # a plain artifact
    with cache.writer(generation) as writer:
        writer.put_many({f"new:{i}": i for i in range(50)})
        writer.put("shared", "new")
    assert cache.get("shared") == "old"
    assert cache.get("new:1") is None
    assert cache.current_generation() == before

    info = cache.publish(generation)

    assert cache.current_generation() == generation
    assert cache.get("shared") == "new"
    assert cache.get_many([f"new:{i}" for i in range(50)]) == {f"new:{i}": i for i in range(50)}
    # A key missing from the current generation is missing: no fallback to older values.
    assert cache.get("old:1") is None
    assert info.id == generation
    assert info.status == "current"
    assert info.key_count == 51
    assert info.writer_run_id == "PerfVizFlow/17"
    assert info.created <= info.published
    statuses = {g.id: g.status for g in cache.generations()}
    assert statuses == {generation: "current", before: "previous"}


def test_generations_lists_open_ones_with_their_live_key_count(make_cache):
    cache = make_cache()
    generation = cache.new_generation()
    with cache.writer(generation) as writer:
        writer.put_many({"a": 1, "b": 2})
    (info,) = cache.generations()
    assert (info.id, info.status, info.key_count, info.published) == (generation, "open", 2, None)
    assert cache.current_generation() is None


def test_many_writers_fill_one_generation_in_parallel(make_cache):
    generation = make_cache().new_generation()

    def write_shard(shard: int) -> None:
        cache = make_cache()  # each task has its own connection, as foreach tasks do
        with cache.writer(generation, batch_size=7) as writer:
            for i in range(40):
                writer.put(f"{shard}:{i}", {"shard": shard, "i": i})

    threads = [threading.Thread(target=write_shard, args=(shard,)) for shard in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cache = make_cache()
    assert cache.publish(generation).key_count == 160
    got = cache.get_many([f"{s}:{i}" for s in range(4) for i in range(40)])
    assert got == {f"{s}:{i}": {"shard": s, "i": i} for s in range(4) for i in range(40)}


def test_a_published_generation_cannot_be_written_or_published_again(make_cache):
    cache = make_cache()
    generation = cache.new_generation()
    writer = cache.writer(generation)
    writer.put("a", 1)
    writer.flush()
    writer.put("late", 2)
    cache.publish(generation)

    with pytest.raises(GenerationError, match="already published"):
        writer.flush()
    with pytest.raises(GenerationError, match="already published"):
        cache.writer(generation)
    assert cache.publish(generation).key_count == 1  # publishing it again is a no-op
    assert cache.get_many(["a", "late"]) == {"a": 1}
    publish_generation(cache, {"b": 2})
    with pytest.raises(GenerationError, match="already published"):
        cache.publish(generation)  # superseded: only rollback returns to it
    assert cache.get_many(["a", "b"]) == {"b": 2}


def test_unknown_generations_are_refused(make_cache):
    cache = make_cache()
    other = make_cache("other").new_generation()
    for action in (cache.writer, cache.publish, cache.discard):
        with pytest.raises(GenerationError, match="does not exist in namespace 'titles'"):
            action(other)  # a generation of another namespace
    with pytest.raises(InvalidKeyError, match="new_generation"):
        cache.publish("not a generation!")
    with pytest.raises(GenerationError, match="does not exist"):
        cache.generation_info("20200101T000000-00000000")


def test_discard_deletes_an_open_generation(make_cache):
    cache = make_cache()
    cache.put("live", 1)
    generation = cache.new_generation()
    with cache.writer(generation) as writer:
        writer.put_many({f"k{i}": i for i in range(20)})
    cache.discard(generation)
    assert [g.id for g in cache.generations()] == [cache.current_generation()]
    assert cache.backend.count("titles", generation) == 0
    with pytest.raises(GenerationError, match="does not exist"):
        cache.writer(generation)
    with pytest.raises(GenerationError, match="already published"):
        cache.discard(cache.current_generation())
    assert cache.get("live") == 1


def test_rollback_restores_the_previous_generation_exactly(make_cache):
    cache = make_cache()
    first = publish_generation(cache, {"a": 1, "b": [1, 2], "only-first": b"x"})
    first_content = list(cache.scan())
    second = publish_generation(cache, {"a": 2, "c": 3})
    assert list(cache.scan()) == [("a", 2), ("c", 3)]

    info = cache.rollback()

    assert info.id == first
    assert info.status == "current"
    assert info.key_count == 3
    assert cache.current_generation() == first
    assert list(cache.scan()) == first_content
    assert cache.get("c") is None
    assert second not in {g.id for g in cache.generations()}
    assert cache.backend.count("titles", second) == 0
    with pytest.raises(GenerationError, match="no previous generation"):
        cache.rollback()


def test_rollback_to_a_named_previous_generation(make_cache):
    cache = make_cache()
    gens = [publish_generation(cache, {"v": i}) for i in range(4)]
    with pytest.raises(GenerationError, match="not a previous generation"):
        cache.rollback(to=gens[3])  # the current one
    assert cache.rollback(to=gens[1]).id == gens[1]
    assert cache.get("v") == 1
    assert [g.id for g in cache.generations()] == [gens[1], gens[0]]
    assert cache.rollback().id == gens[0]


def test_rollback_of_an_empty_namespace_is_an_error(make_cache):
    with pytest.raises(GenerationError, match="no published generation"):
        make_cache().rollback()


def test_only_keep_generations_previous_ones_are_kept(make_cache):
    cache = make_cache(keep_generations=2)
    gens = [publish_generation(cache, {f"g{i}:{k}": k for k in range(5)}) for i in range(5)]
    listed = [(g.id, g.status) for g in cache.generations()]
    assert listed == [(gens[4], "current"), (gens[3], "previous"), (gens[2], "previous")]
    for collected in gens[:2]:
        assert cache.backend.count("titles", collected) == 0
    assert cache.backend.count("titles", gens[2]) == 5


def test_keep_zero_keeps_no_previous_generation(make_cache):
    cache = make_cache(keep_generations=0)
    first = publish_generation(cache, {"a": 1})
    publish_generation(cache, {"a": 2})
    assert cache.backend.count("titles", first) == 0
    with pytest.raises(GenerationError, match="keep_generations is 0"):
        cache.rollback()


def test_put_into_an_empty_namespace_creates_its_first_generation(make_cache):
    cache = make_cache()
    cache.put("a", 1)
    (info,) = cache.generations()
    assert info.status == "current"
    assert cache.current_generation() == info.id
    cache.put("b", 2)
    assert [g.id for g in cache.generations()] == [info.id]


def test_corrupt_or_foreign_values_raise_a_clear_error(make_cache):
    cache = make_cache()
    cache.backend.write_current("titles", [("foreign", b"plain bytes", None)], "g1")
    cache.backend.write_current("titles", [("future", MAGIC + b"\x09\x01{}", None)], "g1")
    cache.backend.write_current("titles", [("broken", MAGIC + b"\x01\x01{not json", None)], "g1")
    cache.backend.write_current("titles", [("arrow", MAGIC + b"\x01\x04garbage", None)], "g1")
    with pytest.raises(CorruptValueError, match="key 'foreign' of cache namespace 'titles'"):
        cache.get("foreign")
    with pytest.raises(CorruptValueError, match="version 9"):
        cache.get("future")
    with pytest.raises(CorruptValueError, match="does not decode"):
        cache.get("broken")
    with pytest.raises(CorruptValueError, match="kind 'arrow'"):
        cache.get("arrow")
    with pytest.raises(CorruptValueError):
        cache.get_many(["foreign"])


# -- consistency under concurrent publishes -------------------------------------------------


def test_thread_readers_never_see_a_mix_during_publishes(make_cache):
    keys = [f"k{i}" for i in range(100)]
    writer_cache = make_cache(keep_generations=1)
    publish_generation(writer_cache, dict.fromkeys(keys, 0))
    pending = []
    for number in range(1, 16):
        generation = writer_cache.new_generation()
        with writer_cache.writer(generation) as writer:
            writer.put_many(dict.fromkeys(keys, number))
        pending.append(generation)

    reader_cache = make_cache()  # shared by the reader threads
    stop = threading.Event()
    problems: list[str] = []
    seen: list[set[int]] = []

    def read() -> None:
        numbers: list[int] = []
        while not stop.is_set():
            got = reader_cache.get_many(keys)
            values = set(got.values())
            if len(got) != len(keys) or len(values) != 1:
                problems.append(f"mixed or partial read: {len(got)} keys, values {values}")
                return
            numbers.append(values.pop())
        if numbers != sorted(numbers):
            problems.append(f"went back in time: {numbers}")
        seen.append(set(numbers))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    for generation in pending:
        time.sleep(0.01)
        writer_cache.publish(generation)
    time.sleep(0.05)
    stop.set()
    for reader in readers:
        reader.join()

    assert problems == []
    assert all(len(numbers) >= 2 for numbers in seen), seen  # they did read across publishes
    assert reader_cache.get("k0") == 15


def test_the_current_generations_key_count_follows_put_and_delete(make_cache):
    # Issue 12: `mlp cache generations` kept the count of publish time after Cache.put.
    cache = make_cache()
    publish_generation(cache, {"a": 1, "b": 2})
    cache.put("c", 3)
    cache.delete("a")
    (current,) = [info for info in cache.generations() if info.status == "current"]
    assert current.key_count == 2 == len(cache.keys())


def test_add_stores_only_an_absent_or_expired_key(make_cache):
    cache = make_cache()
    assert cache.add("job:1", {"status": "queued"}) is True  # creates the first generation
    assert cache.add("job:1", {"status": "other"}) is False
    assert cache.get("job:1") == {"status": "queued"}
    assert cache.add("short", 1, ttl=0.05) is True
    time.sleep(0.1)
    assert cache.add("short", 2) is True  # the first one expired
    assert cache.get("short") == 2


def test_add_many_stores_each_absent_key_once_in_order(make_cache):
    cache = make_cache()
    cache.put("taken", "old")
    cache.add("short", 0, ttl=0.05)
    time.sleep(0.1)
    added = cache.add_many([("a", 1), ("taken", "new"), ("short", 2), ("a", 3), ("b", 4)])
    assert added == [True, False, True, False, True]
    assert cache.get_many(["a", "taken", "short", "b"]) == {
        "a": 1,
        "taken": "old",
        "short": 2,
        "b": 4,
    }
    assert cache.add_many({"b": 5, "c": 6}, ttl=0.05) == [False, True]
    time.sleep(0.1)
    assert cache.get("b") == 4 and cache.get("c") is None  # the TTL applies to what it stored
    assert cache.add_many([]) == []


def test_of_threads_adding_overlapping_batches_each_key_is_won_once(make_cache):
    cache = make_cache()
    barrier = threading.Barrier(4)
    wins: list[str] = []
    lock = threading.Lock()

    def claim(index: int) -> None:
        keys = [f"k{(index + n) % 6}" for n in range(3)]
        barrier.wait()
        added = cache.add_many([(key, index) for key in keys])
        with lock:
            wins.extend(key for key, won in zip(keys, added, strict=True) if won)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == ["k0", "k1", "k2", "k3", "k4", "k5"]


def test_of_threads_adding_one_key_exactly_one_wins(make_cache):
    cache = make_cache()
    cache.put("other", 0)
    wins: list[int] = []
    barrier = threading.Barrier(8)

    def claim(index: int) -> None:
        barrier.wait()
        if cache.add("claim", index):
            wins.append(index)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    assert cache.get("claim") == wins[0]
