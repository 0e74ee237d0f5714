import nbformat
import pytest
from nbclient import NotebookClient

from course_utils.results import RESULT_MIME, read_results, record


def test_recorded_results_are_read_back_from_an_executed_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from course_utils.results import record\n"
        "record('test_accuracy', 0.981)\nrecord('curve', [1, 2])\nrecord('test_accuracy', 0.99)")]
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    path = tmp_path / "run.ipynb"
    nbformat.write(nb, path)
    assert read_results(path) == {"test_accuracy": 0.99, "curve": [1, 2]}
    texts = [o["data"]["text/plain"] for o in nb.cells[0].outputs]
    assert "recorded test_accuracy = 0.9810" in texts


def test_outputs_carry_their_own_mime_type(capsys):
    record("f2", 0.5)
    assert "recorded f2 = 0.5000" in capsys.readouterr().out
    assert RESULT_MIME.startswith("application/vnd.")


@pytest.mark.parametrize("name", ["", "has space", "1st"])
def test_bad_names_are_rejected(name):
    with pytest.raises(ValueError, match="name"):
        record(name, 1)


def test_non_finite_and_unserialisable_values_are_rejected():
    with pytest.raises(ValueError, match="finite"):
        record("loss", float("nan"))
    with pytest.raises(TypeError, match="JSON"):
        record("thing", object())


def test_missing_notebook_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_results(tmp_path / "absent.ipynb")


def test_data_source_uses_one_vocabulary_and_a_description(capsys):
    import pytest

    from course_utils.results import DATA_SOURCES, record_data_source

    record_data_source("real subset", "Planet: 1,000 of the 40,479 labelled chips")
    shown = capsys.readouterr().out
    assert "recorded data_source = 'real subset'" in shown and "40,479" in shown
    with pytest.raises(ValueError, match="one of"):
        record_data_source("full", "MNIST")
    with pytest.raises(ValueError, match="describe"):
        record_data_source("real", " ")
    assert DATA_SOURCES == ("real", "real subset", "downloaded", "offline fallback", "synthetic")
