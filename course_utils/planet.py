"""Planet 'Understanding the Amazon from Space' chips as in-memory tensors (synthetic stand-in: planet_synthetic).

Layout (Kaggle's): <data root>/planet/train-jpg/<image_name>.jpg and <data root>/planet/train_v2.csv
(`image_name,tags`, tags separated by spaces). Kaggle's archives train-jpg.tar.7z and train_v2.csv.zip are
extracted once into a writable folder. The chips may not be redistributed: get them from Kaggle.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from .i18n import label, t
from .notice import show_notice
from .paths import data_root, display_path, writable_dir
from .train import progress_bars_enabled

# The 17 tags, most frequent first (counts in the full 40,479-row label file).
TAGS = (
    "primary", "clear", "agriculture", "road", "water", "partly_cloudy", "cultivation", "habitation", "haze",
    "cloudy", "bare_ground", "selective_logging", "artisinal_mine", "blooming", "slash_burn", "blow_down",
    "conventional_mine",
)
WEATHER_TAGS = ("clear", "partly_cloudy", "haze", "cloudy")
# Korean names: the course slides name ten tags (marked "slide"); the other seven are the kit's translations.
KOREAN_TAG_NAMES = {
    "cloudy": "흐린 날씨",  # slide
    "primary": "열대 우림",  # slide
    "partly_cloudy": "구름 낀 날씨",  # slide
    "water": "물 (강 & 호수)",  # slide
    "haze": "안개 낀 날씨",  # slide
    "bare_ground": "황무지",  # slide
    "habitation": "거주지",  # slide
    "agriculture": "농경지",  # slide
    "conventional_mine": "합법 채굴",  # slide
    "artisinal_mine": "불법 채굴",  # slide
    "clear": "맑은 날씨",
    "road": "도로",
    "cultivation": "경작지",
    "selective_logging": "선택적 벌목",
    "slash_burn": "화전",
    "blooming": "개화",
    "blow_down": "강풍 쓰러짐",
}
FULL_ROWS = 40479  # rows of the competition's full train_v2.csv (lesson 05 states its share of them)
CSV_NAME, IMAGE_DIR = "train_v2.csv", "train-jpg"
CSV_ARCHIVE, IMAGE_ARCHIVE = "train_v2.csv.zip", "train-jpg.tar.7z"
KAGGLE_COMMAND = "kaggle competitions download -c planet-understanding-the-amazon-from-space"
KAGGLE_SOURCE = "Planet: Understanding the Amazon from Space (Kaggle)"
SYNTHETIC_SOURCE = "synthetic tiles (course_utils.planet_synthetic)"


def how_to_get() -> str:
    """How to get the real Planet data, in the student's language (for error messages and the synthetic notice)."""
    return t("Get the data from Kaggle (free account; accept the competition rules on its page), then run\n"
             "  {command}\n"
             "and put {images}/ (or {image_archive}) and {labels} (or {label_archive}) into <data root>/planet/.",
             command=KAGGLE_COMMAND, images=IMAGE_DIR, image_archive=IMAGE_ARCHIVE, labels=CSV_NAME,
             label_archive=CSV_ARCHIVE)


class PlanetDataError(ValueError):
    """The Planet files are missing, malformed or inconsistent; the message names the file and row."""


@dataclass
class PlanetData:
    """Chips as uint8 (N, 3, S, S), multi-hot float targets (N, 17), their names, and where they came from."""

    images: torch.Tensor
    targets: torch.Tensor
    names: list[str]
    tags: tuple[str, ...]
    source: str
    is_real: bool
    counts: dict[str, int] = field(default_factory=dict)
    stored_size: int = 256  # side in pixels of the chips as stored on disk, before resizing

    def __len__(self) -> int:
        return len(self.names)

    @property
    def share_of_competition(self) -> float:
        """The fraction of the competition's labelled training chips this data holds (0 for synthetic tiles)."""
        return len(self) / FULL_ROWS if self.is_real else 0.0

    def scope_line(self) -> str:
        """One sentence naming the chips a run's scores come from: all, a share of the competition's, or synthetic."""
        size = int(self.images.shape[-1])
        stored = self.stored_size
        if stored == size:
            pixels = t("at their {size}×{size} pixels", size=size)
        else:
            pixels = t("resized from {stored}×{stored} to {size}×{size} pixels", stored=stored, size=size)
        if not self.is_real:
            return t("This run uses {count:,} synthetic tiles painted from their tags, {pixels}: they are not Planet "
                     "chips, so no score below is a Planet score.", count=len(self), pixels=pixels)
        if len(self) >= FULL_ROWS:
            return t("This run uses all {count:,} labelled training chips of the competition, {pixels}.",
                     count=len(self), pixels=pixels)
        return t("This run uses {count:,} real chips — {share:.1%} of the {full:,} labelled training chips of the "
                 "competition — {pixels}.", count=len(self), share=self.share_of_competition, full=FULL_ROWS,
                 pixels=pixels)

    def __repr__(self) -> str:
        return f"PlanetData(source={self.source!r}, images={tuple(self.images.shape)}, tags={len(self.tags)})"

    def tag_names(self, row: torch.Tensor | np.ndarray) -> list[str]:
        """Return the tag names switched on in one multi-hot row."""
        return [t for t, on in zip(self.tags, np.asarray(row).astype(bool)) if on]


# --------------------------------------------------------------------------- labels


def parse_tags(text: str, where: str, tags: Sequence[str] = TAGS) -> list[str]:
    """Split a space-separated tag string, refusing empty lists and unknown tags."""
    found = text.split()
    if not found:
        raise PlanetDataError(t("{where}: the tags column is empty. Every chip has at least one tag; fix or delete the "
                                "row.", where=where))
    unknown = [tag for tag in found if tag not in tags]
    if unknown:
        raise PlanetDataError(t(
            "{where}: unknown tag(s) {unknown}. Known tags: {known}. "
            "Check the spelling (the competition writes 'artisinal_mine') or the file's delimiter.",
            where=where, unknown=", ".join(map(repr, unknown)), known=", ".join(tags),
        ))
    return found


def read_labels(csv_path: str | os.PathLike[str], tags: Sequence[str] = TAGS) -> tuple[list[str], torch.Tensor]:
    """Read `image_name,tags` rows into names and a multi-hot float tensor (N, len(tags)), checking every row."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise FileNotFoundError(t("No label file at {file}.\n{how_to_get}", file=display_path(csv_path),
                                  how_to_get=how_to_get()))
    index = {tag: i for i, tag in enumerate(tags)}
    names: list[str] = []
    rows: list[list[int]] = []
    seen: dict[str, int] = {}
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != ["image_name", "tags"]:
            raise PlanetDataError(t(
                "{file} line 1: expected the header 'image_name,tags', found {header!r}. "
                "Is this the competition's train_v2.csv?", file=display_path(csv_path), header=header,
            ))
        for line_no, row in enumerate(reader, start=2):
            where = t("{file} line {line}", file=display_path(csv_path), line=line_no)
            if not row or all(not cell.strip() for cell in row):
                raise PlanetDataError(t("{where}: empty row. Delete it (no chip can be matched to it).", where=where))
            if len(row) != 2 or not row[0].strip():
                raise PlanetDataError(t(
                    "{where}: expected 2 comma-separated fields 'image_name,tags', got {count}: {row!r}. "
                    "Fix the row (tags are separated by spaces, not commas).", where=where, count=len(row), row=row,
                ))
            name = row[0].strip()
            if name in seen:
                raise PlanetDataError(t("{where}: image {name!r} already appeared on line {line}. Remove the duplicate.",
                                        where=where, name=name, line=seen[name]))
            seen[name] = line_no
            multi_hot = [0] * len(tags)
            for tag in parse_tags(row[1], where, tags):
                multi_hot[index[tag]] = 1
            names.append(name)
            rows.append(multi_hot)
    if not names:
        raise PlanetDataError(t("{file} has a header but no rows.", file=display_path(csv_path)))
    return names, torch.tensor(rows, dtype=torch.float32)


# --------------------------------------------------------------------------- images


def decode_chip(path: str | os.PathLike[str], size: int) -> np.ndarray:
    """Decode one chip (CMYK or RGB JPEG, trailing bytes allowed) to a uint8 RGB array (size, size, 3)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(t("Missing image {file} (listed in the label file).", file=display_path(path)))
    try:
        with Image.open(path) as image:
            image.draft(image.mode, (size, size))  # JPEG DCT scaling: decode at >= size, much faster
            rgb = image.convert("RGB")  # CMYK chips: convert, never slice channels (colours would be inverted)
            if rgb.size != (size, size):
                rgb = rgb.resize((size, size), Image.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise PlanetDataError(t(
            "Cannot decode {file} as an image ({error}). The file is damaged or not a JPEG: "
            "download it again (or remove its row from the label file and say so in your report).",
            file=display_path(path), error=exc,
        )) from exc


def stored_chip_size(path: str | os.PathLike[str]) -> int:
    """The side in pixels of a chip as stored, read from its header (the competition's chips are 256)."""
    with Image.open(path) as image:
        return int(image.size[0])


def load_chips(
    image_dir: str | os.PathLike[str], names: Sequence[str], size: int = 64, progress: bool = True
) -> torch.Tensor:
    """Decode the named chips into one uint8 tensor (N, 3, size, size), failing on the first bad file."""
    if not isinstance(size, int) or not 8 <= size <= 256:
        raise ValueError(t("IMAGE_SIZE must be an integer between 8 and 256 (chips are 256x256), got {size!r}.",
                           size=size))
    image_dir = Path(image_dir)
    out = np.empty((len(names), size, size, 3), dtype=np.uint8)
    for i, name in enumerate(tqdm(names, desc=t("decoding chips at {size}x{size}", size=size), disable=not progress)):
        out[i] = decode_chip(image_dir / f"{name}.jpg", size)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


# --------------------------------------------------------------------------- archives and caches


def publish_folder(staging: Path, final: Path) -> Path:
    """Rename a finished staging folder to final in one atomic step; if another run got there first, keep theirs.

    staging must be complete (holding its `.complete` marker) and on the same file system as final (a sibling).
    Readers only ever see final absent or complete. A final folder without the marker (left by an older version
    of the kit) is moved aside and deleted first. Returns final; staging is gone or left for the caller to delete."""
    for _ in range(5):
        try:
            os.rename(staging, final)
            return final
        except OSError:  # final exists (FileExistsError on Windows, ENOTEMPTY/EEXIST on POSIX)
            if (final / ".complete").is_file():
                return final  # another run finished first: use theirs, drop ours
            if not final.exists():
                continue  # it vanished in between: try again
            aside = final.with_name(f".{final.name}.stale-{os.getpid()}-{id(staging)}")
            try:
                os.rename(final, aside)  # atomic; fails harmlessly if another run moved it first
            except OSError:
                continue
            shutil.rmtree(aside, ignore_errors=True)
    raise OSError(t("Could not move {staging} to {final}: the folder keeps changing. "
                    "Is another run writing there? Delete it and run again.", staging=display_path(staging),
                    final=display_path(final)))


def extract_csv_archive(csv_zip: Path, target: Path) -> Path:
    """Unpack train_v2.csv from Kaggle's train_v2.csv.zip into target (once); return the CSV's path."""
    out = target / CSV_NAME
    if out.is_file():
        return out
    try:
        with zipfile.ZipFile(csv_zip) as archive:
            member = next((m for m in archive.namelist() if Path(m).name == CSV_NAME), None)
            if member is None:
                raise PlanetDataError(t("{file} holds no {name}; it holds {members}.", file=display_path(csv_zip),
                                        name=CSV_NAME, members=archive.namelist()[:5]))
            data = archive.read(member)
    except zipfile.BadZipFile as exc:
        raise PlanetDataError(t("{file} is not a readable zip file ({error}). Download it again.",
                                file=display_path(csv_zip), error=exc)) from exc
    handle, tmp = tempfile.mkstemp(prefix=f".{CSV_NAME}.", suffix=".part", dir=target)  # private to this run
    try:
        with os.fdopen(handle, "wb") as part:
            part.write(data)
        os.replace(tmp, out)  # atomic: readers see no file or the whole file
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out


def extract_image_archive(image_7z: Path, target: Path) -> Path:
    """Unpack train-jpg.tar.7z (a 7z holding train-jpg.tar) into target/train-jpg once; return that folder.

    The chips are unpacked into a private staging folder and renamed into place when complete, so two runs that
    start together never read a half-extracted folder (both may extract; the first rename wins)."""
    out = target / IMAGE_DIR
    if (out / ".complete").is_file():
        return out
    try:
        import py7zr
    except ImportError as exc:  # pragma: no cover - py7zr is in requirements.txt
        raise ImportError(t("Reading {archive} needs py7zr: pip install py7zr (or extract it yourself).",
                            archive=IMAGE_ARCHIVE)) from exc
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target))
    try:
        try:
            with py7zr.SevenZipFile(image_7z, mode="r") as archive:
                archive.extractall(path=staging)
        except (py7zr.exceptions.Bad7zFile, py7zr.exceptions.ArchiveError, EOFError, OSError) as exc:
            raise PlanetDataError(t("{file} is not a readable 7z archive ({error}). Download it again.",
                                    file=display_path(image_7z), error=exc)) from exc
        for tar_path in staging.rglob("*.tar"):
            with tarfile.open(tar_path) as tar:
                tar.extractall(staging, filter="data")
            tar_path.unlink()
        found = [p for p in staging.rglob(IMAGE_DIR) if p.is_dir()]
        if not found:
            raise PlanetDataError(t("{file} holds no {folder}/ folder.", file=display_path(image_7z), folder=IMAGE_DIR))
        (found[0] / ".complete").touch()
        return publish_folder(found[0], out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def find_planet(root: Path, verbose: bool = True) -> tuple[Path, Path] | None:
    """Return (label CSV, image folder) under root/planet, extracting Kaggle's archives once; None if absent."""
    folder = root / "planet"
    csv_path, image_dir = folder / CSV_NAME, folder / IMAGE_DIR
    has_csv = csv_path.is_file() or (folder / CSV_ARCHIVE).is_file()
    has_images = image_dir.is_dir() or (folder / IMAGE_ARCHIVE).is_file()
    if not (has_csv or has_images):
        return None
    if not (has_csv and has_images):
        missing = (t("the images ({folder}/ or {archive})", folder=IMAGE_DIR, archive=IMAGE_ARCHIVE) if has_csv
                   else t("the labels ({file} or {archive})", file=CSV_NAME, archive=CSV_ARCHIVE))
        raise FileNotFoundError(t("{folder} has only part of the Planet data: {missing} is missing.\n{how_to_get}",
                                  folder=display_path(folder), missing=missing, how_to_get=how_to_get()))
    if not csv_path.is_file() or not image_dir.is_dir():
        target = writable_dir(folder, "extracted")
        if not csv_path.is_file():
            csv_path = extract_csv_archive(folder / CSV_ARCHIVE, target)
        if not image_dir.is_dir():
            image_dir = target / IMAGE_DIR
            if not (image_dir / ".complete").is_file():
                if verbose:
                    print(t("Extracting {archive} once into {folder} ...", archive=IMAGE_ARCHIVE,
                            folder=display_path(target)))
                image_dir = extract_image_archive(folder / IMAGE_ARCHIVE, target)
    return csv_path, image_dir


# --------------------------------------------------------------------------- the loader

_synthetic_notice_shown = False  # whether this process has shown the synthetic-data warning yet


def load_planet(
    data_dir: str | os.PathLike[str] | None = None,
    size: int = 64,
    limit: int | None = None,
    synthetic: str = "auto",
    synthetic_n: int = 1000,
    seed: int = 0,
    progress: bool | None = None,
    verbose: bool = True,
) -> PlanetData:
    """Load real Planet chips from the data root (extracting Kaggle's archives once), or synthetic tiles offline.

    synthetic: 'auto' (fallback when no real data), 'never' (error instead) or 'always'.
    progress: show a progress bar while decoding (None: unless $COURSE_PROGRESS is "0").
    verbose: print what is extracted and loaded. verbose=False silences those messages, but not the warning that
    the tiles are synthetic: that one says the scores are not Planet scores, so it is shown on the first synthetic
    load of each process even when quiet (and on every verbose load); `PlanetData.is_real` says it too."""
    global _synthetic_notice_shown
    progress = progress_bars_enabled() if progress is None else progress
    if synthetic not in ("auto", "never", "always"):
        raise ValueError(t("synthetic must be 'auto', 'never' or 'always', got {synthetic!r}.", synthetic=synthetic))
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(t("LIMIT must be a positive integer or None, got {limit!r}.", limit=limit))
    root = data_root(data_dir)
    found = None if synthetic == "always" else find_planet(root, verbose=verbose)
    if found is None:
        if synthetic == "never":
            raise FileNotFoundError(t("No Planet data under {folder}.\n{how_to_get}", folder=display_path(root / "planet"),
                                      how_to_get=how_to_get()))
        from .planet_synthetic import synthetic_folder  # the painter is only needed offline

        folder = synthetic_folder(root, synthetic_n, max(size, 64), seed)
        csv_path, image_dir = folder / CSV_NAME, folder / IMAGE_DIR
        if verbose or not _synthetic_notice_shown:
            show_notice(
                t("SYNTHETIC Planet tiles: these scores are NOT Planet scores"),
                t("No Planet data was found under {folder}, so this run uses {count} "
                  "procedural tiles whose pixels are painted from their tags (forest texture, rivers, roads, fields, "
                  "clouds, haze...). Everything runs the same way, but the numbers say nothing about real satellite "
                  "imagery.\n{how_to_get}", folder=display_path(root / "planet"), count=synthetic_n,
                  how_to_get=how_to_get()),
            )
            _synthetic_notice_shown = True
        source, is_real = SYNTHETIC_SOURCE, False
    else:
        csv_path, image_dir = found
        source, is_real = KAGGLE_SOURCE, True
    names, targets = read_labels(csv_path)
    total = len(names)
    if limit is not None and limit < total:
        names, targets = names[:limit], targets[:limit]
    images = load_chips(image_dir, names, size=size, progress=progress)
    stored_size = stored_chip_size(Path(image_dir) / f"{names[0]}.jpg") if names else size  # decodable: loaded above
    counts = {"rows_in_label_file": total, "used": len(names), "left_out_by_limit": total - len(names)}
    if verbose:
        note = (t(" (first {used} of {total} rows because LIMIT={limit})", used=len(names), total=total, limit=limit)
                if counts["left_out_by_limit"] else "")
        print(t("Loaded {used} chips{note} from {folder}: {source}; no rows dropped.", used=len(names), note=note,
                folder=display_path(image_dir), source=label(source)))
    return PlanetData(images, targets, names, TAGS, source, is_real, counts, stored_size)


def jpeg_bytes(array: np.ndarray, mode: str = "RGB", quality: int = 92) -> bytes:
    """Encode a uint8 RGB array as JPEG bytes (mode 'CMYK' writes a 4-component JPEG like Planet's chips)."""
    buffer = io.BytesIO()
    Image.fromarray(array).convert(mode).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def show_chips(images: torch.Tensor, captions: Sequence[str], ncols: int = 6, title: str | None = None,
               caption_size: float = 8, chip_inches: float = 1.6):
    """Show uint8 chips (N, 3, H, W) in a grid with a (multi-line) caption above each (title and captions shown as
    labels in the student's language)."""
    import matplotlib.pyplot as plt

    n = len(images)
    if len(captions) != n:
        raise ValueError(f"{len(captions)} captions for {n} images.")
    nrows = max(1, -(-n // ncols))
    lines = max((c.count("\n") + 1 for c in captions), default=1)
    row_inches = chip_inches + lines * caption_size * 1.9 / 72 + 0.3
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * (chip_inches + 0.25), nrows * row_inches + 0.4),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].permute(1, 2, 0).cpu().numpy())
            ax.set_title(label(captions[i]), fontsize=caption_size)
    if title:
        fig.suptitle(label(title))
    fig.tight_layout()
    return fig


def plot_chip_prediction(image: torch.Tensor, probabilities: Sequence[float], thresholds: Sequence[float],
                         true_row: torch.Tensor, tags: Sequence[str], title: str = "", axes=None):
    """Show one chip beside its per-tag probabilities, each tag's threshold, and which tags are true or predicted."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1, 2.2]})
    ax_chip, ax_bar = axes
    ax_chip.imshow(image.permute(1, 2, 0).numpy())
    ax_chip.set_title(label(title), fontsize=9)
    ax_chip.axis("off")
    probs, limits, truth = np.asarray(probabilities), np.asarray(thresholds), np.asarray(true_row).astype(bool)
    predicted = probs >= limits
    colors = ["seagreen" if t and p else "orange" if t else "crimson" if p else "lightgrey" for t, p in zip(truth, predicted)]
    rows = np.arange(len(tags))
    ax_bar.barh(rows, probs, color=colors)
    ax_bar.scatter(limits, rows, marker="|", s=120, color="black", label=t("threshold"))
    ax_bar.set(yticks=rows, xlim=(0, 1), xlabel=t("predicted probability"))
    ax_bar.set_yticklabels(tags, fontsize=8)
    ax_bar.invert_yaxis()
    ax_bar.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in ("seagreen", "orange", "crimson")] +
                  [ax_bar.collections[0]],
                  labels=[t("true, found"), t("true, missed"), t("predicted, wrong"), t("threshold")],
                  fontsize=7, loc="lower right")
    return axes
