"""Grading answers by hand: which parts of a lesson are graded by hand, what each student wrote for them, the points
kept in the gradebook through regrades (and flagged when the answer changed), and the local page that gives them.

The lesson is fixture 92 with a questionnaire (and its instructor answers), a markdown answer cell and an open
question on exercise 1's prompt. One test grades the class end to end (two grading runs); the others start no kernel."""
from __future__ import annotations

import copy
import csv
import http.client
import json
import shutil
import threading
import urllib.parse
from pathlib import Path

import pytest

from course_utils.instructor.grade import Submission, grade_class
from course_utils.instructor.grade_export import class_table, export
from course_utils.instructor.grade_prepare import read_lesson
from course_utils.instructor.gradebook import Gradebook, Grading, connect
from course_utils.instructor.gradebook_extras import CHANGED, GRADED_BY_HAND, NO_ANSWER, TO_GRADE, apply_extras, read_extras
from course_utils.instructor.grade_report import csv_rows
from course_utils.instructor.manual import digest, extract_answers, lesson_items, record_submissions, set_manual_score
from course_utils.instructor.manual_page import ManualServer
from course_utils.instructor.student import student_version
from course_utils.instructor.values import RequestError

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
LESSON_FILE = "94_fixture_manual.ipynb"
PROMPT_1, SOLUTION_1, CHECK_1, RECORD = "e90587d5", "efccec77", "f928fa7d", "7c93e192"
QUESTIONS = "## Questionnaire\n1. Why do we square the errors?\n2. What does the learning rate control?"
ANSWERS = "**Answers (instructor version)**\n1. Big errors count more, and every error is positive.\n2. The step size."


def md(source: str, cell_id: str, **metadata) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": metadata, "source": source}


def instructor() -> dict:
    """Fixture 92 plus an open question on exercise 1's prompt, a markdown answer and a questionnaire."""
    nb = json.loads((FIXTURES / "92_fixture_exercises.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["id"] == PROMPT_1:
            cell["metadata"] = {"course_kit": {"manual_points": 2}}
    at = next(i for i, c in enumerate(nb["cells"]) if c["id"] == RECORD)
    nb["cells"][at:at] = [
        md("Explain in one line why ReLU helps.\n### BEGIN SOLUTION\nIts slope is 1 for positive inputs.\n"
           "### END SOLUTION", "m0000001"),
        md(QUESTIONS, "q0000001"), md(ANSWERS, "a0000001", tags=["answers"])]
    return nb


@pytest.fixture
def lesson_dir(tmp_path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / LESSON_FILE).write_text(json.dumps(instructor()))
    shutil.copy(FIXTURES / "fixture_checks.py", folder)
    return folder


def untouched() -> dict:
    return student_version(instructor())


def answered(questionnaire: str = "1. Squares make errors positive.", solve: bool = False) -> dict:
    """The student version with the questionnaire answered in a cell added below it (and, with solve, exercises
    filled in from the instructor notebook)."""
    nb = untouched()
    at = next(i for i, c in enumerate(nb["cells"]) if c["id"] == "q0000001") + 1
    nb["cells"].insert(at, md(questionnaire, "student1"))
    if solve:
        solutions = {c["id"]: c["source"] for c in instructor()["cells"]}
        for cell in nb["cells"]:
            if cell["id"] in (SOLUTION_1, "70ba9775"):
                cell["source"] = solutions[cell["id"]]
    return nb


def test_the_lessons_items_graded_by_hand_are_found_with_their_points(lesson_dir):
    items = {i.name: i for i in lesson_items(read_lesson(lesson_dir / LESSON_FILE))}
    assert [(i.name, i.kind, i.number, i.max_points) for i in items.values()] == [
        ("hours", "exercise", 1, 1.0), ("relu", "exercise", 2, 1.0), ("hours_answer", "manual", 3, 2.0),
        ("answer_2", "manual", 4, 1.0), ("questionnaire", "manual", 5, 2.0)]  # one point per numbered question
    assert items["hours_answer"].anchors == (PROMPT_1, SOLUTION_1, CHECK_1)  # the open question covers its code
    assert items["questionnaire"].reference == ANSWERS and "Its slope is 1" in items["answer_2"].reference
    assert "BEGIN SOLUTION" not in items["answer_2"].question and "Its slope" not in items["answer_2"].question


def test_what_a_student_wrote_is_found_where_they_wrote_it(lesson_dir):
    lesson = read_lesson(lesson_dir / LESSON_FILE)
    items = lesson_items(lesson)
    assert extract_answers(untouched(), lesson, items)["questionnaire"] == []  # nothing written: no answer
    nb = answered()
    for cell in nb["cells"]:
        if cell["id"] == "m0000001":
            cell["source"] = cell["source"].replace("YOUR ANSWER HERE", "Gradients do not shrink.")
    nb["cells"].append(md("my own notes at the end", "student9"))  # after the last lesson cell: no item's
    check = next(i for i, c in enumerate(nb["cells"]) if c["id"] == CHECK_1)
    nb["cells"].insert(check + 1, md("Because hours = seconds / 3600.", "student2"))
    found = extract_answers(nb, lesson, items)
    assert found["questionnaire"] == [["markdown", "1. Squares make errors positive."]]
    assert found["answer_2"] == [["markdown", "Explain in one line why ReLU helps.\nGradients do not shrink."]]
    assert found["hours_answer"] == [["markdown", "Because hours = seconds / 3600."]]
    assert found["hours"][0][0] == "code" and "# YOUR CODE HERE" in found["hours"][0][1]  # the answer cell as left
    colab = copy.deepcopy(nb)  # Colab saves without cell ids; the questionnaire answered inside its own cell
    for cell in colab["cells"]:
        cell.pop("id")
        if cell["source"] == QUESTIONS:
            cell["source"] += "\n\nMy answers: both."
    assert extract_answers(colab, lesson, items)["questionnaire"] == [
        ["markdown", QUESTIONS + "\n\nMy answers: both."], ["markdown", "1. Squares make errors positive."]]
    retitled = answered()  # without ids, and the question cell's first line replaced: found after the cell before it
    for cell in retitled["cells"]:
        cell.pop("id")
        if cell["source"] == QUESTIONS:
            cell["source"] = "## My answers\nboth"
    assert extract_answers(retitled, lesson, items)["questionnaire"] == [
        ["markdown", "## My answers\nboth"], ["markdown", "1. Squares make errors positive."]]


def store(book: Gradebook, lesson, folder: Path, student: str, nb: dict, at: str, name: str) -> Grading:
    """Record a submission as a grading run does (answers, time) and add its automatic grading."""
    path = folder / name
    path.write_text(json.dumps(nb))
    sha = digest([[name]])  # any distinct hash per file
    record_submissions(book, [Submission(student, lesson, path, name, sha)], folder)
    grading = Grading(at, student, lesson.name, name, sha, "key", "graded", "", 1.0, 2.0, 1.0, at, "local",
                      [{"exercise": "hours", "number": 1, "points": 1.0, "max_points": 1.0, "status": "passed",
                        "hint": ""}, {"exercise": "relu", "number": 2, "points": 0.0, "max_points": 1.0,
                                      "status": "failed", "hint": "Hint: negative inputs become 0"}])
    book.add(grading)
    return grading


def hand(book: Gradebook, student: str = "ana") -> dict:
    grading = next(g for g in book.latest_gradings() if g.student == student)
    return {s["exercise"]: (s["points"], s["status"], s["hint"]) for s in grading.scores if s.get("manual")}


def test_points_given_by_hand_survive_a_regrade_and_a_changed_answer_is_flagged(lesson_dir, tmp_path):
    lesson = read_lesson(lesson_dir / LESSON_FILE)
    book = Gradebook(tmp_path / "out" / "gradebook.sqlite", tmp_path / "out")
    try:
        store(book, lesson, tmp_path, "ana", answered(), "2026-04-01T10:00:00Z", "v1.ipynb")
        assert hand(book)["questionnaire"] == (0.0, TO_GRADE, "") and hand(book)["answer_2"][1] == NO_ANSWER
        set_manual_score(book.connection, "ana", lesson.name, "questionnaire", 1.5, "Good; say what alpha scales.")
        assert hand(book)["questionnaire"] == (1.5, GRADED_BY_HAND, "Good; say what alpha scales.")
        store(book, lesson, tmp_path, "ana", answered(), "2026-04-02T10:00:00Z", "v1.ipynb")  # regraded as it was
        assert hand(book)["questionnaire"] == (1.5, GRADED_BY_HAND, "Good; say what alpha scales.")
        latest = next(g for g in book.latest_gradings() if g.student == "ana")
        assert (latest.total, latest.max_total) == (1.0 + 1.5, 2.0 + 2 + 1 + 2)
        assert apply_extras([latest], read_extras(book.connection))[0].total == latest.total  # counted once
        v2 = answered("1. Squares punish big errors.")  # a new file with another answer, and an explanation
        v2["cells"].insert(next(i for i, c in enumerate(v2["cells"]) if c["id"] == CHECK_1) + 1,
                           md("Because an hour has 3600 s.", "student2"))
        store(book, lesson, tmp_path, "ana", v2, "2026-04-03T10:00:00Z", "v2.ipynb")  # points kept, but flagged
        assert hand(book)["questionnaire"] == (1.5, CHANGED, "Good; say what alpha scales.")
        rows = csv_rows(class_table(book.latest_gradings(), [lesson]))
        got = dict(zip(rows[0], rows[1]))
        assert (got["94.questionnaire"], got["94.answer_2"], got["94.hours_answer"], got["94.total"]) == (
            "1.5", "0", "", "2.5")  # no answer counts 0; an answer still to grade is empty
        assert "answer changed since graded by hand: questionnaire" in got["notes"]
        assert "to grade by hand: hours_answer" in got["notes"]
        set_manual_score(book.connection, "ana", lesson.name, "questionnaire", 2, "")
        assert hand(book)["questionnaire"] == (2.0, GRADED_BY_HAND, "")
        with pytest.raises(RequestError, match="between 0 and 2"):
            set_manual_score(book.connection, "ana", lesson.name, "questionnaire", 2.5)
        with pytest.raises(RequestError, match="no answer graded by hand named 'hours'"):
            set_manual_score(book.connection, "ana", lesson.name, "hours", 1)  # an automatic exercise
    finally:
        book.close()
    assert export(tmp_path / "out" / "gradebook.sqlite").gradings[("ana", lesson.name)].total == 1.0 + 2


@pytest.fixture
def page(lesson_dir, tmp_path):
    """The grading page on a free port, over a gradebook with one student whose answer tries to inject HTML."""
    lesson = read_lesson(lesson_dir / LESSON_FILE)
    book = Gradebook(tmp_path / "out" / "gradebook.sqlite", tmp_path / "out")
    store(book, lesson, tmp_path, "ana", answered("<script>alert('x')</script> a < b"), "2026-04-01T10:00:00Z",
          "v1.ipynb")
    book.close()
    server = ManualServer(tmp_path / "out" / "gradebook.sqlite", lesson_dir, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def request(server: ManualServer, method: str, path: str, form: dict | None = None,
            host: str = "127.0.0.1") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    body = urllib.parse.urlencode(form) if form is not None else None
    connection.request(method, path, body=body, headers={"Host": host, "Content-Type":
                                                         "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    return response.status, response.read().decode()


def test_the_page_shows_answers_as_text_and_saves_only_its_own_forms(page):
    item = "/item?lesson=94_fixture_manual&item=questionnaire"
    status, text = request(page, "GET", "/")
    assert status == 200 and "questionnaire" in text and "hours_answer" in text
    status, text = request(page, "GET", item)
    assert status == 200 and "&lt;script&gt;alert(" in text and "<script>" not in text
    assert "The step size." in text  # the reference answer, on the instructor's page
    form = {"lesson": "94_fixture_manual", "item": "questionnaire", "student": "ana", "points": "1,5",
            "comment": "ok"}
    assert request(page, "POST", "/save", form)[0] == 403  # no token: another page's form
    assert request(page, "POST", "/save", {**form, "token": page.token}, host="evil.example")[0] == 403
    assert request(page, "GET", "/", host="evil.example")[0] == 403  # a rebound DNS name
    assert request(page, "POST", "/save", {**form, "token": page.token, "points": "3"})[0] == 400  # max is 2
    status, _ = request(page, "POST", "/save", {**form, "token": page.token})
    assert status == 303
    with connect(page.gradebook, 5) as db:
        assert db.execute("SELECT student, item, points, comment FROM manual_scores").fetchall() == [
            ("ana", "questionnaire", 1.5, "ok")]


def test_manual_points_survive_regrading_the_class(lesson_dir, tmp_path):
    """End to end: grade, give points by hand, grade again (--redo) and with a changed answer: grades.csv keeps them."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    (subs / "ana").mkdir(parents=True)
    (subs / "ana" / LESSON_FILE).write_text(json.dumps(answered(solve=True)))
    grade_class(subs, ["94"], out, notebook_dir=lesson_dir, progress=False)
    with connect(out / "gradebook.sqlite", 5) as db:
        set_manual_score(db, "ana", "94_fixture_manual", "questionnaire", 2, "complete")
    grade_class(subs, ["94"], out, notebook_dir=lesson_dir, progress=False, redo=True)
    with open(out / "grades.csv", encoding="utf-8-sig", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert (row["94.hours"], row["94.relu"], row["94.questionnaire"], row["94.total"]) == ("1", "1", "2", "4")
    assert "complete" in (out / "feedback" / "ana.html").read_text(encoding="utf-8")
