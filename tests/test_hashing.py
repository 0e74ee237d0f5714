"""course_utils.hashing: one digest helper, equal to hashlib's for one file and to the concatenation for several."""
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils import hashing
from course_utils.hashing import file_digest

REPO = Path(__file__).resolve().parents[1]


def test_digest_of_one_file_matches_hashlib_across_chunk_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(hashing, "CHUNK_BYTES", 7)
    payload = bytes(range(256)) * 5
    (tmp_path / "a.bin").write_bytes(payload)
    assert file_digest(tmp_path / "a.bin") == hashlib.sha256(payload).hexdigest()
    assert file_digest(tmp_path / "a.bin", algorithm="md5") == hashlib.md5(payload).hexdigest()


def test_digest_of_several_files_is_that_of_their_bytes_in_order(tmp_path):
    (tmp_path / "a").write_bytes(b"first")
    (tmp_path / "b").write_bytes(b"second")
    assert file_digest(tmp_path / "a", tmp_path / "b") == hashlib.sha256(b"firstsecond").hexdigest()
    assert file_digest(tmp_path / "b", tmp_path / "a") != file_digest(tmp_path / "a", tmp_path / "b")


def test_unknown_algorithm_is_refused(tmp_path):
    (tmp_path / "a").write_bytes(b"x")
    with pytest.raises(ValueError, match="unsupported hash type"):
        file_digest(tmp_path / "a", algorithm="sha-257")


def test_kit_hashes_its_install_files_with_system_python_only():
    """kit.py runs before .venv exists: importing its digest helper must not need the course's packages."""
    probe = ("import sys; sys.argv = ['kit']; sys.path.insert(0, 'scripts'); import kit, hashlib;"
             "print(kit.requirements_digest() == hashlib.sha256(open('requirements.txt', 'rb').read()"
             " + open('pyproject.toml', 'rb').read()).hexdigest(), 'torch' in sys.modules)")
    answer = subprocess.run([sys.executable, "-I", "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert answer.stdout.split() == ["True", "False"]
