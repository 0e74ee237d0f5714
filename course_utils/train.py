"""Train, evaluate and predict with any torch model, keeping the parameters of the best validation epoch."""
from __future__ import annotations

import copy
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

from .i18n import label, t
from .paths import display_path

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
Metric = Callable[[torch.Tensor, torch.Tensor], float]
PROGRESS_ENV_VAR = "COURSE_PROGRESS"


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of rows whose highest output is the target class."""
    return (outputs.argmax(dim=1) == targets).float().mean().item()


@dataclass
class History:
    """Per-epoch losses and metric values on both splits, and which epoch was best."""

    metric_name: str = "accuracy"
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_metric: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int = 0

    @property
    def epochs(self) -> int:
        """Number of epochs trained so far."""
        return len(self.train_loss)

    @property
    def best_val_loss(self) -> float:
        """Lowest validation loss seen."""
        return self.val_loss[self.best_epoch - 1] if self.best_epoch else float("inf")

    @property
    def train_seconds(self) -> float:
        """Total training time over all epochs."""
        return float(sum(self.epoch_seconds))

    def as_dict(self) -> dict:
        """Return the history as plain Python types (safe for torch.load(weights_only=True) and JSON)."""
        return asdict(self)


def move(batch: tuple[torch.Tensor, torch.Tensor], device: torch.device | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Send a batch to a device (no-op when device is None or already right)."""
    if device is None:
        return batch
    return batch[0].to(device, non_blocking=True), batch[1].to(device, non_blocking=True)


def model_device(model: nn.Module) -> torch.device:
    """Return the device of the model's first parameter (CPU for parameter-free models)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def count_batches(batches: Batches) -> int | None:
    """Return len(batches) when it is known."""
    try:
        return len(batches)  # type: ignore[arg-type]
    except TypeError:
        return None


@torch.no_grad()
def evaluate(model: nn.Module, batches: Batches, loss_fn: Callable, metric: Metric = accuracy) -> tuple[float, float]:
    """Return (mean loss, metric) of the model over all batches, in eval mode."""
    model.eval()
    device = model_device(model)
    total, seen, outputs, targets = 0.0, 0, [], []
    for batch in batches:
        x, y = move(batch, device)
        out = model(x)
        total += loss_fn(out, y).item() * len(y)
        seen += len(y)
        outputs.append(out.float().cpu())
        targets.append(y.cpu())
    if seen == 0:
        raise ValueError("evaluate() got no batches; the data set is empty.")
    return total / seen, metric(torch.cat(outputs), torch.cat(targets))


@torch.no_grad()
def predict(model: nn.Module, inputs: torch.Tensor, batch_size: int = 2048) -> torch.Tensor:
    """Return the model's raw outputs for inputs (in eval mode, batched, on the CPU)."""
    model.eval()
    device = model_device(model)
    chunks = [model(inputs[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(inputs), batch_size)]
    return torch.cat(chunks) if chunks else torch.empty(0)


def train_one_epoch(
    model: nn.Module, batches: Batches, loss_fn: Callable, optimizer: torch.optim.Optimizer, metric: Metric, bar: tqdm,
    max_grad_norm: float | None = None,
) -> tuple[float, float]:
    """Run one pass of minibatch updates (clipping the gradient norm if asked); return (mean loss, metric on the fly)."""
    model.train()
    device = model_device(model)
    total, seen, outputs, targets = 0.0, 0, [], []
    for batch in batches:
        x, y = move(batch, device)
        optimizer.zero_grad(set_to_none=True)
        out = model(x)
        loss = loss_fn(out, y)
        if not torch.isfinite(loss):
            raise FloatingPointError(t(
                "The training loss became {loss} at epoch batch {batch}. "
                "The learning rate is probably too high: lower it (e.g. by 10x) and run again.",
                loss=loss.item(), batch=seen // max(len(y), 1) + 1,
            ))
        loss.backward()
        if max_grad_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item() * len(y)
        seen += len(y)
        outputs.append(out.detach().float().cpu())
        targets.append(y.cpu())
        bar.update(1)
    return total / seen, metric(torch.cat(outputs), torch.cat(targets))


def progress_bars_enabled() -> bool:
    """Progress bars are on unless $COURSE_PROGRESS is "0" (headless runs set it to keep saved outputs clean)."""
    return os.environ.get(PROGRESS_ENV_VAR, "1") != "0"


def save_checkpoint(path: Path, **state: object) -> None:
    """Write a checkpoint atomically so a crash never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def fit(
    model: nn.Module,
    train_batches: Batches,
    val_batches: Batches,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    metric: Metric = accuracy,
    metric_name: str = "accuracy",
    patience: int | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    checkpoint_path: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: bool | None = None,
    verbose: bool = True,
    restore_best: bool = True,
    max_grad_norm: float | None = None,
) -> History:
    """Train for up to `epochs` (stepping `scheduler` once per epoch), stop early after `patience` epochs
    without a better validation loss, and leave the model holding its lowest-validation-loss parameters
    (or its last-epoch parameters when restore_best is False); max_grad_norm clips each step's gradient norm."""
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(t("EPOCHS must be a positive integer, got {epochs!r}.", epochs=epochs))
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(f"patience must be a positive integer or None, got {patience!r}.")
    if max_grad_norm is not None and not (isinstance(max_grad_norm, (int, float)) and max_grad_norm > 0):
        raise ValueError(f"max_grad_norm (gradient clipping) must be a positive number or None, got {max_grad_norm!r}.")
    history = History(metric_name=metric_name)
    best_state = copy.deepcopy(model.state_dict())
    checkpoint = Path(checkpoint_path) if checkpoint_path else None
    if resume and checkpoint and checkpoint.is_file():
        saved = torch.load(checkpoint, map_location=model_device(model), weights_only=True)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None and saved.get("scheduler"):
            scheduler.load_state_dict(saved["scheduler"])
        best_state = saved["best_model"]
        history = History(**saved["history"])
        if verbose:
            print(t("Resumed from {path} after epoch {epoch}.", path=display_path(checkpoint), epoch=history.epochs))
    steps = count_batches(train_batches)
    if progress is None:
        progress = progress_bars_enabled()
    for epoch in range(history.epochs + 1, epochs + 1):
        start = time.perf_counter()
        with tqdm(total=steps, desc=t("epoch {epoch}/{epochs}", epoch=epoch, epochs=epochs), leave=False,
                  disable=not progress) as bar:
            train_loss, train_metric = train_one_epoch(model, train_batches, loss_fn, optimizer, metric, bar, max_grad_norm)
        val_loss, val_metric = evaluate(model, val_batches, loss_fn, metric)
        if scheduler is not None:
            scheduler.step()
        history.epoch_seconds.append(time.perf_counter() - start)
        history.train_loss.append(train_loss)
        history.train_metric.append(train_metric)
        history.val_loss.append(val_loss)
        history.val_metric.append(val_metric)
        improved = val_loss < history.best_val_loss
        if improved:
            history.best_epoch = epoch
            best_state = copy.deepcopy(model.state_dict())
        if verbose:
            print(t("epoch {epoch:>3}/{epochs}  train loss {train_loss:.4f} {metric} {train_metric:.4f}  |  "
                    "val loss {val_loss:.4f} {metric} {val_metric:.4f}  |  {seconds:.1f}s", epoch=epoch, epochs=epochs,
                    train_loss=train_loss, metric=label(metric_name), train_metric=train_metric, val_loss=val_loss,
                    val_metric=val_metric, seconds=history.epoch_seconds[-1])
                  + (t("  * best") if improved else ""))
        if checkpoint:
            save_checkpoint(
                checkpoint, model=model.state_dict(), optimizer=optimizer.state_dict(),
                scheduler=scheduler.state_dict() if scheduler else {}, best_model=best_state, history=history.as_dict(),
            )
        if patience and epoch - history.best_epoch >= patience:
            if verbose:
                print(t("Early stopping: no better validation loss for {patience} epochs.", patience=patience))
            break
    if not restore_best:
        return history
    model.load_state_dict(best_state)
    if verbose and history.best_epoch:
        print(t("Restored the parameters of epoch {epoch} (lowest validation loss {loss:.4f}).", epoch=history.best_epoch,
                loss=history.best_val_loss))
    return history


def save_weights(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Save the model's parameters (state_dict only, no pickled code)."""
    path = Path(path)
    save_checkpoint(path, **model.state_dict())
    return path


def load_weights(model: nn.Module, path: str | os.PathLike[str]) -> nn.Module:
    """Load parameters saved by save_weights (or fit's checkpoint) into model, safely (weights_only)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No weights file at {display_path(path)}. Train the model first or fix the path.")
    try:
        state = torch.load(path, map_location=model_device(model), weights_only=True)
    except Exception as exc:  # torch raises several types for damaged files
        raise ValueError(f"{display_path(path)} is not a readable weights file ({exc}).") from exc
    if "best_model" in state:
        state = state["best_model"]
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(
            f"The weights in {display_path(path)} do not fit this model's architecture: {str(exc).splitlines()[0]} "
            "Build the model with the same layer sizes it was trained with."
        ) from exc
    return model
