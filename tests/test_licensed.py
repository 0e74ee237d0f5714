"""Figures of real Planet chips are never redistributed (course_utils/instructor/licensed.py): the withholding itself,
its use by `kit.py regenerate` (course_run --in-place) and by the Korean edition's build, and the committed notebooks
of both editions, whose cells that draw chips are tagged and hold no chip image from a real-data run."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from course_utils.instructor import course_run, translation
from course_utils.instructor.lesson_data import lesson_dataset
from course_utils.instructor.licensed import (LICENSED_TAG, NOTICE, WIDGET_STATE, WIDGET_VIEW, is_licensed,
                                              ran_on_licensed_data, shows_image, withhold_licensed_figures)
from course_utils.results import RESULT_MIME

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted(
    (REPO / "notebooks" / "ko").glob("[0-9][0-9]_*.ipynb"))
PNG = {"image/png": "iVBORw0KGgo=\n", "text/plain": ["<Figure size 640x480 with 1 Axes>"]}
# What draws a chip in lesson 05: the chip gallery helper, the prediction plot, or a raw imshow of image tensors.
DRAWS_CHIPS = re.compile(r"\bshow_chips\(|\bplot_chip_prediction\(|\.imshow\(")


def figure(**data) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {**PNG, **data}}


def code(source: str, outputs: list[dict], tags: list[str] | None = None) -> dict:
    return {"cell_type": "code", "execution_count": 1, "id": f"c{abs(hash(source)) % 10**6}",
            "metadata": {"tags": tags or []}, "outputs": outputs, "source": source}


def recorded(name: str, value: str) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {RESULT_MIME: {"name": name, "value": value}, "text/plain": [f"recorded {name} = {value!r}"]}}


def run(data_source: str | None) -> dict:
    """An executed lesson: a tagged gallery, a tagged widget whose Output holds a chip, an untagged plot, and the
    recorded data source (none when the run stopped before recording it)."""
    state = {"box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_slider", "IPY_MODEL_out"]}},
             "slider": {"model_name": "IntSliderModel", "state": {"value": 0}},
             "out": {"model_name": "OutputModel", "state": {"outputs": [figure()]}},
             "other": {"model_name": "OutputModel", "state": {"outputs": [figure()]}}}  # an untagged cell's widget
    last = [recorded("data_source", data_source)] if data_source else []
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"widgets": {WIDGET_STATE: {"state": state}}}, "cells": [
        code("show_chips(chips)", [figure(), {"output_type": "stream", "name": "stdout", "text": "17 tags\n"}],
             [LICENSED_TAG]),
        code("display(box)", [{"output_type": "display_data", "metadata": {},
                               "data": {WIDGET_VIEW: {"model_id": "box"}, "text/plain": ["VBox()"]}}], [LICENSED_TAG]),
        code("plt.bar(tags, counts)", [figure()]),
        code("display(other)", [{"output_type": "display_data", "metadata": {},
                                 "data": {WIDGET_VIEW: {"model_id": "other"}, "text/plain": ["Output()"]}}]),
        code("record_data_source(...)", last),
    ]}


def images(notebook: dict) -> list[str]:
    """Where the notebook holds an image: 'cell N' or 'widget ID'."""
    found = [f"cell {i}" for i, cell in enumerate(notebook["cells"]) for o in cell.get("outputs", []) if shows_image(o)]
    state = notebook["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return found + [f"widget {key}" for key, model in state.items()
                    for o in model.get("state", {}).get("outputs", []) if shows_image(o)]


def texts(cell: dict) -> list[str]:
    return ["".join(o.get("data", {}).get("text/plain", o.get("text", ""))) for o in cell["outputs"]]


@pytest.mark.parametrize("source", ["real", "real subset", None])
def test_a_real_data_runs_tagged_figures_become_a_notice_and_nothing_else_changes(source):
    notebook = run(source)
    before = copy.deepcopy(notebook)
    assert withhold_licensed_figures(notebook) == 2  # the gallery and the chip inside the tagged widget
    assert images(notebook) == ["cell 2", "widget other"]  # the untagged plot and the untagged cell's widget stay
    assert texts(notebook["cells"][0]) == [NOTICE["en"], "17 tags\n"]  # the text output after the figure stays
    assert notebook["cells"][1]["outputs"] == before["cells"][1]["outputs"]  # the widget itself stays
    out = notebook["metadata"]["widgets"][WIDGET_STATE]["state"]["out"]["state"]["outputs"]
    assert ["".join(o["data"]["text/plain"]) for o in out] == [NOTICE["en"]]
    assert notebook["cells"][2:] == before["cells"][2:]


@pytest.mark.parametrize("source", ["synthetic", "offline fallback"])
def test_a_stand_in_runs_figures_are_kept(source):
    notebook = run(source)
    before = copy.deepcopy(notebook)
    assert withhold_licensed_figures(notebook) == 0 and notebook == before


def test_withholding_again_in_korean_rewrites_the_notice_in_korean_only():
    notebook = run("real")
    withhold_licensed_figures(notebook)
    english = copy.deepcopy(notebook)
    assert withhold_licensed_figures(notebook) == 0 and notebook == english  # idempotent
    assert withhold_licensed_figures(notebook, "ko") == 0
    assert texts(notebook["cells"][0]) == [NOTICE["ko"], "17 tags\n"]
    with pytest.raises(ValueError, match="No withheld-figure notice in language 'fr'"):
        withhold_licensed_figures(notebook, "fr")


def test_the_notice_names_a_readme_section_that_exists():
    headings = {line.lstrip("#").strip() for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("#")}
    for language, notice in NOTICE.items():
        section = re.search(r"'([^']+)'", notice).group(1)
        assert section in headings, (language, section)


def test_regenerating_in_place_withholds_before_the_notebook_is_replaced(tmp_path, monkeypatch):
    source = tmp_path / "05_chips.ipynb"
    source.write_text(json.dumps(run(None)))
    monkeypatch.setattr(course_run, "NOTEBOOK_DIR", tmp_path)
    monkeypatch.setattr(course_run, "REGENERATE_DIR", tmp_path / "scratch")
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)

    def executed(runs, **options):  # stands in for papermill: the run drew real chips
        for one in runs:
            Path(one.output).parent.mkdir(parents=True, exist_ok=True)
            Path(one.output).write_text(json.dumps(run("real")))
            one.status = "ok"
        return runs

    monkeypatch.setattr(course_run, "run_all", executed)
    assert course_run.main(["05_chips", "--in-place"]) == 0
    assert images(json.loads(source.read_text())) == ["cell 2", "widget other"]


def test_the_korean_build_withholds_in_korean(tmp_path, monkeypatch):
    english = tmp_path / "05_chips.ipynb"
    notebook = run("real")
    notebook["cells"].insert(0, {"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# 05 · Chips"})
    english.write_text(json.dumps(notebook))
    monkeypatch.setattr(translation, "TRANSLATION_DIR", tmp_path / "translations")
    translation.update_translation(english, {"title": "# 05 · 칩"})
    built = translation.build_edition(english)
    assert images(built) == ["cell 4", "widget other"]  # the language cell comes after the first code cell
    assert texts(built["cells"][1]) == [NOTICE["ko"], "17 tags\n"]


# --- the committed notebooks ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(REPO / "notebooks")) for p in NOTEBOOKS])
def test_no_committed_notebook_holds_an_image_of_real_licensed_data(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    tagged = [i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code" and is_licensed(cell)]
    dataset = lesson_dataset(path.stem)
    if dataset is None or dataset.name != "Planet":
        assert tagged == [], f"cells {tagged} are tagged {LICENSED_TAG!r}, but their notice speaks of Planet's chips"
        return
    drawing = [i for i, cell in enumerate(notebook["cells"])
               if cell["cell_type"] == "code" and DRAWS_CHIPS.search("".join(cell["source"]))]
    assert drawing and set(drawing) <= set(tagged), f"cells {sorted(set(drawing) - set(tagged))} draw chips untagged"
    if ran_on_licensed_data(notebook):
        withheld = copy.deepcopy(notebook)
        withhold_licensed_figures(withheld, notebook["metadata"].get("course_kit", {}).get("edition", {})
                                  .get("language", "en"))
        assert withheld == notebook, (f"{path.name}: tagged cells still show real chips; run `python3 scripts/kit.py "
                                      "regenerate` or withhold them (course_utils.instructor.licensed)")
