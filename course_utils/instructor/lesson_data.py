"""Which data set each lesson needs, whether a run used it or a stand-in, and what to do to get the real one.

A lesson records where its data came from (`course_utils.results.record_data_source`). A lesson built on a real data
set that recorded "offline fallback" or "synthetic" ran on a stand-in: its numbers are not the ones the lesson
discusses. Lesson 02 runs on synthetic points by design, and lesson 08 on data scikit-learn ships, so neither ever
runs on a stand-in. The course run's banner (course_summary) and `kit.py doctor` read this table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STAND_INS = ("offline fallback", "synthetic")


@dataclass(frozen=True)
class Dataset:
    """A data set some lessons need: its name, its folder under the data root, and how a student gets it."""

    name: str
    folder: str
    get_it: str


DATASETS = {
    "mnist": Dataset("MNIST", "MNIST/raw", "connect to the internet (the lesson downloads MNIST into the data root and "
                     "checks it) or put the four MNIST IDX files into <data root>/MNIST/raw/"),
    "planet": Dataset("Planet", "planet", "download the chips with your Kaggle account (README, section 'Planet "
                      "satellite chips (lesson 05)') into <data root>/planet/"),
    "nsmc": Dataset("NSMC", "nsmc", "connect to the internet (the lesson downloads NSMC from github.com/e9t/nsmc and "
                    "checks it) or put ratings_train.txt and ratings_test.txt into <data root>/nsmc/"),
}
LESSON_DATASETS = {"01": "mnist", "03": "mnist", "04": "mnist", "05": "planet", "06": "nsmc", "07": "nsmc"}
BY_DESIGN = {"02": "synthetic points and cost functions, by design",
             "08": "scikit-learn's breast-cancer data set, shipped with scikit-learn"}


def lesson_number(notebook: str) -> str:
    """The lesson's number prefix ('01' for '01_mnist_fnn')."""
    return notebook.split("_", 1)[0]


def lesson_dataset(notebook: str) -> Dataset | None:
    """The real data set a lesson is built on; None for a lesson that needs none (02, 08) or an unknown notebook."""
    key = LESSON_DATASETS.get(lesson_number(notebook))
    return DATASETS[key] if key else None


def ran_on_stand_in(notebook: str, results: dict[str, Any]) -> bool:
    """True when a lesson built on a real data set recorded that it ran on an offline fallback or synthetic data."""
    return lesson_dataset(notebook) is not None and results.get("data_source") in STAND_INS
