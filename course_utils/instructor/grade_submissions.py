"""A class's submissions and which notebook of each student is their copy of a lesson.

A submissions folder may hold, side by side: one sub-folder per student (SUBMISSIONS/<student>/...), one zip per
student (SUBMISSIONS/<student>.zip counts as that student's folder), and the flat files of an LMS download
(Moodle/Canvas style `<name>_<id>_<file>`, `<name>_<id>_<id2>_<file>`, `<name>_LATE_<id>_...`, grouped per student
id). A zip anywhere in a student's folder is unpacked too and its notebooks considered. Every zip is unpacked member
by member into a scratch folder: absolute paths, paths that climb out of the target folder (zip-slip), symlinks, and
members that would unpack to more than a size cap (per zip and per run) are skipped and reported. Every input that is
skipped (not a notebook, a zip or a folder; a symbolic link; an unreadable zip) is reported as a problem.

An optional roster, `students.csv` (columns `student`, the folder name, and optional `id`, `name`, `email`; for Canvas
exports also `sis_user_id`, `sis_login_id`, `section`), lists the
students expected; it also names LMS files by their id. `submissions.csv` (submission times, late.py) is not an
input either. Unpacked files keep their zip entry's time (late.py reads it as the time the file was handed in).
"""
from __future__ import annotations

import csv
import io
import os
import re
import stat
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from ..hashing import file_digest
from .late import TIMES_FILE
from .values import RequestError

SKIPPED_DIRS = ("__MACOSX", ".ipynb_checkpoints")
MAX_UNPACKED_BYTES = 2 << 30  # a zip that unpacks to more than 2 GiB is cut off there (zip bomb)
MAX_MEMBER_BYTES = 200 << 20  # one notebook file larger than this is not unpacked
MAX_RUN_UNPACKED_BYTES = 8 << 30  # all the zips of one grading run together
ROSTER_FILE = "students.csv"
ROSTER_COLUMNS = ("id", "name", "email")
CANVAS_COLUMNS = ("sis_user_id", "sis_login_id", "section")  # kept when the roster has them (lms.py)
# An LMS download's flat file: <name>_<id>_<file> (Moodle adds assignsubmission_file_, Canvas a second id and LATE_).
# Ids have 3 digits or more, so a lesson number (02_...) is never taken for one.
LMS_FILE = re.compile(r"^(?P<name>[^_].*?)_(?P<late>LATE_)?(?P<id>\d{3,})_(?:\d{3,}_)?"
                      r"(?:assignsubmission_[a-z]+_)?(?P<file>[^_].*)$")
LMS_FOLDER = re.compile(r"^(?P<name>[^_].*?)_(?P<id>\d{3,})_assignsubmission_[a-z]+_?$")  # Moodle "in folders"


@dataclass
class Candidate:
    """A file of a student's submission."""

    path: Path  # where it is now (in the submissions folder, or unpacked in the scratch folder)
    shown: str  # as reported: relative to the student's folder, 'ana.zip/02.ipynb', or the LMS file's name
    name: str  # the file name the student gave it (an LMS download's prefix removed)
    received: Path | None = None  # what was handed in, whose time counts: the zip it came in (None: itself)


@dataclass
class StudentInput:
    """Where one student's submission is: their folder, and/or files of the submissions folder (a zip, LMS files)."""

    folder: Path | None = None
    files: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the student's grading (e.g. marked late by the LMS)


@dataclass
class StudentFiles:
    """The notebooks of a student's submission (zips unpacked) and what was left out."""

    notebooks: list[Candidate] = field(default_factory=list)
    where: str = "the folder"  # for 'no notebook (.ipynb) in ...'
    notes: list[str] = field(default_factory=list)  # for the grading's reason
    problems: list[str] = field(default_factory=list)  # skipped inputs, for the run's report


@dataclass
class Roster:
    """The students expected (students.csv): folder name -> {id, name, email}, in the file's order."""

    path: Path
    rows: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def students(self) -> list[str]:
        """The students in the roster's order."""
        return list(self.rows)

    @property
    def has_ids(self) -> bool:
        """Whether any student has an id."""
        return any(row["id"] for row in self.rows.values())

    def by_id(self) -> dict[str, str]:
        """id -> student."""
        return {row["id"]: student for student, row in self.rows.items() if row["id"]}


@dataclass
class Found:
    """Where each student's files are, and what was skipped on the way (one line each)."""

    root: Path
    students: dict[str, StudentInput] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    roster: Roster | None = None


class Unpacker:
    """Unpacks a grading run's zips into numbered folders of a scratch folder; all of them together unpack to at
    most MAX_RUN_UNPACKED_BYTES (each zip also to at most MAX_UNPACKED_BYTES)."""

    def __init__(self, scratch: Path) -> None:
        self.scratch, self.left, self.count = scratch, MAX_RUN_UNPACKED_BYTES, 0

    def unpack(self, archive: Path, shown: str) -> tuple[Path, list[str]]:
        """Unpack the notebooks (and, to report them, the zips) of a zip; return the folder and the problems."""
        self.count += 1
        target = self.scratch / f"{self.count:04d}"
        target.mkdir(parents=True)
        problems = safe_extract(archive, target, wanted=lambda name: name.lower().endswith((".ipynb", ".zip")),
                                budget=self)
        return target, [p if p.startswith(archive.name) else f"{shown}: {p}" for p in problems]


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's file name; names zipped without the UTF-8 flag (Windows tools, Korean names) are decoded as
    UTF-8 or CP949 instead of zipfile's CP437 guess."""
    name = info.filename
    if not info.flag_bits & 0x800:
        raw = name.encode("cp437", errors="replace")
        for encoding in ("utf-8", "cp949"):
            try:
                name = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    return unicodedata.normalize("NFC", name.replace("\\", "/"))


def safe_extract(archive: Path, target: Path, *, wanted: Callable[[str], bool] | None = None,
                 budget: Unpacker | None = None) -> list[str]:
    """Unpack a zip into target, refusing members that escape it, symlinks and oversized members; return problems.
    `wanted` picks the members to unpack by name (the others are left out silently); `budget` (its `left` bytes)
    caps what several zips unpack together."""
    problems: list[str] = []
    target = target.resolve()
    total = 0
    cap = MAX_UNPACKED_BYTES if budget is None else max(0, min(MAX_UNPACKED_BYTES, budget.left))
    try:
        zipped = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"{archive.name} is not a readable zip file ({exc}); nothing was graded from it"]
    with zipped:
        for info in zipped.infolist():
            name = member_name(info)
            parts = PurePosixPath(name).parts
            mode = info.external_attr >> 16
            if info.is_dir() or (wanted is not None and not wanted(name)):
                continue
            if name.startswith("/") or (parts and ":" in parts[0]) or ".." in parts:
                problems.append(f"zip member {name!r} points outside the submissions folder (zip-slip): skipped")
                continue
            if stat.S_ISLNK(mode):
                problems.append(f"zip member {name!r} is a symbolic link: skipped")
                continue
            destination = target.joinpath(*parts).resolve()
            if not destination.is_relative_to(target):
                problems.append(f"zip member {name!r} points outside the submissions folder: skipped")
                continue
            if info.file_size > MAX_MEMBER_BYTES or total + info.file_size > cap:
                problems.append(f"zip member {name!r} is too large ({info.file_size:,} bytes): skipped")
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zipped.open(info) as source, open(destination, "wb") as sink:
                    written = 0
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_MEMBER_BYTES or total + written > cap:  # the header lied about the size
                            raise ValueError("larger than its header says")
                        sink.write(chunk)
                total += written
            except (zipfile.BadZipFile, ValueError, OSError, RuntimeError) as exc:
                destination.unlink(missing_ok=True)
                problems.append(f"zip member {name!r} cannot be unpacked ({exc}): skipped")
                continue
            try:  # as unzip does: the file gets its entry's time (read in the local time zone; late.py)
                stamp = time.mktime((*info.date_time, 0, 0, -1))
                os.utime(destination, (stamp, stamp))
            except (OverflowError, ValueError, OSError):
                pass
    if budget is not None:
        budget.left -= total
    return problems


def visible(path: Path) -> bool:
    """False for hidden entries and the folders archivers and Jupyter leave behind."""
    return not path.name.startswith(".") and path.name not in SKIPPED_DIRS


def read_roster(path: Path) -> Roster:
    """Read a roster CSV (UTF-8, with or without a byte-order mark, or CP949 as Korean Excel saves it): a column
    `student` (the folder name) and optional `id`, `name`, `email`. Raises RequestError when it cannot be used."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RequestError(f"Cannot read the roster {path}: {exc.strerror or exc}.") from exc
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RequestError(f"The roster {path} is neither UTF-8 nor CP949 text; save it as CSV (UTF-8).")
    reader = csv.DictReader(io.StringIO(text))
    columns = [(name or "").strip().lower() for name in reader.fieldnames or []]
    if "student" not in columns:
        raise RequestError(f"The roster {path} needs a column 'student' (each student's folder name); its columns "
                           f"are: {', '.join(columns) or 'none'}.")
    roster, twice = Roster(path), []
    for raw in reader:
        row = {(key or "").strip().lower(): (value or "").strip() for key, value in raw.items()
               if isinstance(value, str)}
        student = unicodedata.normalize("NFC", row.get("student", ""))
        if not student:
            continue
        if student in roster.rows:
            twice.append(student)
        roster.rows[student] = {column: row.get(column, "") for column in ROSTER_COLUMNS + CANVAS_COLUMNS
                                if column in ROSTER_COLUMNS or column in columns}
    ids = [row["id"] for row in roster.rows.values() if row["id"]]
    twice += sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise RequestError(f"The roster {path} names {', '.join(twice)} more than once; give each student and id once.")
    return roster


def lms_parts(name: str) -> tuple[str, str, str, bool] | None:
    """(name, id, original file name, marked late) of an LMS download's flat file name, or None."""
    match = LMS_FILE.match(name)
    if match is None:
        return None
    return match["name"], match["id"], match["file"], bool(match["late"])


def wraps_a_class(folder: Path) -> bool:
    """Whether a lone folder at the top of a submissions folder wraps the class rather than being one student's:
    it holds no notebook of its own, but sub-folders, several zips or LMS files."""
    entries = [p for p in folder.iterdir() if visible(p)]
    if any(p.suffix.lower() == ".ipynb" and lms_parts(p.name) is None for p in entries):
        return False
    zips = sum(p.suffix.lower() == ".zip" for p in entries)
    return (any(p.is_dir() and not p.is_symlink() for p in entries) or zips > 1
            or any(lms_parts(p.name) for p in entries if p.is_file()) or not entries)


def find_students(root: Path, unpacker: Unpacker | None = None, roster: Roster | None = None,
                  fallback_roster: Path | None = None) -> Found:
    """The students of a submissions folder (descending into a single wrapping folder, as zips often have): their
    folders, their zips (unpacked by `unpacker`; without one they are skipped) and their LMS files, grouped by id.
    The roster is `roster`, else students.csv in the folder, else `fallback_roster` when that file exists."""
    found = Found(root)
    top = root
    entries = sorted(p for p in root.iterdir() if visible(p))
    while len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() and wraps_a_class(entries[0]):
        root = entries[0]
        entries = sorted(p for p in root.iterdir() if visible(p))
    found.root = root
    if roster is None:
        for place in (root / ROSTER_FILE, top / ROSTER_FILE, fallback_roster):
            if place is not None and place.is_file():
                roster = read_roster(place)
                break
    found.roster = roster
    by_id = roster.by_id() if roster else {}
    lms: dict[str, list[tuple[Path, str, str, bool]]] = {}  # id -> (path, name, original file name, late)

    def add(student: str, given: StudentInput, what: str) -> None:
        if student in found.students:
            found.problems.append(f"{what}: {student} is already a student of this folder (a folder or a zip of "
                                  "the same name): skipped")
        else:
            found.students[student] = given

    for entry in entries:
        name = unicodedata.normalize("NFC", entry.name)
        suffix = entry.suffix.lower()
        parts = lms_parts(name) if entry.is_file() else None
        if entry.is_symlink():
            found.problems.append(f"{name}: a symbolic link, not a student folder: skipped")
        elif entry.is_dir():
            folder = LMS_FOLDER.match(name)
            if folder:
                lms.setdefault(folder["id"], []).append((entry, folder["name"], "", False))
            else:
                add(name, StudentInput(folder=entry), name)
        elif name in (ROSTER_FILE, TIMES_FILE):
            continue
        elif parts is not None and suffix in (".ipynb", ".zip"):
            lms.setdefault(parts[1], []).append((entry, parts[0], parts[2], parts[3]))
        elif suffix == ".zip":
            if unpacker is None:
                found.problems.append(f"{name}: a zip of a student's folder, not unpacked here: skipped")
            else:
                add(unicodedata.normalize("NFC", entry.stem), StudentInput(files=[Candidate(entry, name, name)]), name)
        elif suffix == ".ipynb":
            found.problems.append(f"{name}: a notebook outside any student folder and not named like an LMS "
                                  "download (<name>_<id>_<file>): skipped (put it in a folder named after the student)")
        else:
            found.problems.append(f"{name}: not a notebook, a zip or a student folder: skipped")
    names = [files[0][1] for files in lms.values()]
    for student_id, files in lms.items():
        lms_name = unicodedata.normalize("NFC", files[0][1])
        student = by_id.get(student_id) or (lms_name if names.count(files[0][1]) == 1 else f"{lms_name}_{student_id}")
        given = StudentInput()
        for path, _, original, late in files:
            if path.is_dir():
                given.folder = path
            else:
                given.files.append(Candidate(path, unicodedata.normalize("NFC", path.name),
                                             unicodedata.normalize("NFC", original)))
            if late and not given.notes:
                given.notes.append("the LMS marked this submission late")
        add(student, given, f"the LMS files of id {student_id}")
    return found


def student_files(given: StudentInput, unpacker: Unpacker | None = None) -> StudentFiles:
    """The notebooks of a student's submission: those in their folder (sub-folders included; symlinks and checkpoints
    left out and reported) and in the zips there or given (unpacked by `unpacker`). A notebook of a zip with the same
    bytes as one already found is left out, so a notebook handed in both loose and zipped is not 'two notebooks'."""
    result = StudentFiles()
    loose: list[Candidate] = list(given.files)
    if given.folder is not None:
        for path in sorted(given.folder.rglob("*")):
            relative = path.relative_to(given.folder)
            if any(not visible(Path(part)) for part in relative.parts):
                continue
            if path.suffix.lower() not in (".ipynb", ".zip"):
                continue
            if path.is_symlink() or any(p.is_symlink() for p in path.parents if p.is_relative_to(given.folder)):
                result.notes.append(f"{relative.as_posix()} is a symbolic link: not graded")
                result.problems.append(result.notes[-1])
                continue
            if path.is_file():
                loose.append(Candidate(path, unicodedata.normalize("NFC", relative.as_posix()),
                                       unicodedata.normalize("NFC", path.name)))
    zips = [c for c in loose if c.path.suffix.lower() == ".zip"]
    result.notebooks = [c for c in loose if c.path.suffix.lower() == ".ipynb"]
    if zips:
        shown = ", ".join(z.shown for z in zips)
        result.where = shown if given.folder is None else f"the folder or in {shown}"
    digests = {safe_digest(c.path) for c in result.notebooks} if zips else set()
    for archive in zips:
        if unpacker is None:
            result.notes.append(f"{archive.shown} was not unpacked")
            result.problems.append(result.notes[-1])
            continue
        target, problems = unpacker.unpack(archive.path, archive.shown)
        result.notes += problems
        result.problems += problems
        for path in sorted(target.rglob("*")):
            relative = path.relative_to(target)
            if not path.is_file() or any(not visible(Path(part)) for part in relative.parts):
                continue
            if path.suffix.lower() == ".zip":
                result.notes.append(f"{archive.shown}/{relative.as_posix()} is a zip inside a zip: not unpacked")
                result.problems.append(result.notes[-1])
                continue
            digest = safe_digest(path)
            if digest and digest in digests:
                continue
            digests.add(digest)
            result.notebooks.append(Candidate(path, f"{archive.shown}/{relative.as_posix()}", path.name,
                                              archive.received or archive.path))
    return result


def safe_digest(path: Path) -> str:
    """A file's SHA-256, or '' when it cannot be read."""
    try:
        return file_digest(path)
    except OSError:
        return ""


def choose(notebooks: list[Candidate], lesson_file: str, where: str = "the folder") -> tuple[Candidate | None, str]:
    """The student's copy of a lesson: the file named like the lesson, else the one notebook whose name starts with
    the lesson number, else the only notebook; (None, why) when there is none or it is ambiguous."""
    if not notebooks:
        return None, f"no notebook (.ipynb) in {where}"
    exact = [c for c in notebooks if c.name == lesson_file]
    if len(exact) == 1:
        return exact[0], ""
    number = lesson_file.split("_", 1)[0]
    numbered = [c for c in notebooks if c.name.startswith(number)]
    if len(numbered) == 1:
        return numbered[0], ""
    if len(notebooks) == 1:
        return notebooks[0], ""
    names = ", ".join(c.shown for c in (exact or numbered or notebooks))
    return None, (f"{len(exact or numbered or notebooks)} notebooks ({names}) and none is clearly {lesson_file}: "
                  f"keep one, named {lesson_file}")
