"""Cells marked for nbval (`# NBVAL_CHECK_OUTPUT` in the source, or the `nbval-check-output` tag) reproduce their
committed output in every quick run of the lesson, compared by nbval's rules (its lax mode: only marked cells).

The quick runs are the session's two (notebook_runner.run_quick and run_quick_again, which the reproducibility test
compares too), so this check costs no execution of its own. The comparison is nbval 0.11's
(`IPyNbCell.compare_outputs`): streams coalesced with nbval's `coalesce_streams`, then every output field and MIME
type except those nbval skips (metadata, execution counts, PNG/JPEG images, widget model ids), in order per key.
"""
from __future__ import annotations

import copy
import difflib
from collections import defaultdict

import nbformat
import pytest

from notebook_runner import NOTEBOOK_DIR, checks_output, nbval_options, notebook_path, run_quick, run_quick_again

NOTEBOOKS = sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
# nbval 0.11's IPyNbFile.skip_compare without --nbdime: what nbval never compares.
SKIP_COMPARE = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")


def comparable(outputs: list) -> dict[str, list]:
    """A cell's outputs as nbval compares them: {field or MIME type: [values in output order]}."""
    from nbval.plugin import coalesce_streams, transform_streams_for_comparison

    outputs = [nbformat.from_dict(copy.deepcopy(o)) for o in outputs]  # coalesce_streams edits what it merges
    flat: dict[str, list] = defaultdict(list)
    for output in transform_streams_for_comparison(coalesce_streams(outputs)):
        for key, value in output.items():
            if key == "data":
                for mime, content in value.items():
                    if mime not in SKIP_COMPARE:
                        flat[mime].append(content)
            elif key not in SKIP_COMPARE:
                flat[key].append(value)
    return dict(flat)


def output_differences(committed: list, run: list) -> list[str]:
    """What differs between a cell's committed and newly computed outputs, as readable diffs (empty: they match)."""
    want, got = comparable(committed), comparable(run)
    differences = []
    for key in sorted(want.keys() | got.keys()):
        if want.get(key) != got.get(key):
            left = "\n".join(map(str, want.get(key, ["<no such output>"]))).splitlines()
            right = "\n".join(map(str, got.get(key, ["<no such output>"]))).splitlines()
            diff = difflib.unified_diff(left, right, "committed", "this run", lineterm="", n=1)
            differences.append(f"{key}:\n" + "\n".join(diff))
    return differences


def test_comparison_follows_nbval():
    """Streams split over several outputs count as one; images and metadata are ignored; any text change is not."""
    printed = [{"output_type": "stream", "name": "stdout", "text": "a = 1\nb = 2\n"},
               {"output_type": "display_data", "data": {"text/plain": "<Figure>", "image/png": "AAAA"}, "metadata": {}}]
    split = [{"output_type": "stream", "name": "stdout", "text": "a = 1\n"},
             {"output_type": "stream", "name": "stdout", "text": "b = 2\n"},
             {"output_type": "display_data", "data": {"text/plain": "<Figure>", "image/png": "BBBB"},
              "metadata": {"width": 3}}]
    assert output_differences(printed, split) == []
    changed = copy.deepcopy(printed)
    changed[0]["text"] = "a = 1\nb = 3\n"
    assert "-b = 2" in output_differences(printed, changed)[0] and "+b = 3" in output_differences(printed, changed)[0]
    assert output_differences(printed, printed[:1]) == ["text/plain:\n--- committed\n+++ this run\n@@ -1 +1 @@\n"
                                                        "-<Figure>\n+<no such output>"]


@pytest.mark.parametrize("cell, checked", [
    ({"cell_type": "code", "source": "x = 1\n# NBVAL_CHECK_OUTPUT\nprint(x)", "metadata": {}}, True),
    ({"cell_type": "code", "source": "print(1)", "metadata": {"tags": ["nbval-check-output"]}}, True),
    ({"cell_type": "code", "source": "# NBVAL_IGNORE_OUTPUT\nprint(1)", "metadata": {"tags": ["nbval-check-output"]}},
     False),  # as in nbval, the comment wins over the tag
    ({"cell_type": "code", "source": "print('NBVAL_CHECK_OUTPUT')", "metadata": {}}, False),  # not a comment
    ({"cell_type": "markdown", "source": "# NBVAL_CHECK_OUTPUT", "metadata": {}}, False),
])
def test_marked_cells_are_found_by_comment_or_tag(cell, checked):
    assert checks_output(cell) is checked


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_marked_outputs_reproduce_their_committed_output(name):
    committed = nbformat.read(notebook_path(name), as_version=4)
    marked = [c for c in committed.cells if checks_output(c)]
    assert marked, f"{name} marks no deterministic cell with # NBVAL_CHECK_OUTPUT or the nbval-check-output tag"
    unsupported = [c.id for c in committed.cells if c.cell_type == "code"
                   and {"skip", "check_exception"} & {k for k, v in nbval_options(c).items() if v}]
    assert not unsupported, f"{name}: cells {unsupported} use NBVAL_SKIP or NBVAL_RAISES_EXCEPTION, which a papermill " \
                            "run does not honour; remove the marker or run those cells outside the lesson"
    unrun = [c.id for c in marked if c.execution_count is None]
    assert not unrun, f"{name}: marked cells {unrun} have no committed output to compare with: regenerate the lesson"
    failures = []
    for label, (path, _) in (("first quick run", run_quick(name)), ("second quick run", run_quick_again(name))):
        executed = {c.id: c for c in nbformat.read(path, as_version=4).cells}
        for cell in marked:
            assert cell.id in executed, f"{name}: cell {cell.id} is missing from the executed copy {path}"
            for difference in output_differences(cell.outputs, executed[cell.id].outputs):
                failures.append(f"{name}, {label}, cell {cell.id} ({cell.source.splitlines()[0][:60]!r}): {difference}")
    assert not failures, "\n\n".join(failures)
