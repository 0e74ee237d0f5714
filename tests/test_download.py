import hashlib

import pytest

from course_utils.download import ChecksumError, DownloadError, download_file, file_digest


def test_download_verifies_checksum_and_writes_file(http_folder, tmp_path):
    folder, url = http_folder
    (folder / "data.bin").write_bytes(b"payload" * 1000)
    expected = hashlib.sha256(b"payload" * 1000).hexdigest()
    target = download_file(f"{url}/data.bin", tmp_path / "out" / "data.bin", expected)
    assert target.read_bytes() == b"payload" * 1000
    assert file_digest(target) == expected


def test_checksum_mismatch_is_refused_and_no_file_is_left(http_folder, tmp_path):
    folder, url = http_folder
    (folder / "data.bin").write_bytes(b"tampered")
    target = tmp_path / "out" / "data.bin"
    with pytest.raises(ChecksumError, match="data.bin.*expected 0{64}.*nothing was saved"):
        download_file(f"{url}/data.bin", target, "0" * 64)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_md5_checksums_are_verified(http_folder, tmp_path):
    folder, url = http_folder
    (folder / "a.gz").write_bytes(b"abc")
    download_file(f"{url}/a.gz", tmp_path / "a.gz", hashlib.md5(b"abc").hexdigest(), "md5")
    assert (tmp_path / "a.gz").read_bytes() == b"abc"
    with pytest.raises(ChecksumError, match=r"a\.gz \(downloaded for .*b\.gz\) has md5 900150983cd24fb0d6963f7d28e17f72, expected 0{32}"):
        download_file(f"{url}/a.gz", tmp_path / "b.gz", "0" * 32, "md5")
    assert not (tmp_path / "b.gz").exists()


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_published_digests_in_upper_case_are_accepted(http_folder, tmp_path, algorithm):
    folder, url = http_folder
    (folder / "data.bin").write_bytes(b"payload")
    digest = hashlib.new(algorithm, b"payload").hexdigest().upper()
    assert download_file(f"{url}/data.bin", tmp_path / "data.bin", f" {digest}\n", algorithm).read_bytes() == b"payload"


@pytest.mark.parametrize(("checksum", "algorithm"), [
    (hashlib.sha256(b"x").hexdigest(), "md5"),  # a sha256 digest passed as md5
    (hashlib.md5(b"x").hexdigest(), "sha256"),
    ("z" * 64, "sha256"),
])
def test_a_digest_that_cannot_belong_to_the_algorithm_is_refused_before_downloading(tmp_path, checksum, algorithm):
    with pytest.raises(ValueError, match=f"expected {algorithm} checksum .* is not"):
        download_file("http://127.0.0.1:9/never-contacted", tmp_path / "x", checksum, algorithm, timeout=2)
    assert list(tmp_path.iterdir()) == []


def test_missing_remote_file_gives_download_error(http_folder, tmp_path):
    _, url = http_folder
    with pytest.raises(DownloadError, match="Could not download"):
        download_file(f"{url}/absent.bin", tmp_path / "absent.bin")
    assert not (tmp_path / "absent.bin").exists()


def test_unreachable_server_gives_download_error(tmp_path):
    with pytest.raises(DownloadError):
        download_file("http://127.0.0.1:9/nothing", tmp_path / "x", timeout=2)
