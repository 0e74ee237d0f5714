"""Every lesson records where its data came from under one key with one vocabulary, in its committed full run."""
from __future__ import annotations

import pytest

from course_utils.instructor.notebooks import lesson_notebooks
from course_utils.results import DATA_SOURCES, read_results


@pytest.mark.parametrize("path", lesson_notebooks(), ids=lambda p: p.stem)
def test_committed_run_records_data_source_and_description(path):
    results = read_results(path)
    assert results.get("data_source") in DATA_SOURCES, f"{path.name} records no data_source from {DATA_SOURCES}"
    assert len(str(results.get("data_description", ""))) > 10
    assert "/work/" not in str(results["data_description"]) and "/root/" not in str(results["data_description"])


@pytest.mark.parametrize("path", lesson_notebooks(), ids=lambda p: p.stem)
def test_quick_run_records_data_source_and_description(path):
    from notebook_runner import run_quick

    _, results = run_quick(path.stem)  # cached: the lesson's own test module ran it already
    assert results.get("data_source") in DATA_SOURCES
    assert len(str(results.get("data_description", ""))) > 10
