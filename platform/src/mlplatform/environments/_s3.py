"""The production registry: names and locks as objects under ``<s3_root>/environments/``.

- ``locks/<hash>.json``: a lock (written once; its key is its content's hash);
- ``names/<team>/<project>/<name>/<tag>.json``: ``{"lock": <hash>, "registered": <epoch>}``.

An immutable tag is written with S3's conditional put (``If-None-Match: *``), so two
registrations racing for one tag cannot both win; ``latest`` is overwritten.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlplatform._checks import CheckResult
from mlplatform._time import utc_from_epoch
from mlplatform.environments._backend import EnvironmentRegistry, RegisteredEnvironment
from mlplatform.environments._errors import EnvironmentsError
from mlplatform.environments._spec import Lock

if TYPE_CHECKING:
    from mlplatform.config import Settings
    from mlplatform.environments._names import EnvironmentName

__all__ = ["S3Registry"]


def _split(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


class S3Registry(EnvironmentRegistry):
    """Registry in an S3 bucket (or an S3-compatible store).

    Args:
        root: ``s3://bucket/prefix`` under which ``locks/`` and ``names/`` live.
        endpoint_url: An S3-compatible endpoint, or None for AWS.
        region: The bucket's region.
    """

    name = "s3"

    def __init__(self, root: str, *, endpoint_url: str | None = None, region: str = "us-east-1"):
        import boto3
        from botocore.config import Config

        self.root = root.rstrip("/")
        self.bucket, self.prefix = _split(self.root)
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3}),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Registry:
        storage = settings.storage
        return cls(
            f"{storage.s3_root}/environments",
            endpoint_url=storage.s3_endpoint_url,
            region=storage.s3_region,
        )

    @classmethod
    def check(cls, settings: Settings) -> CheckResult:
        registry = cls.from_settings(settings)
        try:
            registry.client.head_bucket(Bucket=registry.bucket)
        except Exception as error:  # botocore raises many kinds; any means "not usable"
            return CheckResult("environments", cls.name, "unreachable", f"{registry.root}: {error}")
        return CheckResult("environments", cls.name, "ok", registry.root)

    def describe(self) -> str:
        return f"s3 {self.root}"

    def _key(self, *parts: str) -> str:
        return "/".join(part for part in (self.prefix, *parts) if part)

    def _get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._failed("read", key, error) from None

    def _put(self, key: str, body: bytes, **conditions: Any) -> bool:
        """Write an object; False when a condition (``IfNoneMatch``) did not hold."""
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **conditions)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                return False
            raise self._failed("write", key, error) from None
        return True

    def _failed(self, verb: str, key: str, error: Exception) -> EnvironmentsError:
        return EnvironmentsError(
            f"cannot {verb} s3://{self.bucket}/{key} of the environments registry: {error}. "
            "Check storage.s3_root, the endpoint and the credentials."
        )

    def put_lock(self, lock: Lock) -> None:
        key = self._key("locks", f"{lock.hash}.json")
        # The key is the content's hash: an existing object already holds this lock.
        self._put(key, lock.to_json().encode(), IfNoneMatch="*")

    def get_lock(self, lock_hash: str) -> Lock | None:
        body = self._get(self._key("locks", f"{lock_hash}.json"))
        return None if body is None else Lock.from_json(body.decode())

    def set_tag(self, name: EnvironmentName, lock_hash: str, now: float) -> str | None:
        key = self._key("names", name.path, f"{name.tag}.json")
        body = json.dumps({"lock": lock_hash, "registered": now}).encode()
        if name.mutable:
            self._put(key, body)
            return None
        if self._put(key, body, IfNoneMatch="*"):
            return None
        existing = self._get(key)
        return json.loads(existing)["lock"] if existing else None

    def get_tag(self, name: EnvironmentName) -> RegisteredEnvironment | None:
        body = self._get(self._key("names", name.path, f"{name.tag}.json"))
        if body is None:
            return None
        record = json.loads(body)
        return RegisteredEnvironment(
            name.path, name.tag, record["lock"], utc_from_epoch(record["registered"])
        )

    def entries(self) -> list[RegisteredEnvironment]:
        prefix = self._key("names") + "/"
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                relative = item["Key"].removeprefix(prefix).removesuffix(".json")
                path, _, tag = relative.rpartition("/")
                record = json.loads(self._get(item["Key"]) or b"{}")
                if record:
                    found.append(
                        RegisteredEnvironment(
                            path, tag, record["lock"], utc_from_epoch(record["registered"])
                        )
                    )
        return sorted(found, key=lambda entry: (entry.name, entry.tag))
