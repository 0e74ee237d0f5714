"""COURSE_CLAIMS_RUN points a lesson's claim tests at another executed run: a run that contradicts a claim fails."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from course_utils.results import RESULT_MIME
from notebook_runner import REPO, notebook_path

NAME = "02_gradient_descent"


def claims(run: Path | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_CLAIMS_RUN": str(run) if run else ""}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_claims_02.py"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def run_with(tmp_path: Path, name: str, **changes: float) -> Path:
    """A copy of lesson 02's committed run with some recorded results changed, saved as `name`."""
    nb = json.loads(notebook_path(NAME).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(RESULT_MIME)
            if payload is not None and payload["name"] in changes:
                payload["value"] = changes[payload["name"]]
    path = tmp_path / name
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_a_run_that_agrees_passes_and_one_that_contradicts_a_claim_fails(tmp_path):
    assert claims(run_with(tmp_path, f"{NAME}.ipynb")).returncode == 0
    # plain SGD ending as low as momentum contradicts "momentum and Adam beat plain SGD by orders of magnitude"
    contradicting = run_with(tmp_path, "02_seed7.ipynb", final_loss_sgd=1e-9)
    result = claims(contradicting)
    assert result.returncode == 1 and "test_momentum_and_adam_beat_plain_sgd" in result.stdout


def test_a_run_of_another_lesson_leaves_this_lesson_as_committed(tmp_path):
    other = run_with(tmp_path, "04_overfitting_curves.ipynb", final_loss_sgd=1e-9)
    assert claims(other).returncode == 0


def test_a_missing_run_fails_with_its_path(tmp_path):
    result = claims(tmp_path / "02_nothing.ipynb")
    assert result.returncode == 1 and "02_nothing.ipynb: no such executed notebook" in result.stdout
