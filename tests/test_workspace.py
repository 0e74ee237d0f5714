"""The student workspace: student versions outside the tracked notebooks, refreshed, never overwriting a student's edit."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

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


def test_rerun_updates_untouched_lessons_and_keeps_an_edited_one_byte_for_byte(tmp_path):
    notebooks = small_kit(tmp_path)
    ws = tmp_path / "ws"
    update_workspace(ws, notebooks)
    first, second = sorted((ws / "notebooks").glob("*.ipynb"))
    assert update_workspace(ws, notebooks).unchanged == [first.name, second.name]

    edited = first.read_text(encoding="utf-8").replace("# YOUR CODE HERE", "# my answer", 1)
    first.write_text(edited, encoding="utf-8")
    for lesson in notebooks.glob("*.ipynb"):  # the course changes both lessons
        content = json.loads(lesson.read_text(encoding="utf-8"))
        content["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "A new section."})
        lesson.write_text(json.dumps(content), encoding="utf-8")
    report = update_workspace(ws, notebooks)
    assert report.kept_edited == [first.name] and report.updated == [second.name]
    assert first.read_text(encoding="utf-8") == edited
    assert "A new section." in second.read_text(encoding="utf-8")
    assert "A new section." in (ws / "notebooks" / f"{first.stem}.updated.ipynb").read_text(encoding="utf-8")
    assert update_workspace(ws, notebooks).kept_edited == [first.name]  # still the student's, on every later run


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
    assert update_workspace(ws, notebooks, language="ko").kept_edited == [f"ko/{lesson.name}"]
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
