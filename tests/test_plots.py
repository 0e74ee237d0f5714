import matplotlib.pyplot as plt
import numpy as np
import torch

from course_utils.labeling import labeling_cost
from course_utils.plots import confusion_counts, draw_working_process, plot_confusion_matrix, plot_history, show_images
from course_utils.train import History

import pytest


def test_confusion_counts_rows_are_true_classes():
    m = confusion_counts([0, 0, 1, 2], [0, 1, 1, 2], 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert m.dtype == np.int64


def hand_counted_confusion(y_true, y_pred, num_classes):
    """The kit's former definition: one np.add.at per (true, predicted) pair."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    return matrix


def test_confusion_counts_matches_the_hand_counted_definition_on_random_labels():
    rng = np.random.default_rng(0)
    for case in range(200):
        num_classes = int(rng.integers(1, 12))
        n = int(rng.integers(1, 60))
        present = int(rng.integers(1, num_classes + 1))  # often only a few classes occur: empty rows and columns
        y_true = rng.integers(0, present, n)  # few values, many repeats: ties in every cell
        y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, num_classes, n))
        expected = hand_counted_confusion(y_true, y_pred, num_classes)
        got = confusion_counts(y_true, y_pred, num_classes)
        assert got.dtype == np.int64 and got.shape == (num_classes, num_classes)
        assert np.array_equal(got, expected), f"case {case}"
        assert np.array_equal(confusion_counts(torch.from_numpy(y_true), torch.from_numpy(y_pred), num_classes), expected)
    assert confusion_counts([], [], 3).tolist() == [[0] * 3] * 3


def test_confusion_counts_refuses_classes_outside_the_range():
    with pytest.raises(ValueError, match=r"y_pred holds class 3, outside 0..2"):
        confusion_counts([0, 1], [0, 3], 3)
    with pytest.raises(ValueError, match=r"y_true holds class -1"):
        confusion_counts([-1, 1], [0, 1], 3)


def test_plot_history_marks_best_epoch():
    h = History(train_loss=[1, 0.5, 0.3], val_loss=[1, 0.6, 0.7], train_metric=[0.5, 0.8, 0.9],
                val_metric=[0.5, 0.7, 0.7], epoch_seconds=[1, 1, 1], best_epoch=2)
    fig = plot_history(h)
    assert len(fig.axes) == 2
    assert any("best epoch (2)" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    plt.close(fig)


def test_show_images_titles_wrong_predictions_in_red():
    fig = show_images(torch.zeros(3, 28, 28), [1, 2, 3], [1, 5, 3], ncols=3)
    titles = [ax.title for ax in fig.axes[:3]]
    assert titles[1].get_text() == "2 / pred 5" and titles[1].get_color() == "crimson"
    assert titles[0].get_color() == "black"
    plt.close(fig)


def test_confusion_matrix_and_process_figures_draw():
    fig = plot_confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), ["a", "b"])
    assert fig.axes[0].get_xlabel() == "predicted"
    plt.close(fig)
    fig = draw_working_process()
    assert sum("Deploy" in t.get_text() for t in fig.axes[0].texts) == 1
    plt.close(fig)


def test_labeling_cost_reproduces_the_course_numbers():
    cost = labeling_cost(70_000, 5, people=5, won_per_sample=50)
    assert round(cost.total_hours, 2) == 97.22
    assert round(cost.hours_per_person, 2) == 19.44
    assert cost.outsourcing_won == 3_500_000


def test_labeling_cost_rejects_nonsense():
    with pytest.raises(ValueError, match="At least one person"):
        labeling_cost(10, 1, people=0)
    with pytest.raises(ValueError, match="negative"):
        labeling_cost(-5, 1)


def test_korean_font_draws_hangul_without_missing_glyph_warnings(recwarn):
    from course_utils.plots import use_korean_font

    assert use_korean_font() is True  # koreanize-matplotlib is pinned in requirements.txt
    fig, ax = plt.subplots()
    ax.set_title("영화 정말 재미있어요")
    fig.canvas.draw()
    assert not [w for w in recwarn if "missing from font" in str(w.message)]
    plt.close(fig)
