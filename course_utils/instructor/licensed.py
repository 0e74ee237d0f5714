"""Figures of licensed data that the kit may not redistribute: Planet's satellite chips (Kaggle competition data).

A code cell whose figures show such data carries the cell tag `licensed-data`. When the run that produced a notebook's
outputs used the real data (its recorded `data_source` is not a stand-in such as "synthetic"), every image those
cells output — also inside a widget's saved Output — is replaced by a short text saying why it is missing and how to
see it. `kit.py regenerate` does this before a notebook is committed (course_run), the translation build for the
Korean edition, and the site build for every page; a run on synthetic stand-in tiles keeps its figures.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..results import read_results
from .lesson_data import STAND_INS

LICENSED_TAG = "licensed-data"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WITHHELD_KEY = "withheld"  # output metadata course_kit.withheld marks a notice written here
NOTICE = {  # short lines: a text output is shown unwrapped, in Jupyter and on the website
    "en": ("[Figure not included: it shows real Planet satellite chips (Kaggle competition data),\n"
           "which the course kit may not redistribute. To see it, run this lesson with the chips\n"
           "downloaded from Kaggle: README, section 'Planet satellite chips (lesson 05)'.]"),
    "ko": ("[그림을 싣지 않았습니다: 이 그림은 실제 Planet 위성 칩(Kaggle 대회 데이터)을\n"
           "보여 주는데, 강의 키트는 이 칩을 재배포할 수 없습니다. 그림을 보려면 Kaggle에서\n"
           "칩을 내려받아 이 강의를 실행하세요: README의 'Planet satellite chips (lesson 05)' 절.]"),
}


def ran_on_licensed_data(notebook: dict) -> bool:
    """Whether the notebook's outputs may show licensed data: its run did not record a stand-in data source (a run
    that recorded none, e.g. one that stopped early, counts as real, since nothing says otherwise)."""
    return read_results(notebook).get("data_source") not in STAND_INS


def is_licensed(cell: dict) -> bool:
    """Whether the cell carries the licensed-data tag."""
    return LICENSED_TAG in cell.get("metadata", {}).get("tags", [])


def shows_image(output: dict) -> bool:
    """Whether an output holds an image (image/png, image/jpeg, any image/* type)."""
    return any(kind.startswith("image/") for kind in output.get("data", {}))


def is_notice(output: dict) -> bool:
    """Whether an output is a withheld-figure notice written here."""
    return WITHHELD_KEY in output.get("metadata", {}).get("course_kit", {})


def notice_output(language: str) -> dict:
    """The text output that stands in for a withheld figure, in the notebook's language."""
    if language not in NOTICE:
        raise ValueError(f"No withheld-figure notice in language {language!r}; add one to NOTICE in {__name__} "
                         f"(known: {', '.join(NOTICE)}).")
    return {"data": {"text/plain": NOTICE[language].splitlines(keepends=True)},
            "metadata": {"course_kit": {WITHHELD_KEY: LICENSED_TAG}}, "output_type": "display_data"}


def _withhold(outputs: list[dict], language: str) -> int:
    """Replace each image output and each earlier notice in outputs by the notice in language; the images replaced."""
    replaced = 0
    for index, output in enumerate(outputs):
        if shows_image(output) or is_notice(output):
            replaced += shows_image(output)
            outputs[index] = notice_output(language)
    return replaced


def _widget_models(model_id: str, state: dict[str, dict]) -> list[dict]:
    """The saved widget model and every model under it (a box's children, recursively)."""
    model = state.get(model_id)
    if model is None:
        return []
    found = [model]
    for child in model.get("state", {}).get("children", []):
        found += _widget_models(str(child).removeprefix("IPY_MODEL_"), state)
    return found


def withhold_licensed_figures(notebook: dict, language: str = "en") -> int:
    """Replace, in place, every image that a licensed-data cell output (directly, or in the saved Output widgets its
    widgets hold) by the notice in language, when the run used the real data; return how many images were replaced.
    Notices already there are rewritten in language, so a Korean edition built from a withheld English notebook says
    it in Korean."""
    if not ran_on_licensed_data(notebook):
        return 0
    state: dict[str, Any] = notebook.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code" or not is_licensed(cell):
            continue
        replaced += _withhold(cell.get("outputs", []), language)
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            for model in _widget_models(str(view.get("model_id", "")), state) if view else []:
                if model.get("model_name") == "OutputModel":
                    replaced += _withhold(model.get("state", {}).get("outputs", []), language)
    return replaced


def withhold_licensed_figures_in_file(path: Path, language: str = "en") -> int:
    """withhold_licensed_figures on a notebook file, rewritten in the kit's format when an image was replaced."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    replaced = withhold_licensed_figures(notebook, language)
    if replaced:
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return replaced
