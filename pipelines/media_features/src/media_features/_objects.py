"""Asset objects: each source of an asset version is one immutable object.

Objects live under ``<storage.s3_root>/media_features/objects`` when the profile has an S3
root (production), else under ``<state folder>/media_features/objects`` (local files), and
are read and written through pyarrow's filesystems. A path names the asset *and its
version*, so an object never changes once written; the assets table records each object's
URI and SHA-256, and every read checks it: a missing, damaged or replaced object is a
`CorruptAssetError` naming the asset, the source and the URI.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pyarrow.fs as pafs

from media_features._errors import CorruptAssetError
from media_features._sample import AudioClip

__all__ = ["ObjectRef", "ObjectStore", "decode_source", "encode_source"]


@dataclass(frozen=True)
class ObjectRef:
    """Where one stored object is and what its bytes hash to."""

    uri: str
    sha256: str


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def encode_source(name: str, value: Any) -> bytes:
    """The stored bytes of one source (compressed ``.npz`` for arrays, UTF-8 for text)."""
    if name == "frames":
        return _npz(frames=np.ascontiguousarray(value, dtype=np.uint8))
    if name == "audio":
        pcm = np.round(np.clip(value.samples, -1, 1) * 32767).astype(np.int16)
        return _npz(samples=pcm, sample_rate=np.array(value.sample_rate, dtype=np.int32))
    if name == "synopsis":
        return str(value).encode()
    if name == "artwork":
        return _npz(artwork=np.ascontiguousarray(value, dtype=np.uint8))
    raise ValueError(f"unknown source {name!r}")


def _image(array: np.ndarray, ndim: int, what: str) -> np.ndarray:
    if array.dtype != np.uint8 or array.ndim != ndim or array.shape[-1] != 3:
        raise ValueError(
            f"expected uint8 {what} of {ndim} dimensions ending in 3 colour channels, got "
            f"{array.dtype} of shape {array.shape}"
        )
    return array


def decode_source(name: str, data: bytes) -> Any:
    """Inverse of `encode_source`, checking shapes and types.

    Raises:
        ValueError: The bytes do not hold a valid source of that name.
    """
    if name == "synopsis":
        text = data.decode("utf-8")
        if not text.strip():
            raise ValueError("the synopsis is empty")
        return text
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ValueError(f"not a valid .npz archive ({error})") from None
    try:
        if name == "frames":
            frames = _image(arrays["frames"], 4, "frames")
            if frames.shape[0] < 2:
                raise ValueError(f"expected at least 2 frames, got {frames.shape[0]}")
            return frames
        if name == "audio":
            samples, rate = arrays["samples"], int(arrays["sample_rate"])
            if samples.dtype != np.int16 or samples.ndim != 1 or rate <= 0:
                raise ValueError(
                    f"expected int16 mono samples and a positive rate, got {samples.dtype} of "
                    f"shape {samples.shape} at {rate} Hz"
                )
            return AudioClip((samples.astype(np.float32) / 32767.0), rate)
        if name == "artwork":
            return _image(arrays["artwork"], 3, "an artwork image")
    except KeyError as error:
        raise ValueError(f"the archive lacks the array {error}") from None
    raise ValueError(f"unknown source {name!r}")


class ObjectStore:
    """The profile's object storage for asset objects.

    Args:
        settings: Settings (``storage.s3_root``, ``storage.s3_endpoint_url``); default
            `load_settings()`.
    """

    def __init__(self, settings: Any = None) -> None:
        if settings is None:
            from mlplatform.config import load_settings

            settings = load_settings()
        storage = settings.storage
        if storage.s3_root:
            self.root = f"{storage.s3_root}/media_features/objects"
        else:
            self.root = (settings.home / "media_features" / "objects").resolve().as_uri()
        self._storage = storage
        self._filesystems: dict[str, pafs.FileSystem] = {}

    def _filesystem(self, uri: str) -> tuple[pafs.FileSystem, str]:
        parsed = urlparse(uri)
        if parsed.scheme == "file":
            fs = self._filesystems.setdefault("file", pafs.LocalFileSystem())
            return fs, parsed.path
        if parsed.scheme == "s3":
            if "s3" not in self._filesystems:
                endpoint = self._storage.s3_endpoint_url
                options: dict[str, Any] = {"region": self._storage.s3_region}
                if endpoint:
                    target = urlparse(endpoint)
                    options |= {"endpoint_override": target.netloc, "scheme": target.scheme}
                self._filesystems["s3"] = pafs.S3FileSystem(**options)
            return self._filesystems["s3"], f"{parsed.netloc}{parsed.path}"
        raise CorruptAssetError(f"object URI {uri!r} is neither file:// nor s3://")

    def uri_for(self, *parts: str) -> str:
        """The URI of the object at ``parts`` below the root."""
        return "/".join([self.root, *parts])

    def put(self, uri: str, data: bytes) -> ObjectRef:
        """Write an object (local files appear whole: written aside, then renamed)."""
        fs, path = self._filesystem(uri)
        if isinstance(fs, pafs.LocalFileSystem):
            fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
            staged = f"{path}.{secrets.token_hex(4)}.partial"
            with fs.open_output_stream(staged) as stream:
                stream.write(data)
            fs.move(staged, path)
        else:
            with fs.open_output_stream(path) as stream:
                stream.write(data)
        return ObjectRef(uri, hashlib.sha256(data).hexdigest())

    def get(self, ref: ObjectRef, *, what: str) -> bytes:
        """The bytes of an object, checked against its hash.

        Args:
            ref: The object.
            what: What it is, for errors (``asset-0003 v1 frames``).

        Raises:
            CorruptAssetError: It is missing, unreadable, or its hash differs.
        """
        fs, path = self._filesystem(ref.uri)
        try:
            with fs.open_input_stream(path) as stream:
                data = stream.read()
        except (FileNotFoundError, OSError) as error:
            raise CorruptAssetError(
                f"{what}: cannot read {ref.uri} ({error}); the object is missing"
            ) from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != ref.sha256:
            raise CorruptAssetError(
                f"{what}: {ref.uri} is corrupt: its SHA-256 is {digest[:12]}..., the assets "
                f"table says {ref.sha256[:12]}...; register the asset again (a new version)"
            )
        return data

    def load_source(self, name: str, ref: ObjectRef, *, what: str) -> Any:
        """Read and decode one source.

        Raises:
            CorruptAssetError: The object is missing, damaged or does not decode.
        """
        data = self.get(ref, what=what)
        try:
            return decode_source(name, data)
        except (ValueError, UnicodeDecodeError) as error:
            raise CorruptAssetError(f"{what}: {ref.uri} does not decode: {error}") from None
