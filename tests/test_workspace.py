"""The student workspace: student versions outside the tracked notebooks, refreshed, never overwriting a student's edit."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from course_utils.hashing import file_digest
from course_utils.instructor.notebooks import NOTEBOOK_DIR, REPO, lesson_notebooks
from course_utils.instructor.workspace import STATE_FILE, update_workspace


def small_kit(tmp_path: Path) -> Path:
    """A copy of two lessons (and the assets) to work on without touching the real notebooks."""
    notebooks = tmp_path / "kit" / "notebooks"
    notebooks.mkdir(parents=True)
    for lesson in lesson_notebooks()[:2]:
        shutil.copy(lesson, notebooks / lesson.name)
    shutil.copytree(REPO / "assets", tmp_path / "kit" / "assets")
    return notebooks


def test_a_fresh_workspace_holds_student_versions_of_every_lesson(tmp_path):
    report = update_workspace(tmp_path / "ws")
    names = sorted(p.name for p in (tmp_path / "ws" / "notebooks").glob("*.ipynb"))
    assert names == [p.name for p in lesson_notebooks(NOTEBOOK_DIR)] == sorted(report.created)
    for path in (tmp_path / "ws" / "notebooks").glob("*.ipynb"):
        text = path.read_text(encoding="utf-8")
        assert "### BEGIN SOLUTION" not in text and "Answers (instructor version)" not in text
    assert (tmp_path / "ws" / "assets").is_dir() and (tmp_path / "ws" / STATE_FILE).is_file()


def add_section(lesson: Path, title: str) -> None:
    """The course adds a section to a lesson (a heading and a code cell)."""
    content = json.loads(lesson.read_text(encoding="utf-8"))
    content["cells"] += [{"cell_type": "markdown", "id": f"h-{len(content['cells'])}", "metadata": {},
                          "source": f"## {title}"},
                         {"cell_type": "code", "id": f"c-{len(content['cells'])}", "metadata": {}, "outputs": [],
                          "execution_count": None, "source": "x = 1"}]
    lesson.write_text(json.dumps(content), encoding="utf-8")


def run_and_save(copy: Path) -> None:
    """What JupyterLab does when a student runs a lesson and saves it: outputs and execution counts change."""
    content = json.loads(copy.read_text(encoding="utf-8"))
    cell = next(c for c in content["cells"] if c["cell_type"] == "code")
    cell["execution_count"], cell["outputs"] = 1, [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
    copy.write_text(json.dumps(content, indent=1), encoding="utf-8")


def test_rerun_updates_untouched_lessons_and_keeps_an_edited_one_byte_for_byte(tmp_path):
    notebooks = small_kit(tmp_path)
    ws = tmp_path / "ws"
    update_workspace(ws, notebooks)
    first, second = sorted((ws / "notebooks").glob("*.ipynb"))
    assert update_workspace(ws, notebooks).unchanged == [first.name, second.name]

    edited = first.read_text(encoding="utf-8").replace("# YOUR CODE HERE", "# my answer", 1)
    first.write_text(edited, encoding="utf-8")
    for lesson in notebooks.glob("*.ipynb"):  # the course changes both lessons
        add_section(lesson, "A new section")
    report = update_workspace(ws, notebooks)
    assert report.kept_edited == [first.name] and list(report.updated) == [second.name]
    assert report.updated[second.name] == ["A new section"]
    assert report.offered == {first.name: ["A new section"]}
    assert first.read_text(encoding="utf-8") == edited
    assert "A new section" in second.read_text(encoding="utf-8")
    beside = ws / "notebooks" / f"{first.stem}.updated.ipynb"
    assert "A new section" in beside.read_text(encoding="utf-8")
    assert f"changed: 'A new section'): the new version is beside it as {beside.name}" in "\n".join(report.lines())

    beside.write_text(beside.read_text(encoding="utf-8") + " ", encoding="utf-8")  # the student looks at it, saves
    again = update_workspace(ws, notebooks)
    assert again.kept_edited == [first.name] and not again.offered, "nothing changed upstream: nothing is offered"
    assert beside.read_text(encoding="utf-8").endswith(" "), "the copy beside it is not written again"
    assert again.still_beside == [first.name]
    assert first.read_text(encoding="utf-8") == edited  # still the student's, on every later run


def test_a_lesson_only_run_and_saved_gets_no_update_offer(tmp_path):
    notebooks = small_kit(tmp_path)
    ws = tmp_path / "ws"
    update_workspace(ws, notebooks)
    first = sorted((ws / "notebooks").glob("*.ipynb"))[0]
    run_and_save(first)
    saved = first.read_bytes()
    report = update_workspace(ws, notebooks)
    assert report.kept_edited == [first.name] and not report.offered and report.lines() == []
    assert not (ws / "notebooks" / f"{first.stem}.updated.ipynb").exists()
    assert first.read_bytes() == saved

    lesson = notebooks / first.name  # the course regenerates its outputs only: still nothing to offer
    content = json.loads(lesson.read_text(encoding="utf-8"))
    cell = next(c for c in content["cells"] if c["cell_type"] == "code" and c.get("outputs"))
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "a new timing\n"}]
    lesson.write_text(json.dumps(content), encoding="utf-8")
    assert not update_workspace(ws, notebooks).offered


def test_the_update_names_the_changed_and_removed_sections(tmp_path):
    notebooks = small_kit(tmp_path)
    lesson = lesson_notebooks(notebooks)[0]
    ws = tmp_path / "ws"
    update_workspace(ws, notebooks)
    run_and_save(ws / "notebooks" / lesson.name)
    content = json.loads(lesson.read_text(encoding="utf-8"))
    cells = content["cells"]
    headings = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("#")]
    changed = next(i for i in range(headings[2] + 1, len(cells)) if cells[i]["cell_type"] == "code")
    cells[changed]["source"] = "".join(cells[changed]["source"]) + "\n# clearer now"
    section = [i for i in headings if i < changed][-1]
    removed_title = "".join(cells[headings[-1]]["source"]).split("\n")[0].lstrip("#").strip()
    del cells[headings[-1]:]  # the last section is dropped
    lesson.write_text(json.dumps(content), encoding="utf-8")
    offered = update_workspace(ws, notebooks).offered[lesson.name]
    assert offered == ["".join(cells[section]["source"]).split("\n")[0].lstrip("#").strip(), removed_title]


def test_a_copy_recorded_by_an_older_kit_is_offered_the_update_once(tmp_path):
    notebooks = small_kit(tmp_path)
    ws = tmp_path / "ws"
    update_workspace(ws, notebooks)
    first = sorted((ws / "notebooks").glob("*.ipynb"))[0]
    copies = sorted((ws / "notebooks").glob("*.ipynb"))
    (ws / STATE_FILE).write_text(json.dumps({p.name: file_digest(p) for p in copies}), encoding="utf-8")  # version 1
    run_and_save(first)
    report = update_workspace(ws, notebooks)
    assert report.offered == {first.name: None} and report.unchanged == [copies[1].name]
    assert "what changed is not known" in report.lines()[0]
    assert not update_workspace(ws, notebooks).offered


def test_a_damaged_record_overwrites_nothing(tmp_path):
    notebooks = small_kit(tmp_path)
    ws = tmp_path / "ws"
    update_workspace(ws, notebooks)
    (ws / STATE_FILE).write_text("{not json", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in (ws / "notebooks").glob("*.ipynb")}
    report = update_workspace(ws, notebooks)
    assert sorted(report.kept_edited) == sorted(before)
    assert all((ws / "notebooks" / name).read_bytes() == data for name, data in before.items())


def test_kit_lab_no_start_creates_the_workspace(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "kit.py"), "lab", "--no-start", "--dir",
                             str(tmp_path / "mine")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mine" / "notebooks" / "01_mnist_fnn.ipynb").is_file()
    assert "your notebooks:" in result.stdout


def test_the_korean_edition_gets_its_own_folder_and_record(tmp_path):
    notebooks = small_kit(tmp_path)
    (notebooks / "ko").mkdir()
    lesson = lesson_notebooks(notebooks)[0]
    shutil.copy(lesson, notebooks / "ko" / lesson.name)
    ws = tmp_path / "ws"
    english = update_workspace(ws, notebooks)
    korean = update_workspace(ws, notebooks, language="ko")
    assert len(english.created) == 2 and korean.created == [f"ko/{lesson.name}"]
    edited = ws / "notebooks" / "ko" / lesson.name
    edited.write_text(edited.read_text(encoding="utf-8") + " ", encoding="utf-8")
    add_section(notebooks / "ko" / lesson.name, "새 절")
    report = update_workspace(ws, notebooks, language="ko")
    assert report.kept_edited == [f"ko/{lesson.name}"] and report.offered == {f"ko/{lesson.name}": ["새 절"]}
    assert (ws / "notebooks" / "ko" / f"{lesson.stem}.updated.ipynb").is_file()
    assert len(update_workspace(ws, notebooks).unchanged) == 2, "the English copies are not touched"


def test_a_korean_workspace_starts_jupyterlab_in_korean_and_keeps_the_students_choice(tmp_path):
    from course_utils.instructor.workspace import lab_settings

    plugin = Path("@jupyterlab") / "translation-extension" / "plugin.jupyterlab-settings"
    english = lab_settings(tmp_path / "en", "en")
    assert not (english / plugin).exists(), "the English edition keeps JupyterLab's default language"
    korean = lab_settings(tmp_path / "ko", "ko")
    assert json.loads((korean / plugin).read_text(encoding="utf-8")) == {"locale": "ko_KR"}
    (korean / plugin).write_text(json.dumps({"locale": "en"}), encoding="utf-8")  # the student switched back
    lab_settings(tmp_path / "ko", "ko")
    assert json.loads((korean / plugin).read_text(encoding="utf-8")) == {"locale": "en"}


def test_the_english_workspace_checks_the_fonts_too(tmp_path, monkeypatch):
    """English lessons show Hangul and emoji as well (lesson 01's checkboxes, the reviews of 06 and 07)."""
    import warnings

    from course_utils import i18n
    from course_utils.instructor import workspace

    monkeypatch.setattr(i18n, "has_korean_display_font", lambda: False)
    monkeypatch.setattr(workspace, "update_workspace", lambda *args, **kwargs: workspace.WorkspaceReport())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert workspace.main(["--dir", str(tmp_path / "ws"), "--language", "en"]) == 0
    assert any("No Korean font was found" in str(w.message) for w in caught)
