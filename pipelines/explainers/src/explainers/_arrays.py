"""Arrays that cross environments: ``.npz`` bytes (no pickle), readable by any numpy.

Steps of one run execute in different environments (the workspace's numpy 2.x, a model's
numpy 1.26, ...). A pickled numpy array written by numpy 2 does not load in numpy 1, so
every array an artifact carries between environments travels as `.npz` bytes, and
everything else as Python builtins.
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["pack_arrays", "unpack_arrays"]


def pack_arrays(**arrays: np.ndarray) -> bytes:
    """The arrays as one uncompressed ``.npz`` document (numeric and unicode dtypes only)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(value) for name, value in arrays.items()})
    return buffer.getvalue()


def unpack_arrays(data: bytes) -> dict[str, np.ndarray]:
    """Inverse of `pack_arrays` (refuses pickled object arrays)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}
