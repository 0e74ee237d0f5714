import numpy as np
import pytest
import torch

from course_utils.device import pick_device
from course_utils.reproducibility import environment_report, seed_everything


def test_same_seed_gives_the_same_random_numbers():
    seed_everything(3)
    first = (torch.rand(3), np.random.rand(3))
    seed_everything(3)
    second = (torch.rand(3), np.random.rand(3))
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1])


def test_returned_generator_is_seeded():
    assert torch.equal(torch.rand(2, generator=seed_everything(5)), torch.rand(2, generator=seed_everything(5)))


def test_deterministic_mode_can_be_switched_on():
    try:
        seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_bad_seed_is_rejected(bad):
    with pytest.raises(ValueError, match="SEED"):
        seed_everything(bad)


def test_environment_report_names_versions_device_and_threads():
    report = environment_report(torch.device("cpu"))
    assert f"torch {torch.__version__.split('+')[0]}" in report
    assert "device: cpu" in report and "threads" in report


def test_auto_device_prefers_cuda_then_cpu():
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert pick_device("auto").type == expected
    assert pick_device(None).type == expected
    assert pick_device("cpu") == torch.device("cpu")


def test_unknown_device_is_rejected():
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        pick_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this check needs a machine without CUDA")
def test_asking_for_missing_cuda_explains():
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        pick_device("cuda")


class NumpyNoise(torch.utils.data.Dataset):
    """Each item is a NumPy random draw, as augmentations in worker processes would make."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return float(np.random.rand())


def test_seed_worker_makes_dataloader_workers_reproducible():
    from course_utils.reproducibility import seed_worker

    def draws():
        generator = seed_everything(11)
        loader = torch.utils.data.DataLoader(NumpyNoise(), batch_size=2, num_workers=2, worker_init_fn=seed_worker,
                                             generator=generator)
        return torch.cat(list(loader)).tolist()

    first, second = draws(), draws()
    assert first == second
    assert len(set(first)) == 4  # workers do not repeat each other's numbers


def test_seeding_does_not_pretend_to_seed_string_hashing(monkeypatch):
    """PYTHONHASHSEED only acts when an interpreter starts; setting it at runtime changes nothing here."""
    import os

    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    seed_everything(3)
    assert "PYTHONHASHSEED" not in os.environ
