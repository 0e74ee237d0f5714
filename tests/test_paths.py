import os
from pathlib import Path

import pytest

from course_utils.paths import (DATA_ENV_VAR, check_environment_data_root, data_root, default_cache_dir, display_path,
                                 writable_dir)


def test_argument_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "env"))
    (tmp_path / "arg").mkdir()
    assert data_root(tmp_path / "arg") == tmp_path / "arg"


def test_environment_variable_is_used_when_no_argument(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    assert data_root() == tmp_path
    assert data_root("") == tmp_path


def test_default_is_the_user_cache(monkeypatch):
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    assert data_root() == default_cache_dir()


def test_missing_data_root_named_in_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.*does not exist"):
        data_root(tmp_path / "nowhere")


def test_missing_data_root_from_environment_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "typo"))
    with pytest.raises(FileNotFoundError, match=DATA_ENV_VAR):
        data_root()


def test_file_as_data_root_is_rejected(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        data_root(tmp_path / "file")


def test_display_path_hides_machine_specific_prefixes(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    assert display_path(tmp_path / "MNIST" / "raw") == f"${DATA_ENV_VAR}/MNIST/raw"
    assert display_path(Path.home() / "x.txt").startswith("~/") or display_path(Path.home() / "x.txt").startswith(".")


def test_writable_dir_falls_back_to_cache_when_root_is_read_only(tmp_path, monkeypatch):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o500)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    try:
        if os.access(read_only, os.W_OK):  # root can write anywhere: simulate with a file in the way
            read_only.chmod(0o700)
            (read_only / "MNIST").write_text("not a folder")
        assert writable_dir(read_only, "MNIST") == tmp_path / "cache" / "MNIST"
    finally:
        read_only.chmod(0o700)


def test_environment_data_root_check_names_the_path_and_every_fix(tmp_path, monkeypatch):
    missing = tmp_path / "does" / "not" / "exist"
    monkeypatch.setenv(DATA_ENV_VAR, str(missing))
    problem = check_environment_data_root()
    assert f"The data root {missing} (from ${DATA_ENV_VAR}) does not exist" in problem  # not "$COURSE_DATA_DIR"
    assert f"mkdir -p {missing}" in problem and f"unset {DATA_ENV_VAR}" in problem
    assert str(default_cache_dir()) in problem
    with pytest.raises(FileNotFoundError) as raised:
        data_root()
    assert str(raised.value) == problem
    missing.mkdir(parents=True)
    assert check_environment_data_root() is None
    monkeypatch.delenv(DATA_ENV_VAR)
    assert check_environment_data_root() is None
