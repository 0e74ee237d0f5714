"""ruff, pinned in requirements.txt and configured in pyproject.toml ([tool.ruff]), finds nothing in the kit's code;
the pre-commit hook runs the same ruff."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CHECKED = ("course_utils", "scripts", "benchmarks", "tests")


def ruff_pin() -> str:
    """The ruff version requirements.txt pins."""
    [pin] = [line.split("==", 1)[1].strip() for line in (REPO / "requirements.txt").read_text().splitlines()
             if line.startswith("ruff==")]
    return pin


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                             *CHECKED], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, ("ruff check found these; fix them (the rules and why each is on are in "
                                    f"pyproject.toml's [tool.ruff]):\n{result.stdout}{result.stderr}")


def test_the_pre_commit_hook_runs_the_pinned_ruff():
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    [hook_repo] = [r for r in config["repos"] if r["repo"] == "https://github.com/astral-sh/ruff-pre-commit"]
    assert hook_repo["rev"] == f"v{ruff_pin()}", "the pre-commit hook must run requirements.txt's ruff"
    assert [hook["id"] for hook in hook_repo["hooks"]] == ["ruff-check"]
