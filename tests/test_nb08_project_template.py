"""Notebook 08 runs headlessly with its quick profile, records honest scores, and proves reproducibility.

The run does not depend on lesson 01 having run first: notebook_runner.quick_inputs trains the MNIST bundle that
lesson 08 serves, and every folder the lesson writes to is inside the test's own build folder."""
from pathlib import Path

from notebook_runner import LESSON_08_INPUTS, error_outputs, quick_inputs, run_quick

NAME = "08_project_template"
FALLBACK_DIR = LESSON_08_INPUTS / "mnist_fallback"  # lesson 08 writes here only if it cannot find its MNIST bundle
BUNDLE_DIR = LESSON_08_INPUTS / "breast_cancer_mlp"


def run_07() -> tuple[Path, dict]:
    """The lesson's quick run (shared with the other tests of the session), with the inputs quick_inputs prepares."""
    assert quick_inputs(NAME)["MNIST_FALLBACK_DIR"] == str(FALLBACK_DIR)
    assert quick_inputs(NAME)["BUNDLE_DIR"] == str(BUNDLE_DIR)
    return run_quick(NAME)


def test_quick_run_has_no_errors_and_records_results():
    path, results = run_07()
    assert error_outputs(path) == []
    expected = {"chance_level", "logreg_test_accuracy", "mlp_test_accuracy", "cv5_logreg_mean", "cv5_logreg_std",
                "cv10_mlp_mean", "cv10_mlp_std", "tuned_test_accuracy", "reload_identical", "reproducible",
                "requirements_ok", "api_matches_in_process", "api_accuracy"}
    assert expected <= set(results)


def test_baseline_and_network_beat_chance():
    _, results = run_07()
    assert 0.6 < results["chance_level"] < 0.66  # about 63 % of WDBC masses are benign
    assert results["logreg_test_accuracy"] > 0.9
    assert results["mlp_test_accuracy"] > results["chance_level"] + 0.1
    for k in (5, 10):
        assert results[f"cv{k}_logreg_mean"] > 0.9 and 0 < results[f"cv{k}_logreg_std"] < 0.1


def test_reproducibility_is_proven_in_the_notebook():
    _, results = run_07()
    assert results["reproducible"] is True
    assert results["reload_identical"] is True
    assert results["requirements_ok"] is True


def test_rest_api_answers_like_the_in_process_model():
    _, results = run_07()
    assert not FALLBACK_DIR.exists(), "lesson 08 served the bundle it was given, it did not train its own"
    assert results["api_matches_in_process"] is True
    assert results["api_accuracy"] >= 0.6  # a few real test digits; chance is 0.1


def test_saved_bundle_serves_raw_rows():
    from course_utils.bundle import load_bundle
    from sklearn.datasets import load_breast_cancer

    run_07()
    bundle = load_bundle(BUNDLE_DIR)
    data = load_breast_cancer()
    assert bundle.classes == ["benign", "malignant"]
    assert bundle.input_spec["features"] == list(data.feature_names)
    predicted_malignant = bundle.predict_proba(data.data).argmax(1).numpy() == 1
    assert (predicted_malignant == (data.target == 0)).mean() > 0.85
