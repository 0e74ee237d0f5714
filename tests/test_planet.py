"""Unit tests for course_utils.planet (loader, archives, caches, bad input), course_utils.planet_synthetic and
course_utils.vision."""
from __future__ import annotations

import io
import multiprocessing
import os
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import py7zr
import pytest
import torch
from PIL import Image

from course_utils import planet
from course_utils.planet import (
    CSV_NAME, IMAGE_DIR, TAGS, PlanetDataError, decode_chip, jpeg_bytes, load_planet, publish_folder, read_labels,
)
from course_utils.planet_synthetic import make_synthetic_planet, render_synthetic_chip, synthetic_folder
from course_utils.vision import (
    Augmented, Normalize, SmallCNN, channel_stats, dense_net, feature_maps, random_dihedral, receptive_field,
    vgg16_multilabel,
)

GMM_TRAILER = bytes(range(35))  # Planet chips carry a 35-byte trailer after the JPEG end marker


def write_dataset(folder, rows, images):
    """Write train_v2.csv (given rows) and train-jpg/<name>.jpg (given bytes) into folder/planet."""
    base = folder / "planet"
    (base / IMAGE_DIR).mkdir(parents=True)
    (base / CSV_NAME).write_text("image_name,tags\n" + "".join(r + "\n" for r in rows))
    for name, payload in images.items():
        (base / IMAGE_DIR / f"{name}.jpg").write_bytes(payload)
    return base


def chip(tags, seed=0, size=64):
    return render_synthetic_chip(tags, size, np.random.default_rng(seed))


def test_cmyk_jpeg_with_trailer_decodes_to_true_colours(tmp_path):
    rgb = chip(["clear", "primary", "water"])
    path = tmp_path / "c.jpg"
    path.write_bytes(jpeg_bytes(rgb, mode="CMYK", quality=95) + GMM_TRAILER)
    assert Image.open(path).mode == "CMYK"
    decoded = decode_chip(path, 64)
    assert decoded.shape == (64, 64, 3) and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - rgb.astype(int)).mean() < 12  # not inverted (inversion is ~100+ off)
    sliced = np.asarray(Image.open(path))[..., :3]
    assert np.abs(sliced.astype(int) - rgb.astype(int)).mean() > 60  # the classic mistake really is wrong


def test_decode_resizes_256_chip(tmp_path):
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg_bytes(chip(["clear", "primary"], size=256), mode="CMYK"))
    assert decode_chip(path, 32).shape == (32, 32, 3)


def test_loader_reads_real_layout_and_reports_counts(tmp_path, capsys):
    names = ["train_0", "train_1", "train_2"]
    tagsets = [["clear", "primary"], ["cloudy"], ["haze", "primary", "water"]]
    images = {n: jpeg_bytes(chip(t, i), mode="CMYK") + GMM_TRAILER for i, (n, t) in enumerate(zip(names, tagsets))}
    write_dataset(tmp_path, [f"{n},{' '.join(t)}" for n, t in zip(names, tagsets)], images)
    data = load_planet(tmp_path, size=32, progress=False)
    assert data.is_real and data.images.shape == (3, 3, 32, 32) and data.images.dtype == torch.uint8
    assert data.names == names
    assert data.tag_names(data.targets[2]) == ["primary", "water", "haze"]  # in TAGS order
    assert data.targets[1, TAGS.index("cloudy")] == 1 and data.targets[1].sum() == 1
    assert data.counts == {"rows_in_label_file": 3, "used": 3, "left_out_by_limit": 0}
    assert "no rows dropped" in capsys.readouterr().out
    limited = load_planet(tmp_path, size=32, limit=2, progress=False)
    assert len(limited) == 2 and limited.counts["left_out_by_limit"] == 1
    assert "first 2 of 3 rows" in capsys.readouterr().out


CSV_ORDER = (3, 0, 5, 1, 4, 2)  # label-file order differs from the file numbering, so sorting would be caught


def index_chip(k: int, size: int = 64) -> np.ndarray:
    """A chip whose red level encodes k, green marks the top half and blue the left half (a transpose or flip shows)."""
    rgb = np.full((size, size, 3), 20, np.uint8)
    rgb[..., 0] = 20 + 25 * k
    rgb[: size // 2, :, 1] = 230
    rgb[:, : size // 2, 2] = 230
    return rgb


def write_index_chips(folder):
    """Planet layout where chip train_k is index_chip(k) tagged with TAGS[k] alone, rows in CSV_ORDER."""
    images = {f"train_{k}": jpeg_bytes(index_chip(k), mode="CMYK", quality=95) + GMM_TRAILER for k in CSV_ORDER}
    return write_dataset(folder, [f"train_{k},{TAGS[k]}" for k in CSV_ORDER], images)


def assert_each_image_matches_its_name_and_label(data):
    """Every row's pixels decode to the index in its name and its multi-hot target, upright and unmirrored."""
    size = data.images.shape[-1]
    q = size // 4  # the centre of each quadrant, away from JPEG-blurred edges
    for image, target, name in zip(data.images.int(), data.targets, data.names):
        k = int(name.removeprefix("train_"))
        assert round((image[0].float().mean().item() - 20) / 25) == k, f"{name} got another chip's pixels"
        assert data.tag_names(target) == [TAGS[k]], f"{name} got another chip's label"
        green = [[image[1, y, x].item() > 125 for x in (q, 3 * q)] for y in (q, 3 * q)]
        blue = [[image[2, y, x].item() > 125 for x in (q, 3 * q)] for y in (q, 3 * q)]
        assert green == [[True, True], [False, False]], f"{name}: green must fill the top half (rows first)"
        assert blue == [[True, False], [True, False]], f"{name}: blue must fill the left half"


@pytest.mark.parametrize("size", [64, 32])
def test_every_chip_keeps_its_own_label_and_orientation(tmp_path, size):
    write_index_chips(tmp_path)
    data = load_planet(tmp_path, size=size, progress=False, verbose=False)
    assert data.names == [f"train_{k}" for k in CSV_ORDER]
    assert_each_image_matches_its_name_and_label(data)


def test_limit_keeps_the_first_rows_with_their_own_images_and_labels(tmp_path):
    write_index_chips(tmp_path)
    data = load_planet(tmp_path, size=32, limit=4, progress=False, verbose=False)
    assert data.names == [f"train_{k}" for k in CSV_ORDER[:4]]
    assert len(data.images) == len(data.targets) == 4
    assert data.counts == {"rows_in_label_file": 6, "used": 4, "left_out_by_limit": 2}
    assert_each_image_matches_its_name_and_label(data)


REAL_ROOT = Path(os.environ.get("COURSE_DATA_DIR") or "/nonexistent")


@pytest.mark.skipif(not (REAL_ROOT / "planet" / CSV_NAME).is_file(),
                    reason="real Planet sample not in $COURSE_DATA_DIR on this machine")
def test_real_chips_with_limit_are_the_first_rows_of_the_label_file():
    root = REAL_ROOT
    names, targets = read_labels(root / "planet" / CSV_NAME)
    data = load_planet(root, size=32, limit=5, progress=False, verbose=False)
    assert data.is_real and data.names == names[:5] and torch.equal(data.targets, targets[:5])
    for image, name in zip(data.images, data.names):
        direct = decode_chip(root / "planet" / IMAGE_DIR / f"{name}.jpg", 32)
        assert torch.equal(image, torch.from_numpy(direct.copy()).permute(2, 0, 1))


def test_missing_image_is_named(tmp_path):
    write_dataset(tmp_path, ["train_0,clear primary", "train_1,clear"], {"train_0": jpeg_bytes(chip(["clear"]))})
    with pytest.raises(FileNotFoundError, match="train_1.jpg"):
        load_planet(tmp_path, progress=False)


def test_corrupt_jpeg_is_named(tmp_path):
    good = jpeg_bytes(chip(["clear"]))
    write_dataset(tmp_path, ["train_0,clear", "train_7,clear"], {"train_0": good, "train_7": good[:200]})
    with pytest.raises(PlanetDataError, match=r"train_7\.jpg.*damaged"):
        load_planet(tmp_path, progress=False)
    (tmp_path / "planet" / IMAGE_DIR / "train_7.jpg").write_bytes(b"not an image at all")
    with pytest.raises(PlanetDataError, match="train_7.jpg"):
        load_planet(tmp_path, progress=False)


@pytest.mark.parametrize("row, message", [
    ("train_1,clear primary,extra", r"line 3: expected 2 comma-separated fields"),
    ("train_1", r"line 3: expected 2"),
    ("train_1,clear artisanal_mine", r"line 3: unknown tag\(s\) 'artisanal_mine'"),
    ("train_1,", r"line 3: the tags column is empty"),
    ("train_0,clear", r"line 3: image 'train_0' already appeared on line 2"),
])
def test_malformed_csv_row_is_named(tmp_path, row, message):
    csv = tmp_path / "labels.csv"
    csv.write_text(f"image_name,tags\ntrain_0,clear primary\n{row}\n")
    with pytest.raises(PlanetDataError, match=message):
        read_labels(csv)


def test_wrong_header_and_missing_label_file(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("name;tags\ntrain_0;clear\n")
    with pytest.raises(PlanetDataError, match="line 1: expected the header"):
        read_labels(csv)
    with pytest.raises(FileNotFoundError, match="kaggle competitions download"):
        read_labels(tmp_path / "nope.csv")


def test_partial_data_is_an_error_not_a_silent_fallback(tmp_path):
    (tmp_path / "planet").mkdir()
    (tmp_path / "planet" / CSV_NAME).write_text("image_name,tags\ntrain_0,clear\n")
    with pytest.raises(FileNotFoundError, match="images .* missing"):
        load_planet(tmp_path, progress=False)


def write_kaggle_archives(root, count=4):
    """Kaggle's train-jpg.tar.7z (a 7z holding train-jpg.tar) and train_v2.csv.zip with count chips, in root/planet."""
    names = [f"train_{i}" for i in range(count)]
    rows = [f"{n},clear primary" if i % 2 else f"{n},cloudy" for i, n in enumerate(names)]
    base = root / "planet"
    base.mkdir()
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w") as tar:
        for i, n in enumerate(names):
            payload = jpeg_bytes(chip(["clear", "primary"], i), mode="CMYK") + GMM_TRAILER
            info = tarfile.TarInfo(f"train-jpg/{n}.jpg")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    tar_file = root / "train-jpg.tar"
    tar_file.write_bytes(tar_buffer.getvalue())
    with py7zr.SevenZipFile(base / "train-jpg.tar.7z", "w") as archive:
        archive.write(tar_file, "train-jpg.tar")
    tar_file.unlink()
    with zipfile.ZipFile(base / "train_v2.csv.zip", "w") as archive:
        archive.writestr("train_v2.csv", "image_name,tags\n" + "\n".join(rows) + "\n")
    return base


def test_kaggle_archives_are_extracted_once(tmp_path, monkeypatch, capsys):
    base = write_kaggle_archives(tmp_path)
    data = load_planet(tmp_path, size=32, progress=False)
    assert data.is_real and len(data) == 4
    assert "Extracting train-jpg.tar.7z once" in capsys.readouterr().out
    extracted = base / "extracted"
    assert (extracted / IMAGE_DIR / "train_3.jpg").is_file() and (extracted / CSV_NAME).is_file()
    assert sorted(p.name for p in extracted.iterdir()) == sorted([CSV_NAME, IMAGE_DIR]), "staging or part files left behind"
    calls = []
    monkeypatch.setattr(planet, "extract_image_archive", lambda *a: calls.append(a))
    again = load_planet(tmp_path, size=32, progress=False)
    assert torch.equal(again.images, data.images)
    assert not calls, "the 7z archive was extracted a second time"


def test_quiet_extraction_and_load_print_nothing(tmp_path, capsys):
    write_kaggle_archives(tmp_path)
    data = load_planet(tmp_path, size=32, progress=False, verbose=False)
    assert data.is_real and len(data) == 4
    assert capsys.readouterr().out == ""


def test_quiet_synthetic_load_still_warns_once_per_process(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(planet, "_synthetic_notice_shown", False)
    data = load_planet(tmp_path, size=32, synthetic_n=12, progress=False, verbose=False)
    out = capsys.readouterr().out
    assert not data.is_real and "NOT Planet scores" in out and "Loaded" not in out
    load_planet(tmp_path, size=32, synthetic_n=12, progress=False, verbose=False)
    assert capsys.readouterr().out == "", "a second quiet load must not repeat the warning"
    load_planet(tmp_path, size=32, synthetic_n=12, progress=False)
    out = capsys.readouterr().out
    assert "NOT Planet scores" in out and "Loaded 12 chips" in out, "a verbose load shows everything"


def finished_folder(path, marker=True):
    path.mkdir()
    (path / "payload.txt").write_text(path.name)
    if marker:
        (path / ".complete").touch()
    return path


def test_publish_folder_keeps_the_first_finished_copy_and_replaces_a_stale_one(tmp_path):
    final = tmp_path / "set"
    assert publish_folder(finished_folder(tmp_path / ".mine"), final) == final
    assert (final / "payload.txt").read_text() == ".mine" and not (tmp_path / ".mine").exists()
    late = finished_folder(tmp_path / ".late")
    assert publish_folder(late, final) == final
    assert (final / "payload.txt").read_text() == ".mine", "a finished folder must not be replaced under its readers"
    stale = tmp_path / "stale"
    finished_folder(stale, marker=False)  # e.g. left by an older kit that wrote in place and was interrupted
    publish_folder(finished_folder(tmp_path / ".fresh"), stale)
    assert (stale / "payload.txt").read_text() == ".fresh" and (stale / ".complete").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".late", "set", "stale"]


def load_in_child(root, start, results, n):
    """One 'run' in its own process: wait for the start signal, then load the Planet data (quietly)."""
    torch.set_num_threads(1)
    start.wait()
    data = load_planet(root, size=32, synthetic_n=n, progress=False, verbose=False)
    results.put((data.names, data.targets.tolist(), data.images.sum().item()))


def race_two_runs(root, watched, expected_files, n=0, timeout=120):
    """Start two loads at the same moment in two processes; while they run, whenever `watched` exists it must hold
    its `.complete` marker and all expected files. Returns both runs' results and how often the folder was seen."""
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Barrier(3), ctx.Queue()
    runs = [ctx.Process(target=load_in_child, args=(root, start, results, n)) for _ in range(2)]
    for run in runs:
        run.start()
    start.wait(timeout=60)
    seen, deadline = 0, time.monotonic() + timeout
    while any(run.is_alive() for run in runs) and time.monotonic() < deadline:
        if watched.exists():
            seen += 1
            listed = {p.name for p in watched.iterdir()}
            assert ".complete" in listed, f"a run could see {watched.name} before it was complete"
            assert expected_files <= listed, f"{watched.name} is missing {sorted(expected_files - listed)[:3]}"
    for run in runs:  # the results are small, so a run can exit before they are read
        run.join(timeout=max(1.0, deadline - time.monotonic()))
        if run.is_alive():
            run.kill()
        assert run.exitcode == 0, f"a concurrent run failed with exit code {run.exitcode} (see its traceback above)"
    return [results.get(timeout=10) for _ in runs], seen


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method")
def test_two_runs_building_the_synthetic_set_at_once_never_see_it_half_written(tmp_path):
    n = 80
    final = tmp_path / "planet-synthetic" / f"n{n}-s64-seed0"
    outputs, _ = race_two_runs(tmp_path, final, {CSV_NAME, IMAGE_DIR}, n=n)
    assert outputs[0] == outputs[1] and len(outputs[0][0]) == n
    assert len(list((final / IMAGE_DIR).glob("*.jpg"))) == n
    assert [p.name for p in final.parent.iterdir()] == [final.name], "a staging folder was left behind"
    assert synthetic_folder(tmp_path, n, 64, 0) == final


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method")
def test_two_runs_extracting_the_archives_at_once_never_see_them_half_extracted(tmp_path):
    base = write_kaggle_archives(tmp_path, count=60)
    chips = {f"train_{i}.jpg" for i in range(60)}
    outputs, _ = race_two_runs(tmp_path, base / "extracted" / IMAGE_DIR, chips)
    assert outputs[0] == outputs[1] and len(outputs[0][0]) == 60
    assert sorted(p.name for p in (base / "extracted").iterdir()) == sorted([CSV_NAME, IMAGE_DIR])


def test_damaged_archives_are_reported(tmp_path):
    base = tmp_path / "planet"
    base.mkdir()
    (base / "train-jpg.tar.7z").write_bytes(b"7z? no")
    (base / "train_v2.csv.zip").write_bytes(b"PK? no")
    with pytest.raises(PlanetDataError, match="train_v2.csv.zip is not a readable zip"):
        load_planet(tmp_path, progress=False)
    with zipfile.ZipFile(base / "train_v2.csv.zip", "w") as archive:
        archive.writestr("train_v2.csv", "image_name,tags\ntrain_0,clear\n")
    with pytest.raises(PlanetDataError, match="train-jpg.tar.7z is not a readable 7z"):
        load_planet(tmp_path, progress=False)


def test_empty_data_root_falls_back_to_synthetic_with_notice(tmp_path, capsys):
    data = load_planet(tmp_path, size=32, synthetic_n=40, progress=False)
    out = capsys.readouterr().out
    assert "NOT Planet scores" in out and "kaggle competitions download" in out
    assert not data.is_real and len(data) == 40 and data.images.shape[1:] == (3, 32, 32)
    assert (data.targets.sum(1) >= 1).all()
    with pytest.raises(FileNotFoundError, match="No Planet data"):
        load_planet(tmp_path, synthetic="never", progress=False)
    with pytest.raises(ValueError, match="synthetic must be"):
        load_planet(tmp_path, synthetic="maybe", progress=False)
    with pytest.raises(ValueError, match="LIMIT"):
        load_planet(tmp_path, limit=0, progress=False)


def test_synthetic_tiles_follow_planet_rules_and_pixels_depend_on_tags(tmp_path):
    folder = make_synthetic_planet(tmp_path / "syn", n=300, size=64, seed=1)
    names, targets = read_labels(folder / CSV_NAME)
    assert len(names) == 300 and (folder / IMAGE_DIR / f"{names[-1]}.jpg").is_file()
    weather = targets[:, [TAGS.index(t) for t in planet.WEATHER_TAGS]]
    assert (weather.sum(1) == 1).all(), "exactly one weather tag per chip"
    cloudy = targets[:, TAGS.index("cloudy")] == 1
    assert (targets[cloudy].sum(1) == 1).all(), "cloudy comes alone"
    frequency = targets.mean(0)
    assert frequency[TAGS.index("primary")] > 0.8 and frequency[TAGS.index("clear")] > 0.5
    rng = np.random.default_rng(0)
    cloudy_px = render_synthetic_chip(["cloudy"], 64, rng).mean()
    forest_px = render_synthetic_chip(["clear", "primary"], 64, rng).mean()
    hazy_px = render_synthetic_chip(["haze", "primary"], 64, rng).mean()
    assert cloudy_px > hazy_px > forest_px + 40
    river = render_synthetic_chip(["clear", "primary", "water"], 64, np.random.default_rng(5))
    plain = render_synthetic_chip(["clear", "primary"], 64, np.random.default_rng(5))
    assert (river[..., 2].astype(int) - river[..., 1].astype(int) > 20).sum() > (plain[..., 2].astype(int) - plain[..., 1].astype(int) > 20).sum() + 30


def test_image_size_is_validated(tmp_path):
    with pytest.raises(ValueError, match="IMAGE_SIZE"):
        planet.load_chips(tmp_path, [], size=4)


# ---------------------------------------------------------------- vision


def test_channel_stats_and_normalize():
    images = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    images[:, 0] = 255
    mean, std = channel_stats(images)
    assert mean == pytest.approx([1.0, 0.0, 0.0])
    assert std == pytest.approx([1e-6] * 3, rel=1e-3), "a constant channel's std is floored: Normalize never divides by 0"
    out = Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])(images)
    assert out[:, 0].eq(1).all() and out[:, 1].eq(-1).all()


def test_models_output_one_logit_per_tag():
    x = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    cnn = SmallCNN(17, [0.5] * 3, [0.2] * 3, channels=(8, 8, 8, 8))
    assert cnn(x).shape == (2, 17)
    dense = dense_net(17, (3, 64, 64), [0.5] * 3, [0.2] * 3)
    assert dense(x).shape == (2, 17)
    maps = feature_maps(cnn, cnn.blocks[0], x[0])
    assert maps.shape == (8, 32, 32)


def test_vgg16_offline_says_it_trains_from_scratch(capsys, monkeypatch):
    from torchvision.models import VGG16_Weights

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(VGG16_Weights.IMAGENET1K_V1.__class__, "get_state_dict", offline)
    model, origin = vgg16_multilabel(5)
    assert "from scratch" in origin and "network unreachable" in origin
    assert "from scratch" in capsys.readouterr().out
    assert model(torch.zeros(1, 3, 32, 32, dtype=torch.uint8)).shape == (1, 5)


def test_vgg16_loads_a_local_weights_file(tmp_path):
    from torchvision.models import vgg16

    reference = vgg16(weights=None)
    path = tmp_path / "vgg16.pth"
    torch.save(reference.state_dict(), path)
    model, origin = vgg16_multilabel(3, weights_path=path, verbose=False)
    assert "ImageNet weights from" in origin
    assert torch.equal(model[1][0].weight, reference.features[0].weight)
    with pytest.raises(FileNotFoundError, match="VGG16_WEIGHTS"):
        vgg16_multilabel(3, weights_path=tmp_path / "missing.pth")


def test_random_dihedral_is_a_symmetry_of_each_image():
    x = torch.arange(2 * 1 * 3 * 3).view(2, 1, 3, 3)
    out = random_dihedral(x, torch.Generator().manual_seed(0))
    for original, augmented in zip(x, out):
        variants = [torch.rot90(original, k, (1, 2)) for k in range(4)]
        variants += [v.flip(2) for v in variants]
        assert any(torch.equal(augmented, v) for v in variants)
    with pytest.raises(ValueError, match="square"):
        random_dihedral(torch.zeros(1, 3, 4, 5))


def test_augmented_batches_change_images_but_not_targets():
    x = torch.randint(0, 255, (64, 3, 8, 8), dtype=torch.uint8)
    y = torch.arange(64).float()
    batches = Augmented([(x, y)], seed=0)
    assert len(batches) == 1
    (ax, ay), = list(batches)
    assert torch.equal(ay, y) and not torch.equal(ax, x) and ax.dtype == torch.uint8


def test_receptive_field():
    assert receptive_field([3, 2] * 4, [1, 2] * 4) == 46
    assert receptive_field([3, 3], [1, 1]) == 5
    with pytest.raises(ValueError, match="one stride per kernel size"):
        receptive_field([3], [1, 1])


def test_show_chips_draws_one_panel_per_chip_and_checks_captions():
    import matplotlib

    matplotlib.use("Agg")
    images = torch.randint(0, 255, (5, 3, 16, 16), dtype=torch.uint8)
    fig = planet.show_chips(images, ["a\nb"] * 5, ncols=3)
    assert sum(ax.get_images() != [] for ax in fig.axes) == 5
    with pytest.raises(ValueError, match="captions"):
        planet.show_chips(images, ["a"], ncols=3)


def test_chip_prediction_plot_colours_found_missed_and_wrong_tags_by_their_own_thresholds():
    import matplotlib.colors as mcolors
    import torch

    from course_utils.planet import plot_chip_prediction

    image = torch.zeros(3, 8, 8, dtype=torch.uint8)
    axes = plot_chip_prediction(image, [0.9, 0.3, 0.6, 0.1], [0.5, 0.5, 0.7, 0.05], torch.tensor([1, 1, 0, 0]),
                                ["a", "b", "c", "d"])
    bars = [mcolors.to_hex(p.get_facecolor()) for p in axes[1].patches[:4]]
    # a: true and above its threshold; b: true but below; c: below its own 0.7 -> not predicted; d: 0.1 >= 0.05 -> wrong
    assert bars == [mcolors.to_hex(c) for c in ("seagreen", "orange", "lightgrey", "crimson")]


# --------------------------------------------------------------------------- the scope line lesson 05 prints


@pytest.mark.parametrize("size, pixels", [(64, "painted from their tags, at their 64×64 pixels"),
                                          (32, "painted from their tags, resized from 64×64 to 32×32 pixels")])
def test_scope_line_of_synthetic_tiles_claims_no_share_and_no_planet_resolution(tmp_path, size, pixels):
    data = load_planet(tmp_path, size=size, synthetic="always", synthetic_n=12, progress=False, verbose=False)
    line = data.scope_line()
    assert line.startswith("This run uses 12 synthetic tiles") and pixels in line
    assert "not Planet chips" in line
    assert "%" not in line and "40,479" not in line and "256" not in line  # no share of the competition, no 256×256
    assert data.share_of_competition == 0.0


def test_scope_line_of_real_chips_names_their_share_and_their_stored_size(tmp_path):
    names = [f"train_{i}" for i in range(3)]
    write_dataset(tmp_path, [f"{n},clear primary" for n in names],
                  {n: jpeg_bytes(chip(["clear", "primary"], i, size=128), mode="CMYK") for i, n in enumerate(names)})
    data = load_planet(tmp_path, size=32, progress=False, verbose=False)
    assert data.stored_size == 128
    assert data.scope_line() == ("This run uses 3 real chips — 0.0% of the 40,479 labelled training chips of the "
                                 "competition — resized from 128×128 to 32×32 pixels.")
    assert data.share_of_competition == 3 / planet.FULL_ROWS


def test_scope_line_of_the_whole_competition_says_all(tmp_path, monkeypatch):
    names = [f"train_{i}" for i in range(4)]
    write_dataset(tmp_path, [f"{n},cloudy" for n in names],
                  {n: jpeg_bytes(chip(["cloudy"], i, size=64)) for i, n in enumerate(names)})
    monkeypatch.setattr(planet, "FULL_ROWS", 4)
    data = load_planet(tmp_path, size=64, progress=False, verbose=False)
    assert data.scope_line() == "This run uses all 4 labelled training chips of the competition, at their 64×64 pixels."
