"""Colab, reproduced: every lesson's quick profile in a fresh virtual environment whose packages are the newest ones
pip resolves from the kit's own loose bounds (not requirements.txt), the kit installed by the lessons' setup cell.

This is the kit's only check that it works outside its pinned environment (issue 17 §4). What it does, as Colab does:

- clones this repository's HEAD (a clean clone: uncommitted edits are not what Colab would get; an unpacked archive
  without .git is copied and committed into a throwaway repository) and creates a fresh venv;
- installs into the venv only what a Colab runtime has besides our kit and what its pip needs: a current pip (the
  one Python 3.11's ensurepip bundles, 23.2, rejects `name @ git+file:///...` requirements) and ipykernel, the
  kernel that runs a Colab notebook's cells. The notebooks are driven from this test's environment with papermill
  and nbclient, talking to that kernel over ZeroMQ: like Colab's frontend, the driver is not in the runtime, so
  neither papermill nor nbclient is installed in the venv;
- stubs `google.colab` in every interpreter of the venv (a `.pth` file, so the kernel and the setup cell's pip
  subprocess both see it, exactly what `"google.colab" in sys.modules` tests);
- runs the setup cell once with the venv's python, the git URL replaced by the local clone's
  `git+file://<clone>@<commit>` (the only change): this clones and builds the kit (pip's log must show it; the
  kit's wheels are first removed from pip's cache so a rerun of the same commit builds it too) and resolves and
  installs every dependency unpinned, torch and torchvision included (Colab keeps its preinstalled torch; here pip
  picks the newest it may);
- then runs every lesson in course order in the venv's kernel with its quick profile, from the clone's notebooks/,
  setup cell included and executed for real (pip's log, PIP_LOG, must show its install from the clone), with a
  per-cell timeout. Pinned to a commit, that install takes the wheel pip cached from the first build instead of
  cloning and building the same commit again for every lesson.

Real data: COURSE_DATA_DIR (and COURSE_CACHE_DIR) pass through when set; without them the lessons download their
data into the user cache or fall back offline, as the README says. Executed notebooks and the venv's `pip freeze` land in build/test-colab-fresh/.
The venv (several GB: torch with its CUDA libraries) is deleted afterwards.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import venv
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from course_utils.colab import BRANCH, REPO_URL, SETUP_MARKER, setup_cell_source
from course_utils.instructor.notebooks import lesson_notebooks, quick_parameters

REPO = Path(__file__).resolve().parents[1]
OUTPUT_DIR = REPO / "build" / "test-colab-fresh"
KERNEL_NAME = "colab-fresh-env"
CELL_TIMEOUT = 600  # seconds per cell of a lesson (a quick lesson takes 20-90 s in all)
INSTALL_TIMEOUT = 1800  # seconds for the setup cell's first, full install (about 3.5 min on a busy 2-core machine)
LESSONS = [p.stem for p in lesson_notebooks(REPO / "notebooks")]

# The first lesson's test also sets up the venv (see INSTALL_TIMEOUT); the others take a minute or two each.
pytestmark = pytest.mark.timeout(INSTALL_TIMEOUT + 900)  # marked `notebooks` in conftest.py

COLAB_STUB = 'import sys, types; sys.modules.setdefault("google.colab", types.ModuleType("google.colab"))\n'


def run(command: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run a command; on failure fail the test with its command and the end of its output."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, (f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def clean_clone(target: Path) -> str:
    """Put this repository's HEAD into `target` as a git repository; return its commit, the revision to install."""
    if (REPO / ".git").exists():
        run(["git", "clone", "-q", str(REPO), str(target)], timeout=300)
    else:  # an unpacked archive: copy the sources and commit them, so that pip can install from a git URL
        shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(".venv", "build", "outputs", "*.egg-info",
                                                                    "artifacts", "workspace", "__pycache__"))
        git = ["git", "-C", str(target), "-c", "user.name=test", "-c", "user.email=test@localhost"]
        run(git + ["init", "-q"], timeout=60)
        run(git + ["add", "-A"], timeout=120)
        run(git + ["commit", "-q", "-m", "snapshot"], timeout=120)
    return run(["git", "-C", str(target), "rev-parse", "HEAD"], timeout=60).stdout.strip()


def colab_setup_cell(clone: Path, ref: str) -> str:
    """The lessons' setup cell with the repository URL replaced by the local clone's: its only change."""
    original = setup_cell_source()
    remote = f"git+{REPO_URL}@{BRANCH}"
    assert original.count(remote) == 1, f"the setup cell no longer installs from {remote}"
    return original.replace(remote, f"git+{clone.as_uri()}@{ref}")


@contextmanager
def kernel_environment(env_dir: Path, jupyter_path: Path, pip_log: Path) -> Iterator[None]:
    """While lessons run: our kernelspec is found, the kernel's `python` and `pip` are the venv's, pip logs what the
    setup cells do to `pip_log` (pip's --log option, set through its environment), nothing of this checkout leaks
    in through PYTHONPATH, and no progress widgets land in the executed copies."""
    overrides = {
        "PIP_LOG": str(pip_log),
        "JUPYTER_PATH": os.pathsep.join(filter(None, [str(jupyter_path), os.environ.get("JUPYTER_PATH")])),
        "PATH": os.pathsep.join([str(env_dir / "bin"), os.environ.get("PATH", "")]),
        "VIRTUAL_ENV": str(env_dir),
        "COURSE_PROGRESS": "0",
    }
    saved = {name: os.environ.get(name) for name in [*overrides, "PYTHONPATH", "PYTHONHOME"]}
    os.environ.update(overrides)
    os.environ.pop("PYTHONPATH", None)
    os.environ.pop("PYTHONHOME", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def installed_kit(python: Path, cwd: Path) -> dict:
    """Where the venv imports course_utils from, and course-kit's install record (direct_url.json)."""
    probe = ("import json, course_utils; from importlib.metadata import distribution; d = distribution('course-kit');"
             "print(json.dumps({'module': course_utils.__file__, 'direct_url': json.loads(d.read_text('direct_url.json'))}))")
    return json.loads(run([str(python), "-c", probe], timeout=120, cwd=cwd).stdout)


@pytest.fixture(scope="module")
def colab_env(tmp_path_factory) -> Iterator[dict]:
    """A fresh venv with ipykernel, the google.colab stub and the kit as Colab's setup cell installs it."""
    root = tmp_path_factory.mktemp("colab")
    clone = root / "clone"
    ref = clean_clone(clone)
    env_dir = root / "venv"
    python = env_dir / "bin" / "python"
    started = time.monotonic()
    try:
        venv.EnvBuilder(with_pip=True).create(env_dir)
        run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip", "ipykernel"], timeout=600)
        purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                      timeout=60).stdout.strip()
        (Path(purelib) / "google_colab_stub.pth").write_text(COLAB_STUB)
        cell = colab_setup_cell(clone, ref)
        # fails harmlessly where pip's cache is disabled; the build check below is what counts
        subprocess.run([str(python), "-m", "pip", "cache", "remove", "course_kit"], capture_output=True, timeout=120)
        install_log = root / "install-pip.log"
        run([str(python), "-c", cell], timeout=INSTALL_TIMEOUT, cwd=root, env={**os.environ, "PIP_LOG": str(install_log)})
        seconds = time.monotonic() - started
        built = install_log.read_text(encoding="utf-8", errors="replace")
        assert f"Cloning {clone.as_uri()}" in built and "Building wheel for course-kit" in built, \
            f"the setup cell's first install did not clone and build the kit from the clone: see {install_log}"

        kit = installed_kit(python, root)
        assert Path(kit["module"]).is_relative_to(env_dir), f"course_utils imported from {kit['module']}"
        assert kit["direct_url"]["url"] == clone.as_uri(), "course-kit installed from the local clone's git URL"
        assert kit["direct_url"]["vcs_info"]["requested_revision"] == ref
        run([str(python), "-m", "pip", "check"], timeout=300)

        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        freeze = run([str(python), "-m", "pip", "freeze", "--all"], timeout=120).stdout
        (OUTPUT_DIR / "pip-freeze.txt").write_text(freeze)
        (OUTPUT_DIR / "setup-seconds.txt").write_text(f"{seconds:.0f}\n")

        spec = root / "jupyter" / "kernels" / KERNEL_NAME
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (fresh Colab-like venv)", "language": "python"}))
        pip_log = root / "kernel-pip.log"
        pip_log.touch()
        with kernel_environment(env_dir, root / "jupyter", pip_log):
            yield {"clone": clone, "ref": ref, "python": python, "cell": cell, "pip_log": pip_log}
    finally:
        # torch with its CUDA libraries: several GB, whose deletion takes minutes on a busy disk; nobody waits for it.
        if env_dir.exists():
            subprocess.Popen(["rm", "-rf", str(env_dir)], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def setup_cell_of(path: Path) -> tuple[int, str]:
    """Return (index, source) of the notebook's first code cell, which must be the Colab setup cell."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    index, cell = next((i, c) for i, c in enumerate(cells) if c["cell_type"] == "code")
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    assert source.startswith(SETUP_MARKER), f"{path.name}: the first code cell is not the Colab setup cell"
    return index, source


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_in_a_fresh_colab_like_environment(colab_env, name):
    import papermill

    from course_utils.instructor.execution import SlicedWaitKernelManager
    from course_utils.results import read_results

    source = colab_env["clone"] / "notebooks" / f"{name}.ipynb"
    assert source.is_file(), f"{name} is not committed: Colab would not find it"
    nb = json.loads(source.read_text(encoding="utf-8"))
    index, cell = setup_cell_of(source)
    assert cell == setup_cell_source(), f"{name}: run `python scripts/stamp_colab.py`"
    nb["cells"][index]["source"] = colab_env["cell"]  # the local git URL: the only change to the notebook
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    prepared = colab_env["clone"].parent / f"{name}.input.ipynb"
    prepared.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    output = OUTPUT_DIR / f"{name}.ipynb"

    logged = colab_env["pip_log"].stat().st_size
    papermill.execute_notebook(
        str(prepared), str(output), parameters=quick_parameters(source), cwd=str(source.parent),
        kernel_name=KERNEL_NAME, progress_bar=False, execution_timeout=CELL_TIMEOUT,
        kernel_manager_class=SlicedWaitKernelManager,
    )

    with colab_env["pip_log"].open(encoding="utf-8", errors="replace") as log:
        log.seek(logged)
        pip_run = log.read()
    assert colab_env["clone"].as_uri() in pip_run, \
        "the setup cell ran no pip install from the clone: the kernel did not see google.colab"
    executed = json.loads(output.read_text(encoding="utf-8"))
    errors = [f"{o['ename']}: {o['evalue']}" for c in executed["cells"] if c["cell_type"] == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert read_results(output), f"{name} recorded no results"
