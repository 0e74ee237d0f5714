"""Notebook 07 runs headlessly with its quick profile, records honest scores, and proves reproducibility."""
from notebook_runner import error_outputs, run_quick

NAME = "07_project_template"


def test_quick_run_has_no_errors_and_records_results():
    path, results = run_quick(NAME)
    assert error_outputs(path) == []
    expected = {"chance_level", "logreg_test_accuracy", "mlp_test_accuracy", "cv5_logreg_mean", "cv5_logreg_std",
                "cv10_mlp_mean", "cv10_mlp_std", "tuned_test_accuracy", "reload_identical", "reproducible",
                "requirements_ok", "api_matches_in_process", "api_accuracy"}
    assert expected <= set(results)


def test_baseline_and_network_beat_chance():
    _, results = run_quick(NAME)
    assert 0.6 < results["chance_level"] < 0.66  # about 63 % of WDBC masses are benign
    assert results["logreg_test_accuracy"] > 0.9
    assert results["mlp_test_accuracy"] > results["chance_level"] + 0.1
    for k in (5, 10):
        assert results[f"cv{k}_logreg_mean"] > 0.9 and 0 < results[f"cv{k}_logreg_std"] < 0.1


def test_reproducibility_is_proven_in_the_notebook():
    _, results = run_quick(NAME)
    assert results["reproducible"] is True
    assert results["reload_identical"] is True
    assert results["requirements_ok"] is True


def test_rest_api_answers_like_the_in_process_model():
    _, results = run_quick(NAME)
    assert results["api_matches_in_process"] is True
    assert results["api_accuracy"] >= 0.6  # a few real test digits; chance is 0.1


def test_saved_bundle_serves_raw_rows():
    from course_utils.bundle import load_bundle
    from notebook_runner import NOTEBOOK_DIR
    from sklearn.datasets import load_breast_cancer

    run_quick(NAME)
    bundle = load_bundle(NOTEBOOK_DIR / "artifacts" / "breast_cancer_mlp")
    data = load_breast_cancer()
    assert bundle.classes == ["benign", "malignant"]
    assert bundle.input_spec["features"] == list(data.feature_names)
    predicted_malignant = bundle.predict_proba(data.data).argmax(1).numpy() == 1
    assert (predicted_malignant == (data.target == 0)).mean() > 0.85
