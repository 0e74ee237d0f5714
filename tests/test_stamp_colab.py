"""Colab: the stamp script writes badge and setup cell idempotently; the setup cell is a no-op outside Colab;
the package installs with `pip install .` from a clean clone into a fresh virtual environment."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from course_utils.colab import REPO_URL, SETUP_MARKER, badge_markdown, setup_cell_source

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
sys.path.insert(0, str(REPO / "scripts"))
import stamp_colab  # noqa: E402


def unstamped(tmp_path: Path) -> Path:
    """A fixture lesson with neither badge nor setup cell."""
    nb = json.loads((FIXTURES / "91_fixture_mean.ipynb").read_text())
    nb["cells"][0]["source"] = "# 91 · Fixture\n\nWhat you will learn."
    del nb["cells"][1]
    path = tmp_path / "91_fixture_mean.ipynb"
    path.write_text(json.dumps(nb, indent=1))
    return path


def test_stamp_adds_badge_and_setup_cell_then_changes_nothing(tmp_path):
    path = unstamped(tmp_path)
    assert stamp_colab.main(["--notebook-dir", str(tmp_path), "--check"]) == 1
    assert stamp_colab.main(["--notebook-dir", str(tmp_path)]) == 0
    nb = json.loads(path.read_text())
    title = nb["cells"][0]["source"]
    assert title == f"# 91 · Fixture\n\n{badge_markdown('91_fixture_mean.ipynb')}\n\nWhat you will learn."
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[0]["source"] == setup_cell_source() and code[0]["outputs"] == []
    assert "parameters" in code[1]["metadata"]["tags"], "the setup cell goes before the parameters cell"
    assert len(code[0]["id"]) == 8
    stamped = path.read_bytes()
    assert stamp_colab.main(["--notebook-dir", str(tmp_path)]) == 0
    assert stamp_colab.main(["--notebook-dir", str(tmp_path), "--check"]) == 0
    assert path.read_bytes() == stamped, "stamping twice changes nothing"


def test_stamp_replaces_an_outdated_badge_and_setup_cell(tmp_path):
    path = unstamped(tmp_path)
    nb = json.loads(path.read_text())
    old_badge = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/old/repo/blob/main/notebooks/91.ipynb)"
    nb["cells"][0]["source"] = f"# 91 · Fixture\n\n{old_badge}\n\nText."
    nb["cells"].insert(1, {"cell_type": "code", "execution_count": 1, "id": "abc12345", "metadata": {},
                           "outputs": [], "source": f"{SETUP_MARKER}: old version\nimport sys"})
    path.write_text(json.dumps(nb))
    stamp_colab.main([str(path)])
    nb = json.loads(path.read_text())
    assert nb["cells"][0]["source"] == f"# 91 · Fixture\n\n{badge_markdown('91_fixture_mean.ipynb')}\n\nText."
    assert nb["cells"][1]["source"] == setup_cell_source() and nb["cells"][1]["id"] == "abc12345"
    assert sum(stamp_colab._source(c).startswith(SETUP_MARKER) for c in nb["cells"] if c["cell_type"] == "code") == 1


def test_stamp_refuses_a_notebook_without_title_cell(tmp_path, capsys):
    nb = json.loads((FIXTURES / "91_fixture_mean.ipynb").read_text())
    del nb["cells"][0]
    (tmp_path / "91_x.ipynb").write_text(json.dumps(nb))
    assert stamp_colab.main(["--notebook-dir", str(tmp_path)]) == 2
    assert "91_x.ipynb: the first cell must be the markdown title cell" in capsys.readouterr().err


def test_fixture_and_lesson_notebooks_are_stamped():
    lessons = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted(FIXTURES.glob("*.ipynb"))
    needing = [p.name for p in lessons if stamp_colab.stamp(json.loads(p.read_text()), p.name) != json.loads(p.read_text())]
    assert not needing, f"run `python scripts/stamp_colab.py` for {needing}"


NO_OP_PROBE = """
import subprocess, sys
started = []
class NoProcess(subprocess.Popen):
    def __init__(self, *args, **kwargs):
        started.append(args)
        raise RuntimeError("the setup cell started a process")
subprocess.Popen = NoProcess
before = set(sys.modules)
namespace = {}
exec(compile(SOURCE, "<setup cell>", "exec"), namespace)
print(repr((sorted(set(sys.modules) - before), started, sorted(k for k in namespace if not k.startswith("__")))))
"""


def test_setup_cell_does_nothing_outside_colab():
    probe = f"SOURCE = {setup_cell_source()!r}\n" + NO_OP_PROBE
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    new_modules, started, names = eval(result.stdout)
    assert new_modules == [] and started == [], "no import side effects and no process outside Colab"
    assert names == ["sys"]
    assert result.stderr == ""


def test_setup_cell_installs_course_utils_inside_colab_without_touching_torch():
    probe = f"""
import subprocess, sys, types
calls = []
subprocess.run = lambda cmd, **kw: calls.append(cmd)
sys.modules["google.colab"] = types.ModuleType("google.colab")
exec({setup_cell_source()!r}, {{}})
print(repr(calls))
"""
    calls = eval(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    assert len(calls) == 1
    command = calls[0]
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert f"course-kit[text,serve] @ git+{REPO_URL}@main" in command  # the Korean lessons and the REST API need both
    assert not any(part.startswith("torch") for part in command), "Colab's torch stays as it is"


@pytest.mark.timeout(900)  # a fresh venv plus pip's own 600 s limit
def test_pip_install_from_a_clean_clone_into_a_fresh_venv(tmp_path):
    clone = tmp_path / "clone"
    if (REPO / ".git").exists():
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    else:  # an unpacked archive: copy the sources without local environments and build products
        shutil.copytree(REPO, clone, ignore=shutil.ignore_patterns(".venv", "build", "outputs", "*.egg-info"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    # --no-deps: only course_utils itself is under test (its dependencies come from requirements.txt or Colab).
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--disable-pip-version-check",
                              "-q", "."], cwd=clone, capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    check = subprocess.run(
        [str(python), "-c", "import json, course_utils, course_utils.colab as c; from importlib.metadata import requires;"
         "from importlib.resources import files;"
         "template = files('course_utils.instructor') / 'templates' / 'report.html.j2';"
         "print(json.dumps([course_utils.__file__, c.REPO_URL, requires('course-kit'), template.is_file()]))"],
        cwd=tmp_path, capture_output=True, text=True, check=True)
    location, url, requirements, has_template = json.loads(check.stdout)
    assert has_template, "the batch report's Jinja2 template ships with the package (package-data)"
    assert Path(location).is_relative_to(env_dir), "imported from the fresh venv, not from the source tree"
    assert url == REPO_URL
    torch = [r for r in requirements if r.startswith("torch") and not r.startswith("torchvision")]
    assert torch and ">=" in torch[0] and "==" not in torch[0], "loose bounds keep Colab's preinstalled torch"
