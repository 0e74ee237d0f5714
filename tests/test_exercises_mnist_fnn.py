import pytest
from torch import nn

from course_utils.exercises import ExerciseFailed
from course_utils.exercises.mnist_fnn import check_hidden_model, check_perceptron, check_team_hours


def test_right_answers_pass(capsys):
    check_team_hours(12_000 * 8 / 3600 / 3)
    check_perceptron(lambda x, w, t: int(sum(a * b for a, b in zip(x, w)) >= t))
    check_hidden_model(nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)))
    assert capsys.readouterr().out.count("correct") == 3


@pytest.mark.parametrize("answer, hint", [(None, "Not answered"), (12_000 * 8 / 3600, "whole team"),
                                          (12_000 * 8 / 3, "seconds"), (5, "3,600")])
def test_wrong_hours_get_a_hint_not_the_answer(answer, hint):
    with pytest.raises(ExerciseFailed, match=hint) as info:
        check_team_hours(answer)
    assert "8.89" not in str(info.value)


def test_unimplemented_or_wrong_perceptron():
    def unimplemented(inputs, weights, threshold):
        pass
    with pytest.raises(ExerciseFailed, match="Not answered"):
        check_perceptron(unimplemented)
    with pytest.raises(ExerciseFailed, match="threshold"):
        check_perceptron(lambda x, w, t: int(sum(a * b for a, b in zip(x, w)) > t))


def test_wrong_models_get_specific_hints():
    with pytest.raises(ExerciseFailed, match="Not answered"):
        check_hidden_model(None)
    with pytest.raises(ExerciseFailed, match="784 inputs"):
        check_hidden_model(nn.Linear(100, 10))
    with pytest.raises(ExerciseFailed, match="256, 128, 10"):
        check_hidden_model(nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10)))
    with pytest.raises(ExerciseFailed, match="ReLU"):
        check_hidden_model(nn.Sequential(nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10)))


def _trained_small_net_and_data():
    import torch
    from torch import nn

    torch.manual_seed(0)
    x = torch.randn(400, 784)
    y = (x @ torch.randn(784, 10)).argmax(1)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(60):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    baseline = nn.Sequential(nn.Linear(784, 10))
    return model, baseline, x, y


def test_small_net_experiment_accepts_only_the_rule_s_verdict_on_the_student_s_own_model(capsys):
    import pytest

    from course_utils.compare import compare_paired
    from course_utils.exercises import ExerciseFailed
    from course_utils.exercises.mnist_fnn import check_small_net_experiment
    from course_utils.train import predict

    model, baseline, x, y = _trained_small_net_and_data()
    correct = (predict(model, x).argmax(1) == y).numpy()
    truth = compare_paired(correct, (predict(baseline, x).argmax(1) == y).numpy(), "a", "b").verdict
    check_small_net_experiment(model, float(correct.mean()), truth, baseline, x, y)
    assert "correct" in capsys.readouterr().out
    wrong = next(v for v in ("ahead of", "level with", "behind") if v != truth)
    with pytest.raises(ExerciseFailed, match="compare_paired"):
        check_small_net_experiment(model, float(correct.mean()), wrong, baseline, x, y)
    with pytest.raises(ExerciseFailed, match="not what your model scores"):
        check_small_net_experiment(model, 0.99, truth, baseline, x, y)
    with pytest.raises(ExerciseFailed, match="256 → 128"):
        check_small_net_experiment(baseline, 0.5, truth, baseline, x, y)
