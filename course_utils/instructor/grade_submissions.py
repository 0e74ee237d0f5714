"""A class's submissions: one sub-folder per student (or a .zip of that), and which notebook of a student's folder
is their copy of a lesson. A zip is unpacked member by member: absolute paths, paths that climb out of the target
folder (zip-slip), symlinks, and members that would unpack to more than a size cap are skipped and reported."""
from __future__ import annotations

import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

SKIPPED_DIRS = ("__MACOSX", ".ipynb_checkpoints")
MAX_UNPACKED_BYTES = 2 << 30  # a zip that unpacks to more than 2 GiB is cut off there (zip bomb)
MAX_MEMBER_BYTES = 200 << 20  # one notebook file larger than this is not unpacked


@dataclass
class Found:
    """Where each student's files are, and what was skipped on the way (one line each)."""

    root: Path
    students: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


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


def safe_extract(archive: Path, target: Path) -> list[str]:
    """Unpack a zip into target, refusing members that escape it, symlinks and oversized members; return problems."""
    problems: list[str] = []
    target = target.resolve()
    total = 0
    try:
        zipped = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"{archive.name} is not a readable zip file ({exc}); nothing was graded from it"]
    with zipped:
        for info in zipped.infolist():
            name = member_name(info)
            parts = PurePosixPath(name).parts
            mode = info.external_attr >> 16
            if info.is_dir():
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
            if info.file_size > MAX_MEMBER_BYTES or total + info.file_size > MAX_UNPACKED_BYTES:
                problems.append(f"zip member {name!r} is too large ({info.file_size:,} bytes): skipped")
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zipped.open(info) as source, open(destination, "wb") as sink:
                    written = 0
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_MEMBER_BYTES:  # the header lied about the size
                            raise ValueError("larger than its header says")
                        sink.write(chunk)
                total += written
            except (zipfile.BadZipFile, ValueError, OSError, RuntimeError) as exc:
                destination.unlink(missing_ok=True)
                problems.append(f"zip member {name!r} cannot be unpacked ({exc}): skipped")
    return problems


def visible(path: Path) -> bool:
    """False for hidden entries and the folders archivers and Jupyter leave behind."""
    return not path.name.startswith(".") and path.name not in SKIPPED_DIRS


def find_students(root: Path) -> Found:
    """The student folders of a submissions folder (descending into a single wrapping folder, as zips often have)."""
    found = Found(root)
    entries = sorted(p for p in root.iterdir() if visible(p))
    while len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() and not any(
            p.suffix == ".ipynb" for p in entries[0].iterdir()):
        root = entries[0]
        entries = sorted(p for p in root.iterdir() if visible(p))
    found.root = root
    for entry in entries:
        if entry.is_symlink():
            found.problems.append(f"{entry.name}: a symbolic link, not a student folder: skipped")
        elif entry.is_dir():
            found.students[unicodedata.normalize("NFC", entry.name)] = entry
        elif entry.suffix == ".ipynb":
            found.problems.append(f"{entry.name}: a notebook outside any student folder: skipped (put it in a "
                                  "folder named after the student)")
    return found


def student_notebooks(folder: Path) -> tuple[list[Path], list[str]]:
    """Every notebook in a student's folder (sub-folders included, symlinks and checkpoints left out)."""
    notebooks, problems = [], []
    for path in sorted(folder.rglob("*.ipynb")):
        relative = path.relative_to(folder)
        if any(not visible(Path(part)) for part in relative.parts):
            continue
        if path.is_symlink() or any(p.is_symlink() for p in path.parents if p.is_relative_to(folder)):
            problems.append(f"{relative.as_posix()} is a symbolic link: not graded")
            continue
        if path.is_file():
            notebooks.append(path)
    return notebooks, problems


def choose_notebook(notebooks: list[Path], folder: Path, lesson_file: str) -> tuple[Path | None, str]:
    """The student's copy of a lesson: the file named like the lesson, else the one notebook whose name starts with
    the lesson number, else the only notebook; (None, why) when there is none or it is ambiguous."""
    if not notebooks:
        return None, "no notebook (.ipynb) in the folder"
    exact = [p for p in notebooks if p.name == lesson_file]
    if len(exact) == 1:
        return exact[0], ""
    number = lesson_file.split("_", 1)[0]
    numbered = [p for p in notebooks if p.name.startswith(number)]
    if len(numbered) == 1:
        return numbered[0], ""
    if len(notebooks) == 1:
        return notebooks[0], ""
    names = ", ".join(p.relative_to(folder).as_posix() for p in (exact or numbered or notebooks))
    return None, (f"{len(exact or numbered or notebooks)} notebooks ({names}) and none is clearly {lesson_file}: "
                  f"keep one, named {lesson_file}")
