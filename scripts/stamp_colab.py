#!/usr/bin/env python3
"""Write the "Open in Colab" badge into each notebook's title cell and the Colab setup cell as its first code cell.

    python scripts/stamp_colab.py              # every notebooks/NN_*.ipynb
    python scripts/stamp_colab.py 02 04        # chosen notebooks (name, number prefix or path)
    python scripts/stamp_colab.py --check      # change nothing; exit 1 if a notebook needs stamping

Idempotent: a notebook that is already stamped is left byte for byte as it is. Badge and setup cell come from
course_utils.colab, the one place that names the repository.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from course_utils.colab import SETUP_MARKER, badge_markdown, setup_cell_source  # noqa: E402

NOTEBOOK_DIR = REPO / "notebooks"
ANY_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


class StampError(ValueError):
    """The notebook cannot be stamped (no title cell)."""


def _source(cell: dict) -> str:
    """A cell's source as one string."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def with_badge(markdown: str, badge: str) -> str:
    """Return the title cell with exactly this badge: an old badge is replaced, else it goes under the title line."""
    if ANY_BADGE.search(markdown):
        return ANY_BADGE.sub(lambda _: badge, markdown, count=1)
    first, _, rest = markdown.partition("\n")
    if first.startswith("#"):
        return f"{first}\n\n{badge}\n\n{rest.lstrip(chr(10))}".rstrip("\n")
    return f"{badge}\n\n{markdown}"


def stamp(notebook: dict, name: str) -> dict:
    """Return a copy of the notebook with the badge in its title cell and the setup cell as first code cell."""
    nb = copy.deepcopy(notebook)
    cells = nb.get("cells", [])
    if not cells or cells[0].get("cell_type") != "markdown":
        raise StampError(f"{name}: the first cell must be the markdown title cell ('# NN · Title'); add it first.")
    badge = badge_markdown(name)
    title = _source(cells[0])
    if badge not in title or len(ANY_BADGE.findall(title)) != 1:
        cells[0]["source"] = with_badge(title, badge)
    setup = setup_cell_source()
    code_positions = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    first_code = cells[code_positions[0]] if code_positions else None
    if first_code is not None and _source(first_code).startswith(SETUP_MARKER):
        if _source(first_code) != setup:
            first_code["source"] = setup
    else:
        cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": setup}
        if (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5):
            cell["id"] = uuid.uuid4().hex[:8]
        cells.insert(code_positions[0] if code_positions else 1, cell)
    return nb


def stamp_file(path: Path, check: bool = False) -> bool:
    """Stamp one notebook file in place (unless check); return True when it needed a change."""
    original = json.loads(path.read_text(encoding="utf-8"))
    stamped = stamp(original, path.name)
    if stamped == original:
        return False
    if not check:
        path.write_text(json.dumps(stamped, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebook names, number prefixes or paths (default: all)")
    parser.add_argument("--check", action="store_true", help="only report notebooks that need stamping")
    parser.add_argument("--notebook-dir", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from course_utils.instructor.notebooks import find_notebook, lesson_notebooks
    from course_utils.instructor.values import RequestError

    try:
        paths = ([find_notebook(n, args.notebook_dir) for n in args.notebooks] if args.notebooks
                 else lesson_notebooks(args.notebook_dir))
        changed = [p for p in paths if stamp_file(p, args.check)]
    except (RequestError, StampError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"{'needs stamping' if args.check else 'stamped'}: {path.name}")
    if not changed:
        print(f"{len(paths)} notebook(s) already carry the badge and the setup cell.")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
