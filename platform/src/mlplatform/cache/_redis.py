"""The production cache backend: Redis through redis-py.

Keys of namespace ``ns`` share the hash tag ``{ns}``:

- ``mlp:{ns}:current``: the current generation id (the pointer readers resolve);
- ``mlp:{ns}:g:<gen>``: a hash of the generation's metadata;
- ``mlp:{ns}:v:<gen>:<key>``: a value; ``mlp:{ns}:i:<gen>``: a sorted set of its keys;
- ``mlp:{ns}:gens`` (all generations by creation), ``:history`` (previous published ones,
  newest first), ``:garbage`` (marked for collection), ``:ttl``, ``:seq``;
- ``mlp:{ns}:leases``: open scans, ``<gen>|<scan id>`` scored by when the lease ends (ms of
  the server's clock); a generation with a live lease is not collected;
- ``mlp:namespaces``: the set of namespaces.

Every read and write is one Lua script, so it resolves the pointer and touches the values
in one atomic step: a reader never mixes generations, and a publish is one pointer switch.
Scripts are sent by SHA and loaded on the first NOSCRIPT reply. Works with standalone
Redis (and its replicas); Redis Cluster is not supported.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import secrets
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.exceptions import InvalidResponse, NoScriptError, ResponseError
from redis.retry import Retry

from mlplatform._checks import CheckResult
from mlplatform._time import utc_from_epoch
from mlplatform.cache._backend import CacheBackend, GenerationInfo, Item, rollback_target
from mlplatform.cache._errors import CacheUnavailableError, GenerationError
from mlplatform.cache._settings import CacheSettings

if TYPE_CHECKING:
    from mlplatform.config import Settings

logger = logging.getLogger(__name__)
# What a server that is down, slow, or not Redis at all makes redis-py raise.
_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, InvalidResponse)

NAMESPACES_KEY = "mlp:namespaces"
SCAN_LEASE_S = 60.0
"""A scan's hold on its generation lasts this long after its latest page (default)."""
_COLLECT_CHUNK = 1000

_GET_ONE = """
local g = redis.call('GET', ARGV[1] .. 'current')
if not g then return false end
return redis.call('GET', ARGV[1] .. 'v:' .. g .. ':' .. ARGV[2])
"""

_GET_MANY = """
local g = redis.call('GET', ARGV[1] .. 'current')
if not g then return {} end
local p = ARGV[1] .. 'v:' .. g .. ':'
local out = {}
for i = 2, #ARGV do out[i - 1] = redis.call('GET', p .. ARGV[i]) end
return out
"""

# ARGV: base, namespace, mode ('gen' | 'current' | 'add'), generation (or the id to create
# when the namespace has no current one), now, run id, then triplets of key, ttl, value. ttl
# is '' for the namespace's default, '-' for none, else milliseconds. 'add' writes each item
# into the current generation only if its key is absent, and returns one character per item:
# '1' written, '0' not (the key was there, or an earlier item of the call had it).
_WRITE = """
local base = ARGV[1]
local g = ARGV[4]
if ARGV[3] == 'gen' then
  local status = redis.call('HGET', base .. 'g:' .. g, 'status')
  if not status or status == 'garbage' or status == 'collecting' then
    return redis.error_reply('MLP_NO_GENERATION')
  end
  if status ~= 'open' then return redis.error_reply('MLP_NOT_OPEN') end
else
  local current = redis.call('GET', base .. 'current')
  if current then
    g = current
  else
    local seq = redis.call('INCR', base .. 'seq')
    redis.call('HSET', base .. 'g:' .. g, 'status', 'published', 'created', ARGV[5],
      'published', ARGV[5], 'run_id', ARGV[6], 'seq', seq, 'key_count', 0)
    redis.call('ZADD', base .. 'gens', seq, g)
    redis.call('SADD', 'mlp:namespaces', ARGV[2])
    redis.call('SET', base .. 'current', g)
  end
end
local default_ttl = redis.call('GET', base .. 'ttl')
local vp = base .. 'v:' .. g .. ':'
local idx = base .. 'i:' .. g
local added = {}
for i = 7, #ARGV, 3 do
  if ARGV[3] == 'add' and redis.call('EXISTS', vp .. ARGV[i]) == 1 then
    added[#added + 1] = '0'
  else
    local ttl = ARGV[i + 1]
    if ttl == '' then ttl = default_ttl end
    if ttl and ttl ~= '-' then
      redis.call('SET', vp .. ARGV[i], ARGV[i + 2], 'PX', ttl)
    else
      redis.call('SET', vp .. ARGV[i], ARGV[i + 2])
    end
    redis.call('ZADD', idx, 0, ARGV[i])
    added[#added + 1] = '1'
  end
end
if ARGV[3] == 'add' then return table.concat(added) end
return g
"""

_DELETE_CURRENT = """
local g = redis.call('GET', ARGV[1] .. 'current')
if not g then return 0 end
local vp = ARGV[1] .. 'v:' .. g .. ':'
local idx = ARGV[1] .. 'i:' .. g
local n = 0
for i = 2, #ARGV do
  n = n + redis.call('DEL', vp .. ARGV[i])
  redis.call('ZREM', idx, ARGV[i])
end
return n
"""

# ARGV: base, namespace, generation, created, run id
_CREATE = """
local m = ARGV[1] .. 'g:' .. ARGV[3]
if redis.call('EXISTS', m) == 1 then return redis.error_reply('MLP_EXISTS') end
local seq = redis.call('INCR', ARGV[1] .. 'seq')
redis.call('HSET', m, 'status', 'open', 'created', ARGV[4], 'run_id', ARGV[5], 'seq', seq)
redis.call('ZADD', ARGV[1] .. 'gens', seq, ARGV[3])
redis.call('SADD', 'mlp:namespaces', ARGV[2])
return seq
"""

# ARGV: base, generation, now, keep
_PUBLISH = """
local base = ARGV[1]
local g = ARGV[2]
local m = base .. 'g:' .. g
local status = redis.call('HGET', m, 'status')
if not status or status == 'garbage' or status == 'collecting' then
  return redis.error_reply('MLP_NO_GENERATION')
end
if status ~= 'open' then return redis.error_reply('MLP_NOT_OPEN') end
local old = redis.call('GET', base .. 'current')
redis.call('SET', base .. 'current', g)
redis.call('HSET', m, 'status', 'published', 'published', ARGV[3],
  'key_count', redis.call('ZCARD', base .. 'i:' .. g))
if old then redis.call('LPUSH', base .. 'history', old) end
local keep = tonumber(ARGV[4])
local collected = {}
while redis.call('LLEN', base .. 'history') > keep do
  local x = redis.call('RPOP', base .. 'history')
  redis.call('HSET', base .. 'g:' .. x, 'status', 'garbage')
  redis.call('RPUSH', base .. 'garbage', x)
  collected[#collected + 1] = x
end
return collected
"""

# ARGV: base, target ('' for the latest previous one). Returns {current, target, dropped...}
# or, when the target is not allowed, {current, false, previous...} for the caller's message.
_ROLLBACK = """
local base = ARGV[1]
local current = redis.call('GET', base .. 'current')
if not current then return redis.error_reply('MLP_NOTHING_PUBLISHED') end
local previous = redis.call('LRANGE', base .. 'history', 0, -1)
local at = 1
if ARGV[2] ~= '' then
  at = nil
  for i, g in ipairs(previous) do if g == ARGV[2] then at = i end end
end
if not at or not previous[at] then
  local out = {current, false}
  for _, g in ipairs(previous) do out[#out + 1] = g end
  return out
end
local target = previous[at]
local dropped = {current}
for i = 1, at - 1 do dropped[#dropped + 1] = previous[i] end
for _, g in ipairs(dropped) do
  redis.call('HSET', base .. 'g:' .. g, 'status', 'garbage')
  redis.call('RPUSH', base .. 'garbage', g)
end
redis.call('LTRIM', base .. 'history', at, -1)
redis.call('SET', base .. 'current', target)
local out = {current, target}
for _, g in ipairs(dropped) do out[#out + 1] = g end
return out
"""

# ARGV: base, generation
_DISCARD = """
local m = ARGV[1] .. 'g:' .. ARGV[2]
local status = redis.call('HGET', m, 'status')
if not status or status == 'garbage' or status == 'collecting' then
  return redis.error_reply('MLP_NO_GENERATION')
end
if status ~= 'open' then return redis.error_reply('MLP_NOT_OPEN') end
redis.call('HSET', m, 'status', 'garbage')
redis.call('RPUSH', ARGV[1] .. 'garbage', ARGV[2])
return 1
"""

# A scan leases the generation it reads so that collection waits for it. ARGV: base,
# scan id, lease ms. Returns the current generation (leased), or false.
_SCAN_START = """
local g = redis.call('GET', ARGV[1] .. 'current')
if not g then return false end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', ARGV[1] .. 'leases', now + tonumber(ARGV[3]), g .. '|' .. ARGV[2])
return g
"""

# One page of a scan, renewing its lease. ARGV: base, generation, scan id, lease ms, start
# (a ZRANGEBYLEX bound), page size. Returns {key, value, key, value, ...}, or the error
# MLP_COLLECTED once collection of the generation has begun (its lease had run out).
_SCAN_PAGE = """
local base, g = ARGV[1], ARGV[2]
local status = redis.call('HGET', base .. 'g:' .. g, 'status')
if not status or status == 'collecting' then return redis.error_reply('MLP_COLLECTED') end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', base .. 'leases', now + tonumber(ARGV[4]), g .. '|' .. ARGV[3])
local keys = redis.call('ZRANGEBYLEX', base .. 'i:' .. g, ARGV[5], '+', 'LIMIT', 0,
  tonumber(ARGV[6]))
local vp = base .. 'v:' .. g .. ':'
local out = {}
for i, k in ipairs(keys) do
  out[2 * i - 1] = k
  out[2 * i] = redis.call('GET', vp .. k)
end
return out
"""

# Claim a garbage generation for collection unless a scan holds a live lease on it; expired
# leases are dropped. ARGV: base, generation. Returns 1 when claimed (status 'collecting').
_CLAIM = """
local base, g = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', base .. 'leases', '-inf', now)
for _, lease in ipairs(redis.call('ZRANGE', base .. 'leases', 0, -1)) do
  if string.sub(lease, 1, #g + 1) == g .. '|' then return 0 end
end
redis.call('HSET', base .. 'g:' .. g, 'status', 'collecting')
return 1
"""

_SCRIPTS = {
    "get_one": _GET_ONE,
    "get_many": _GET_MANY,
    "write": _WRITE,
    "delete_current": _DELETE_CURRENT,
    "create": _CREATE,
    "publish": _PUBLISH,
    "rollback": _ROLLBACK,
    "discard": _DISCARD,
    "scan_start": _SCAN_START,
    "scan_page": _SCAN_PAGE,
    "claim": _CLAIM,
}


def _base(namespace: str) -> str:
    return f"mlp:{{{namespace}}}:"


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _ttl_arg(ttl: float | None) -> str:
    if ttl is None:
        return ""
    if ttl == math.inf:
        return "-"
    return str(max(1, round(ttl * 1000)))


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class RedisBackend(CacheBackend):
    """Cache backend on a Redis server.

    Args:
        url: ``redis://host:port/db`` (or ``rediss://``, ``unix://``).
        timeout_s: Connect and read timeout of every call; a call that takes longer fails
            with `CacheUnavailableError` instead of hanging. Calls are not retried.
        scan_lease_s: How long an open scan holds its generation back from collection after
            its latest page.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = CacheSettings().timeout_s,
        scan_lease_s: float = SCAN_LEASE_S,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.scan_lease_s = scan_lease_s
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            decode_responses=False,
        )
        self._shas = {
            name: hashlib.sha1(script.encode()).hexdigest() for name, script in _SCRIPTS.items()
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisBackend:
        """The server at ``settings.cache.redis_url`` with ``settings.cache.timeout_s``."""
        if not settings.cache.redis_url:
            from mlplatform.config import ConfigError

            raise ConfigError(
                "cache.backend is 'redis' but cache.redis_url is not set; set it in mlp.toml "
                "or MLP_CACHE__REDIS_URL (e.g. redis://localhost:6379/0)"
            )
        return cls(settings.cache.redis_url, timeout_s=settings.cache.timeout_s)

    @classmethod
    def check(cls, settings: Settings) -> CheckResult:
        url = str(settings.cache.redis_url)
        backend = cls(url, timeout_s=min(settings.cache.timeout_s, 2.0))
        try:
            backend.client.ping()
        except _UNAVAILABLE as error:
            return CheckResult("cache", cls.name, "unreachable", backend._problem(error))
        finally:
            backend.close()
        return CheckResult("cache", cls.name, "ok", f"{_redact(url)} answers PING")

    def describe(self) -> str:
        return f"redis {_redact(self.url)}"

    def close(self) -> None:
        self.client.close()

    # -- calling Redis ---------------------------------------------------------------------

    def _problem(self, error: Exception) -> str:
        if isinstance(error, InvalidResponse):
            problem = "answered, but not as a Redis server does"
        else:
            problem = (
                f"is unreachable or did not answer within cache.timeout_s = {self.timeout_s} s"
            )
        return f"the redis cache at {_redact(self.url)} {problem} ({type(error).__name__}: {error})"

    def _unavailable(self, error: Exception) -> NoReturn:
        raise CacheUnavailableError(
            f"{self._problem(error)}. Check that redis-server runs there and that "
            "cache.redis_url (MLP_CACHE__REDIS_URL) points at it."
        ) from None

    def _script(self, name: str, *args: Any) -> Any:
        try:
            try:
                return self.client.evalsha(self._shas[name], 0, *args)
            except NoScriptError:
                self.client.script_load(_SCRIPTS[name])
                return self.client.evalsha(self._shas[name], 0, *args)
        except _UNAVAILABLE as error:
            self._unavailable(error)

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self.client, method)(*args)
        except _UNAVAILABLE as error:
            self._unavailable(error)

    def _pipeline(self, commands: Sequence[tuple[str, tuple]]) -> list[Any]:
        try:
            pipe = self.client.pipeline(transaction=False)
            for method, args in commands:
                getattr(pipe, method)(*args)
            return pipe.execute()
        except _UNAVAILABLE as error:
            self._unavailable(error)

    @staticmethod
    def _generation_error(error: ResponseError, namespace: str, generation: str) -> NoReturn:
        message = str(error)
        if "MLP_NOT_OPEN" in message:
            raise GenerationError(
                f"generation {generation!r} of namespace {namespace!r} is already published "
                "and can no longer be written or published; start a new one with "
                "Cache.new_generation()"
            ) from None
        if "MLP_NO_GENERATION" in message:
            raise GenerationError(
                f"generation {generation!r} does not exist in namespace {namespace!r} (never "
                "created there, discarded or collected); get one from Cache.new_generation()"
            ) from None
        if "MLP_EXISTS" in message:
            raise GenerationError(
                f"generation {generation!r} already exists in namespace {namespace!r}; "
                "use Cache.new_generation() to get a fresh id"
            ) from None
        raise error

    # -- reads -----------------------------------------------------------------------------

    def read_one(self, namespace: str, key: str) -> bytes | None:
        return self._script("get_one", _base(namespace), key)

    def read_many(self, namespace: str, keys: Sequence[str]) -> dict[str, bytes]:
        if not keys:
            return {}
        values = self._script("get_many", _base(namespace), *keys)
        return {key: value for key, value in zip(keys, values, strict=False) if value is not None}

    def scan(self, namespace: str, prefix: str, batch_size: int) -> Iterator[tuple[str, bytes]]:
        # The scan leases its generation (renewed by every page) so that publishes meanwhile
        # do not collect it under the reader: it reads one generation from start to end.
        base = _base(namespace)
        scan_id = secrets.token_hex(8)
        lease_ms = str(max(1, round(self.scan_lease_s * 1000)))
        generation = self._script("scan_start", base, scan_id, lease_ms)
        if generation is None:
            return
        generation = generation.decode()
        start = "[" + prefix
        try:
            while True:
                try:
                    reply = self._script(
                        "scan_page", base, generation, scan_id, lease_ms, start, batch_size
                    )
                except ResponseError as error:
                    if "MLP_COLLECTED" not in str(error):
                        raise
                    raise GenerationError(
                        f"the generation being scanned in namespace {namespace!r} was "
                        "collected: the scan paused for more than its lease "
                        f"({self.scan_lease_s:g} s) between two pages while other publishes "
                        "happened; scan again."
                    ) from None
                keys = [key.decode() for key in reply[0::2]]
                for key, blob in zip(keys, reply[1::2], strict=True):
                    if not key.startswith(prefix):
                        return
                    if blob is not None:  # expired or deleted
                        yield key, blob
                if len(keys) < batch_size:
                    return
                start = "(" + keys[-1]
        finally:
            with contextlib.suppress(CacheUnavailableError):
                self._call("zrem", base + "leases", f"{generation}|{scan_id}")

    # -- writes ----------------------------------------------------------------------------

    @staticmethod
    def _item_args(items: Sequence[Item]) -> list[Any]:
        args: list[Any] = []
        for key, blob, ttl in items:
            args += (key, _ttl_arg(ttl), blob)
        return args

    def write_current(self, namespace: str, items: Sequence[Item], new_generation: str) -> str:
        generation = self._script(
            "write",
            _base(namespace),
            namespace,
            "current",
            new_generation,
            repr(time.time()),
            "",
            *self._item_args(items),
        )
        return generation.decode()

    def add_current(self, namespace: str, items: Sequence[Item], new_generation: str) -> list[bool]:
        written = self._script(
            "write",
            _base(namespace),
            namespace,
            "add",
            new_generation,
            repr(time.time()),
            "",
            *self._item_args(items),
        )
        return [flag == ord("1") for flag in written]

    def delete_current(self, namespace: str, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        return int(self._script("delete_current", _base(namespace), *keys))

    def create_generation(
        self, namespace: str, generation: str, created: float, run_id: str | None
    ) -> None:
        try:
            self._script(
                "create", _base(namespace), namespace, generation, repr(created), run_id or ""
            )
        except ResponseError as error:
            self._generation_error(error, namespace, generation)

    def write_generation(self, namespace: str, generation: str, items: Sequence[Item]) -> None:
        try:
            self._script(
                "write",
                _base(namespace),
                namespace,
                "gen",
                generation,
                "",
                "",
                *self._item_args(items),
            )
        except ResponseError as error:
            self._generation_error(error, namespace, generation)

    def publish(self, namespace: str, generation: str, now: float, keep: int) -> list[str]:
        try:
            collected = self._script("publish", _base(namespace), generation, repr(now), keep)
        except ResponseError as error:
            self._generation_error(error, namespace, generation)
        return [gen.decode() for gen in collected]

    def rollback(self, namespace: str, to: str | None) -> tuple[str, str, list[str]]:
        try:
            reply = self._script("rollback", _base(namespace), to or "")
        except ResponseError as error:
            if "MLP_NOTHING_PUBLISHED" in str(error):
                raise GenerationError(
                    f"namespace {namespace!r} has no published generation to roll back from"
                ) from None
            raise
        current, target, *rest = reply
        names = [gen.decode() for gen in rest]
        if target is None:
            rollback_target(namespace, names, to)  # raises the right error
            raise AssertionError("unreachable")  # pragma: no cover
        return target.decode(), current.decode(), names

    def discard(self, namespace: str, generation: str) -> None:
        try:
            self._script("discard", _base(namespace), generation)
        except ResponseError as error:
            self._generation_error(error, namespace, generation)

    def collect(self, namespace: str) -> int:
        base = _base(namespace)
        garbage = [gen.decode() for gen in self._call("lrange", base + "garbage", 0, -1)]
        collected = 0
        for generation in garbage:
            if not self._script("claim", base, generation):
                continue  # a scan is reading it; the next publish or collect tries again
            collected += 1
            index, values = base + "i:" + generation, f"{base}v:{generation}:"
            while members := self._call("zrange", index, 0, _COLLECT_CHUNK - 1):
                self._pipeline(
                    [
                        ("unlink", tuple(values + member.decode() for member in members)),
                        ("zrem", (index, *members)),
                    ]
                )
            self._pipeline(
                [
                    ("unlink", (index, base + "g:" + generation)),
                    ("zrem", (base + "gens", generation)),
                    ("lrem", (base + "garbage", 0, generation)),
                ]
            )
        if collected:
            logger.debug("collected %d generation(s) of cache namespace %s", collected, namespace)
        return collected

    # -- metadata --------------------------------------------------------------------------

    def current(self, namespace: str) -> str | None:
        return _text(self._call("get", _base(namespace) + "current"))

    def generations(self, namespace: str) -> list[GenerationInfo]:
        base = _base(namespace)
        current, ids = self._pipeline(
            [("get", (base + "current",)), ("zrevrange", (base + "gens", 0, -1))]
        )
        ids = [gen.decode() for gen in ids]
        metas = self._pipeline([("hgetall", (base + "g:" + gen,)) for gen in ids]) if ids else []
        result = []
        for gen, meta in zip(ids, metas, strict=True):
            meta = {k.decode(): v.decode() for k, v in meta.items()}
            status = meta.get("status")
            if status in (None, "garbage", "collecting"):
                continue
            published = meta.get("published")
            result.append(
                GenerationInfo(
                    id=gen,
                    namespace=namespace,
                    status="open"
                    if status == "open"
                    else ("current" if gen == _text(current) else "previous"),
                    created=utc_from_epoch(float(meta["created"])),
                    published=utc_from_epoch(float(published)) if published else None,
                    writer_run_id=meta.get("run_id") or None,
                    # Open and current generations are still written to: count them now.
                    key_count=self.count(namespace, gen)
                    if status == "open" or gen == _text(current)
                    else int(meta.get("key_count", 0)),
                )
            )
        return result

    def count(self, namespace: str, generation: str) -> int:
        return int(self._call("zcard", _base(namespace) + "i:" + generation))

    def namespaces(self) -> list[str]:
        names = sorted(name.decode() for name in self._call("smembers", NAMESPACES_KEY))
        if not names:
            return []
        sizes = self._pipeline([("zcard", (_base(name) + "gens",)) for name in names])
        return [name for name, size in zip(names, sizes, strict=True) if size]

    def namespace_ttl(self, namespace: str) -> float | None:
        stored = self._call("get", _base(namespace) + "ttl")
        return None if stored is None else int(stored) / 1000

    def set_namespace_ttl(self, namespace: str, ttl: float | None) -> None:
        key = _base(namespace) + "ttl"
        if ttl is None or ttl == math.inf:
            self._call("delete", key)
        else:
            self._call("set", key, _ttl_arg(ttl))
