"""The course's figures: learning curves, image grids and confusion matrices."""
from __future__ import annotations

import warnings
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

from .i18n import label, language, t
from .train import History

FIGURE_DPI = 80


def use_course_style() -> None:
    """Set a clean plot style and a modest DPI so figures stay light in committed notebooks."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams.update({"figure.dpi": FIGURE_DPI, "savefig.dpi": FIGURE_DPI, "figure.figsize": (7, 4)})
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:
        pass
    if language() == "ko":  # the theme resets the font family: keep Hangul drawable in the Korean edition
        use_korean_font()


def plot_history(history: History, title: str = "Learning curves") -> plt.Figure:
    """Plot loss and metric per epoch for both splits, marking the best validation epoch (labels in the student's
    language)."""
    epochs = np.arange(1, history.epochs + 1)
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_loss.plot(epochs, history.train_loss, "o-", label=t("training"))
    ax_loss.plot(epochs, history.val_loss, "s-", label=t("validation"))
    ax_metric.plot(epochs, history.train_metric, "o-", label=t("training"))
    ax_metric.plot(epochs, history.val_metric, "s-", label=t("validation"))
    for ax, name in ((ax_loss, t("loss")), (ax_metric, label(history.metric_name))):
        if history.best_epoch:
            ax.axvline(history.best_epoch, color="grey", ls="--", lw=1,
                       label=t("best epoch ({epoch})", epoch=history.best_epoch))
        ax.set_xlabel(t("epoch"))
        ax.set_ylabel(name)
        ax.legend()
    fig.suptitle(label(title))
    fig.tight_layout()
    return fig


def show_images(
    images: torch.Tensor | np.ndarray,
    labels: Sequence[int] | torch.Tensor | None = None,
    predictions: Sequence[int] | torch.Tensor | None = None,
    ncols: int = 10,
    title: str | None = None,
) -> plt.Figure:
    """Show a grid of grayscale images titled with their labels (and predictions, red when wrong)."""
    images = np.asarray(images.detach().cpu() if isinstance(images, torch.Tensor) else images)
    images = images.reshape(len(images), 28, 28) if images.ndim == 2 else images.squeeze()
    if images.ndim == 2:
        images = images[None]
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 1.0, nrows * 1.2), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray_r")
        parts = []
        if labels is not None:
            parts.append(f"{int(labels[i])}")
        if predictions is not None:
            parts.append(t("pred {digit}", digit=int(predictions[i])))
        wrong = labels is not None and predictions is not None and int(labels[i]) != int(predictions[i])
        ax.set_title(" / ".join(parts), fontsize=9, color="crimson" if wrong else "black")
    if title:
        fig.suptitle(label(title))
    fig.tight_layout()
    return fig


def confusion_counts(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """Return scikit-learn's confusion matrix (int64): rows are true classes 0..num_classes-1, columns predicted."""
    from sklearn.metrics import confusion_matrix

    labels = {}
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        values = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values).reshape(-1)
        outside = values[(values < 0) | (values >= num_classes)] if values.size else values
        if outside.size:
            raise ValueError(f"{name} holds class {outside[0].item()!r}, outside 0..{num_classes - 1} (num_classes={num_classes}). "
                             "Pass the number of classes of the whole task, and class indices rather than names.")
        labels[name] = values
    if labels["y_true"].size == 0 and labels["y_pred"].size == 0:
        return np.zeros((num_classes, num_classes), dtype=np.int64)  # scikit-learn refuses empty inputs
    with warnings.catch_warnings():  # it warns about a single label even when `labels` gives them all
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        matrix = confusion_matrix(labels["y_true"], labels["y_pred"], labels=np.arange(num_classes))
    return matrix.astype(np.int64, copy=False)


def plot_confusion_matrix(
    y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str] | None = None, title: str = "Confusion matrix"
) -> plt.Figure:
    """Draw the confusion matrix as an annotated heatmap (counts, rows = true class)."""
    num_classes = len(class_names) if class_names else int(max(np.max(y_true), np.max(y_pred))) + 1
    names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
    matrix = confusion_counts(y_true, y_pred, num_classes)
    fig, ax = plt.subplots(figsize=(0.55 * num_classes + 2.5, 0.5 * num_classes + 2))
    sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", cbar=False, xticklabels=names, yticklabels=names, ax=ax)
    ax.set_xlabel(t("predicted"))
    ax.set_ylabel(t("true"))
    ax.set_title(label(title))
    fig.tight_layout()
    return fig


def working_process() -> tuple[tuple[str, str], ...]:
    """The steps of the course's working process as (title, note) pairs, in the slides' words for Korean."""
    return (
        (t("Define the\nproblem"), t("input → output")),
        (t("Collect &\nlabel data"), t("what, how much")),
        (t("Preprocess"), t("clean, scale, split")),
        (t("Model"), t("algorithm, training")),
        (t("Evaluate"), t("test set, metrics")),
        (t("Deploy"), "REST API"),
    )


def draw_working_process() -> plt.Figure:
    """Draw the course's working process (define → collect/label → preprocess → model → evaluate → deploy)."""
    steps = working_process()
    fig, ax = plt.subplots(figsize=(11, 2.6))
    colours = sns.color_palette("crest", len(steps))
    for i, ((title, note), colour) in enumerate(zip(steps, colours)):
        x = i * 1.8
        ax.add_patch(plt.Rectangle((x, 0), 1.4, 1.0, color=colour, ec="none", alpha=0.9))
        ax.text(x + 0.7, 0.62, title, ha="center", va="center", color="white", fontsize=10, weight="bold")
        ax.text(x + 0.7, 0.18, note, ha="center", va="center", color="white", fontsize=8)
        ax.text(x + 0.07, 0.9, str(i + 1), color="white", fontsize=8, va="center")
        if i < len(steps) - 1:
            ax.annotate("", xy=(x + 1.78, 0.5), xytext=(x + 1.42, 0.5), zorder=3,
                        arrowprops={"arrowstyle": "-|>", "lw": 1.8, "color": "#333333", "shrinkA": 0, "shrinkB": 0})
    ax.annotate("", xy=(2 * 1.8 + 0.7, 1.02), xytext=(4 * 1.8 + 0.7, 1.02),
                arrowprops={"arrowstyle": "->", "lw": 1.2, "ls": "--", "color": "grey", "connectionstyle": "arc3,rad=0.35"})
    ax.text(3 * 1.8 + 0.7, 1.72, t("not good enough? back to the data or the model"), ha="center", fontsize=8,
            color="grey")
    ax.set_xlim(-0.1, len(steps) * 1.8 - 0.3)
    ax.set_ylim(-0.1, 1.9)
    ax.axis("off")
    fig.tight_layout()
    return fig


def use_korean_font() -> bool:
    """Let matplotlib draw Hangul with the NanumGothic font shipped by koreanize-matplotlib; False if it is missing."""
    from importlib.util import find_spec
    from pathlib import Path

    from matplotlib import font_manager

    spec = find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return False
    fonts = sorted(Path(next(iter(spec.submodule_search_locations))).glob("fonts/NanumGothic*.ttf"))
    if not fonts:
        return False
    for font in fonts:
        font_manager.fontManager.addfont(str(font))
    # A list of families makes matplotlib fall back glyph by glyph: Latin from DejaVu Sans, Hangul from NanumGothic.
    plt.rcParams["font.family"] = ["DejaVu Sans", "NanumGothic"]
    plt.rcParams["axes.unicode_minus"] = False
    return True


def draw_unrolled_rnn(steps: int = 4) -> plt.Figure:
    """Draw a recurrent network unrolled over time: x_t -> h_t -> y, with the shared W_hh from h_{t-1} to h_t."""
    fig, ax = plt.subplots(figsize=(2.2 * steps + 1.5, 3.2))
    box = dict(boxstyle="round,pad=0.35", fc="#dbe9f6", ec="#2c6fad")
    arrow = dict(arrowstyle="->", color="#333333", lw=1.3)
    ax.annotate("$h_0$", (0.2, 1.5), ha="center", va="center", fontsize=12, bbox=dict(box, fc="#eeeeee", ec="#888888"))
    for step in range(1, steps + 1):
        x = 2.2 * step - 0.5
        ax.annotate(f"$x_{step}$", (x, 0.2), ha="center", va="center", fontsize=12, bbox=dict(box, fc="#fdf0d5", ec="#c08a1e"))
        ax.annotate(f"$h_{step}$", (x, 1.5), ha="center", va="center", fontsize=12, bbox=box)
        ax.annotate("", (x, 1.25), (x, 0.45), arrowprops=arrow)
        ax.text(x + 0.08, 0.85, "$W_{xh}$", fontsize=9)
        ax.annotate("", (x - 0.3, 1.5), (x - 1.9, 1.5), arrowprops=arrow)
        ax.text(x - 1.35, 1.62, "$W_{hh}$", fontsize=9)
    last = 2.2 * steps - 0.5
    ax.annotate("$\\hat y$", (last, 2.75), ha="center", va="center", fontsize=12, bbox=dict(box, fc="#e3f1df", ec="#3f8f3a"))
    ax.annotate("", (last, 2.5), (last, 1.75), arrowprops=arrow)
    ax.text(last + 0.08, 2.05, "$W_{hy}$", fontsize=9)
    ax.set(xlim=(-0.4, 2.2 * steps + 0.4), ylim=(-0.2, 3.1))
    ax.set_title(t("One RNN unrolled over time: the same weights at every step"), fontsize=11)
    ax.axis("off")
    return fig
