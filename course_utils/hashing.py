"""File digests (SHA-256, MD5, ...) read in chunks, the one helper every checksum in the kit goes through."""
from __future__ import annotations

import hashlib
import os

CHUNK_BYTES = 1 << 20


def file_digest(*paths: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Return the hex digest of the files' bytes, read in order as one stream (one file: its usual checksum)."""
    digest = hashlib.new(algorithm)
    for path in paths:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                digest.update(chunk)
    return digest.hexdigest()
