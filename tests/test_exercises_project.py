"""Checkers of notebook 07: right answers pass, wrong ones get a hint (never the solution), None is 'not answered'."""
import numpy as np
import pytest

from course_utils.exercises import NOT_ANSWERED, ExerciseFailed
from course_utils.exercises.project import check_chance_level, check_minmax_scaler, check_pixel_body

IMAGE = (np.arange(784) % 256).astype(np.uint8).reshape(28, 28)


def test_chance_level(capsys) -> None:
    check_chance_level(1340 / 1500)
    assert "correct" in capsys.readouterr().out
    for wrong, hint in ((None, NOT_ANSWERED), (0.5, "balanced"), (160 / 1500, "rarer class"), (0.7, "most frequent")):
        with pytest.raises(ExerciseFailed, match=hint) as info:
            check_chance_level(wrong)
        assert "0.893" not in str(info.value)


def test_minmax_scaler(capsys) -> None:
    def right(train, other):
        return (other - train.min(0)) / (train.max(0) - train.min(0))

    def leaky(train, other):
        return (other - other.min(0)) / (other.max(0) - other.min(0))

    def broken(train, other):
        raise KeyError("oops")

    def todo(train, other):
        pass

    check_minmax_scaler(right)
    assert "correct" in capsys.readouterr().out
    for wrong, hint in ((None, NOT_ANSWERED), (todo, NOT_ANSWERED), (leaky, "leaks"), (broken, "raised KeyError"),
                        (lambda t, o: o / t.max(0), "min of train")):
        with pytest.raises(ExerciseFailed, match=hint):
            check_minmax_scaler(wrong)


def test_pixel_body(capsys) -> None:
    check_pixel_body({"pixels": (IMAGE / 255).tolist(), "value_range": "0-1"}, IMAGE)
    check_pixel_body({"pixels": (IMAGE.reshape(-1) / 255).tolist(), "value_range": "0-1"}, IMAGE)
    assert capsys.readouterr().out.count("correct") == 2
    cases = [
        (None, NOT_ANSWERED),
        ({"pixels": (IMAGE / 255).tolist()}, "value_range"),
        ({"pixels": IMAGE.tolist(), "value_range": "0-1"}, "divide by 255"),
        ({"pixels": (IMAGE / 255), "value_range": "0-1"}, "tolist"),
        ({"pixels": [0.0] * 100, "value_range": "0-1"}, "784 values"),
        ({"image": [], "value_range": "0-1"}, "\"pixels\""),
    ]
    for body, hint in cases:
        with pytest.raises(ExerciseFailed, match=hint):
            check_pixel_body(body, IMAGE)


def test_feature_experiment_checks_the_rerun_and_the_fold_by_fold_verdict(capsys):
    from types import SimpleNamespace

    import pytest

    from course_utils.compare import compare_paired
    from course_utils.exercises import ExerciseFailed
    from course_utils.exercises.project import check_feature_experiment

    mine, baseline = SimpleNamespace(scores=[0.90, 0.92, 0.91, 0.93, 0.90]), SimpleNamespace(scores=[0.96, 0.97, 0.95, 0.98, 0.96])
    truth = compare_paired(mine.scores, baseline.scores, "a", "b").verdict
    check_feature_experiment(mine, truth, baseline, lambda: mine)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed, match="fold by fold"):
        check_feature_experiment(mine, "level with" if truth != "level with" else "ahead of", baseline, lambda: mine)
    with pytest.raises(ExerciseFailed, match="keep your own result"):
        check_feature_experiment(mine, truth, baseline, lambda: baseline)
    with pytest.raises(ExerciseFailed, match="same k and seed"):
        check_feature_experiment(SimpleNamespace(scores=[0.9, 0.9]), truth, baseline, lambda: mine)
