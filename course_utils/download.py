"""Download a file over HTTP(S) with a checksum check; a bad file is never left in place."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .hashing import file_digest
from .paths import display_path

USER_AGENT = "course-kit/0.1 (+python urllib)"


class DownloadError(RuntimeError):
    """The file could not be fetched (offline, server error, timeout)."""


class ChecksumError(RuntimeError):
    """The fetched file does not match its published checksum."""


def normalise_digest(expected: str, algorithm: str) -> str:
    """Return the expected hex digest in lower case, refusing one of the wrong length for the algorithm."""
    digits = hashlib.new(algorithm).digest_size * 2
    cleaned = expected.strip().lower()
    if len(cleaned) != digits or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValueError(
            f"The expected {algorithm} checksum {expected!r} is not {digits} hex digits. "
            f"Pass the published {algorithm} digest, or the algorithm that the published digest uses."
        )
    return cleaned


def verify_checksum(
    path: Path,
    expected: str,
    algorithm: str,
    what: str | None = None,
    advice: str = "The file is corrupt or was changed; it was not used. Delete it and download again.",
) -> None:
    """Raise ChecksumError (naming `what`, default the path) unless the file's digest equals the expected one."""
    wanted = normalise_digest(expected, algorithm)
    actual = file_digest(path, algorithm=algorithm)
    if actual != wanted:
        raise ChecksumError(f"{what or display_path(path)} has {algorithm} {actual}, expected {wanted}. {advice}")


def download_file(
    url: str,
    destination: str | os.PathLike[str],
    checksum: str | None = None,
    algorithm: str = "sha256",
    timeout: float = 30.0,
) -> Path:
    """Fetch url to destination atomically, verifying the checksum before the file appears."""
    destination = Path(destination)
    if checksum is not None:
        normalise_digest(checksum, algorithm)  # a malformed digest fails before anything is fetched
    destination.parent.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    handle, tmp_name = tempfile.mkstemp(prefix=destination.name + ".", suffix=".part", dir=destination.parent)
    tmp_path = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    shutil.copyfileobj(response, out, 1 << 20)
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise DownloadError(f"Could not download {url}: {reason}") from exc
        if checksum is not None:
            verify_checksum(
                tmp_path, checksum, algorithm, what=f"{url} (downloaded for {display_path(destination)})",
                advice="The download is corrupt or the server's copy changed; nothing was saved. "
                "Try again later or from another mirror.",
            )
        os.replace(tmp_path, destination)
        return destination
    finally:
        tmp_path.unlink(missing_ok=True)
