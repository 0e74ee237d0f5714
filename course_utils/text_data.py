"""Labelled text corpora for sentiment lessons: NSMC (local, downloaded or shared), any TSV/CSV, offline fallbacks."""
from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .download import ChecksumError, DownloadError, download_file, file_digest
from .i18n import label, t
from .notice import show_notice
from .paths import CACHE_ENV_VAR, data_root, default_cache_dir, display_path, writable_dir
from .splits import split_indices

NSMC_BASE_URL = "https://raw.githubusercontent.com/e9t/nsmc/master/"
NSMC_SUBDIR = "nsmc"
# sha256 of the official files. ratings_test.txt: given in the shared data README (same git blob as the
# corpus's file). ratings_train.txt: no published digest was available to the kit authors, so its byte
# size (14,628,807, as served by GitHub) and its row count are checked instead; set the digest here once known.
NSMC_SHA256: dict[str, str | None] = {
    "ratings_test.txt": "8ac9f64052f11dbf6ae0acb5e038f03d90a76f0eda7820cfb3a92d02edfcebda",
    "ratings_train.txt": None,
}
NSMC_BYTES = {"ratings_test.txt": 4_893_335, "ratings_train.txt": 14_628_807}
NSMC_ROWS = {"ratings_test.txt": 50_000, "ratings_train.txt": 150_000}
UNOFFICIAL_TRAIN = "ratings_train_unofficial.txt.gz"
OFFICIAL_SCORE_NOTE = "trained on the official NSMC train split, tested on the official NSMC test split"
UNOFFICIAL_SCORE_NOTE = "trained on an NSMC-style 150k set, tested on the official NSMC test split"


@dataclass
class TextCorpus:
    """A labelled corpus: train/test frames with columns text and label (0/1), and how to cite scores on it."""

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    score_note: str
    is_fallback: bool = False
    language: str = "ko"
    official_test: bool = False  # the test frame is NSMC's official 50,000-review test split

    def describe(self) -> str:
        """One line: name, sizes and positive shares of both splits, in the student's language."""
        return t("{name}: {train:,} training / {test:,} test texts ({train_positive:.1%} / {test_positive:.1%} "
                 "positive) — scores are {note}", name=label(self.name), train=len(self.train), test=len(self.test),
                 train_positive=self.train.label.mean(), test_positive=self.test.label.mean(),
                 note=label(self.score_note))

    def test_split_note(self, scored: int) -> str:
        """Which test texts a run scores and whether published NSMC results compare with its scores."""
        if self.official_test and scored == len(self.test):
            return t("Test split: NSMC's official {rows:,}-review test split, the one published NSMC results are "
                     "measured on, so this run's scores can be set beside them.", rows=scored)
        if self.official_test:
            return t("Test split: {rows:,} of the {total:,} reviews of NSMC's official test split, sampled because of "
                     "TEST_LIMIT; published NSMC results use all of them, so they do not compare one to one.",
                     rows=scored, total=len(self.test))
        return t("Test split: {rows:,} texts of {name}, not NSMC's official test split, so published NSMC results do "
                 "not compare with this run's scores.", rows=scored, name=label(self.name))


def read_labelled_table(
    path: str | os.PathLike[str], text_column: str = "document", label_column: str = "label", sep: str = "\t"
) -> pd.DataFrame:
    """Read a TSV/CSV (optionally .gz) into a frame with columns text (str) and label (0/1), checking both."""
    path = Path(path)
    shown = display_path(path)
    if not path.is_file():
        raise FileNotFoundError(t("No corpus file at {file}. Check the path, or leave it empty to use NSMC.", file=shown))
    if path.stat().st_size == 0:
        raise ValueError(t("The corpus file {file} is empty. Point the parameter at a file with a header row and data.",
                           file=shown))
    try:
        frame = pd.read_csv(path, sep=sep, quoting=3 if sep == "\t" else 0, dtype=str, keep_default_na=False, compression="infer")
    except pd.errors.EmptyDataError as exc:
        raise ValueError(t("The corpus file {file} has no rows: {error}. It needs a header and data rows.", file=shown,
                           error=exc)) from exc
    missing = [c for c in (text_column, label_column) if c not in frame.columns]
    if missing:
        raise KeyError(t(
            "{file} has no column {missing}; its columns are {columns}. "
            "Pass the right names as TEXT_COLUMN / LABEL_COLUMN (separator used: {sep!r}).",
            file=shown, missing=", ".join(map(repr, missing)), columns=list(frame.columns), sep=sep,
        ))
    if frame.empty:
        raise ValueError(t("The corpus file {file} has a header but no data rows.", file=shown))
    labels = frame[label_column].str.strip()
    bad = ~labels.isin(["0", "1"])
    if bad.any():
        rows = (frame.index[bad][:5] + 2).tolist()  # +2: 1-based and the header line
        values = sorted(set(labels[bad].tolist()))[:5]
        raise ValueError(t(
            "{file}: column {column!r} must hold only 0 (negative) and 1 (positive), but lines {rows} "
            "hold {values}. Map your labels to 0/1 first (e.g. ratings <= 4 -> 0, >= 9 -> 1).",
            file=shown, column=label_column, rows=rows, values=values,
        ))
    return pd.DataFrame({"text": frame[text_column].fillna(""), "label": labels.astype(int)})


def find_nsmc_files(folder: Path) -> tuple[Path, Path, bool] | None:
    """Return (train file, test file, whether the train file is the official split) found in folder, or None."""
    def first(names: list[str]) -> Path | None:
        return next((folder / n for n in names if (folder / n).is_file()), None)

    test = first(["ratings_test.txt", "ratings_test.txt.gz"])
    official = first(["ratings_train.txt", "ratings_train.txt.gz"])
    train = official or first([UNOFFICIAL_TRAIN, UNOFFICIAL_TRAIN.removesuffix(".gz")])
    if train is None or test is None:
        return None
    return train, test, official is not None


def content_digest_and_size(path: Path) -> tuple[str, int]:
    """Return (sha256, byte count) of a file's content, decompressing a .gz file first."""
    digest, size = hashlib.sha256(), 0
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
    except (OSError, EOFError) as exc:  # truncated or damaged gzip stream
        raise ChecksumError(t(
            "{file} cannot be read to the end ({error}); it is truncated or damaged. "
            "It was not used; delete it and download it again.", file=display_path(path), error=exc,
        )) from exc
    return digest.hexdigest(), size


def check_official_file(path: Path, name: str) -> None:
    """Raise ChecksumError unless an official NSMC file (plain or .gz) has its published content sha256
    (or byte size when no digest is known)."""
    expected = NSMC_SHA256.get(name)
    if expected is None and name not in NSMC_BYTES:
        return
    actual, size = content_digest_and_size(path)
    if expected is not None and actual != expected.lower():
        raise ChecksumError(t(
            "{file} has content sha256 {actual}, but the official {name} has {expected}: it is "
            "truncated or was changed. It was not used; delete it and download it again (github.com/e9t/nsmc).",
            file=display_path(path), actual=actual, name=name, expected=expected,
        ))
    if expected is None and size != NSMC_BYTES[name]:
        raise ChecksumError(t(
            "{file} has {size:,} bytes of content, the official {name} has {expected:,}: "
            "it is truncated or was changed. It was not used; delete it and download it again (github.com/e9t/nsmc).",
            file=display_path(path), size=size, name=name, expected=NSMC_BYTES[name],
        ))


def download_nsmc(
    root: str | os.PathLike[str] | None = None,
    base_url: str = NSMC_BASE_URL,
    checksums: dict[str, str | None] | None = None,
    sizes: dict[str, int] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the official ratings_train.txt / ratings_test.txt into <root>/nsmc (or the cache), verified, cached."""
    checksums = NSMC_SHA256 if checksums is None else checksums
    sizes = NSMC_BYTES if sizes is None else sizes
    folder = writable_dir(data_root(root), NSMC_SUBDIR)
    for name in ("ratings_train.txt", "ratings_test.txt"):
        target = folder / name
        expected = checksums.get(name)
        if target.is_file() and (expected is None or file_digest(target) == expected):
            continue
        print(t("Downloading {name} from {url} ...", name=name, url=base_url), flush=True)
        path = download_file(base_url + name, target, checksum=expected, timeout=timeout)
        if expected is None and name in sizes and path.stat().st_size != sizes[name]:
            size = path.stat().st_size
            path.unlink()
            raise ChecksumError(t("{name} from {url} has {size:,} bytes, expected {expected:,}; it was deleted.",
                                  name=name, url=base_url, size=size, expected=sizes[name]))
    return folder


def load_nsmc(data_dir: str | os.PathLike[str] | None = None, download: bool = True) -> TextCorpus:
    """Load NSMC from <data root>/nsmc (official or shared unofficial train file), downloading it if allowed."""
    root = data_root(data_dir)
    cache = Path(os.environ.get(CACHE_ENV_VAR) or default_cache_dir())
    found = find_nsmc_files(root / NSMC_SUBDIR) or find_nsmc_files(cache / NSMC_SUBDIR)
    if found is None:
        if not download:
            raise FileNotFoundError(t(
                "No NSMC files in {folder}. Put ratings_train.txt and ratings_test.txt "
                "there (from github.com/e9t/nsmc) or allow the download.", folder=display_path(root / NSMC_SUBDIR),
            ))
        folder = download_nsmc(root)
        found = find_nsmc_files(folder)
        if found is None:
            raise FileNotFoundError(t(
                "The NSMC download finished but {folder} lacks ratings_train.txt or ratings_test.txt. "
                "Delete the folder and run again.", folder=display_path(folder),
            ))
    train_path, test_path, official = found
    check_official_file(test_path, "ratings_test.txt")  # the test split is always the official one
    if official:
        check_official_file(train_path, "ratings_train.txt")
    train = read_labelled_table(train_path)
    test = read_labelled_table(test_path)
    if len(test) != NSMC_ROWS["ratings_test.txt"]:
        raise ValueError(t("{file} has {rows:,} rows, the official test split 50,000.", file=display_path(test_path),
                           rows=len(test)))
    return TextCorpus(
        name="NSMC" if official else "NSMC (NSMC-style unofficial 150k train set)",
        train=train, test=test, score_note=OFFICIAL_SCORE_NOTE if official else UNOFFICIAL_SCORE_NOTE,
        official_test=True,
    )


def gensim_test_file(name: str) -> Path:
    """Return the path of a file from gensim's bundled test data."""
    from gensim.test.utils import datapath

    path = Path(datapath(name))
    if not path.is_file():
        raise FileNotFoundError(t("gensim's test data has no {name}; reinstall gensim (pip install gensim).", name=name))
    return path


def load_polarity_fallback(seed: int = 0) -> TextCorpus:
    """Load the 200 English sentence-polarity lines gensim ships (Pang & Lee), split 80/20 with a seed."""
    rows = []
    for line in gensim_test_file("pang_lee_polarity.cor").read_text(encoding="utf-8", errors="replace").splitlines():
        tag, _, text = line.partition(" ")
        if tag in ("__label__neg", "__label__pos"):
            rows.append((text.strip(), int(tag == "__label__pos")))
    frame = pd.DataFrame(rows, columns=["text", "label"])
    train_idx, test_idx = split_indices(len(frame), (0.8, 0.2), seed=seed)
    return TextCorpus(
        name="gensim's Pang & Lee polarity sample (offline fallback)",
        train=frame.iloc[train_idx.numpy()].reset_index(drop=True),
        test=frame.iloc[test_idx.numpy()].reset_index(drop=True),
        score_note="on a 200-sentence English sample: near chance, not comparable to NSMC",
        is_fallback=True, language="en",
    )


def lee_sentences() -> list[str]:
    """Return the 300 English news paragraphs of gensim's Lee background corpus (extra word2vec text offline)."""
    return [line.strip() for line in gensim_test_file("lee_background.cor").read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]


def load_sentiment_corpus(
    corpus: str = "nsmc",
    data_dir: str | os.PathLike[str] | None = None,
    train_file: str = "",
    test_file: str = "",
    text_column: str = "document",
    label_column: str = "label",
    download: bool = True,
    seed: int = 0,
) -> TextCorpus:
    """Load the lesson's corpus: NSMC, or your own files (CORPUS='custom'), else the offline fallback with a banner."""
    if corpus == "custom":
        if not train_file or not test_file:
            raise ValueError(t("CORPUS='custom' needs TRAIN_FILE and TEST_FILE (paths to TSV files with a header)."))
        sep = "," if str(train_file).endswith((".csv", ".csv.gz")) else "\t"
        train = read_labelled_table(train_file, text_column, label_column, sep)
        test = read_labelled_table(test_file, text_column, label_column, sep)
        return TextCorpus(f"your corpus ({Path(train_file).name})", train, test, f"on {Path(test_file).name}", language="?")
    if corpus != "nsmc":
        raise ValueError(t("CORPUS must be 'nsmc' or 'custom', got {corpus!r}.", corpus=corpus))
    try:
        return load_nsmc(data_dir, download=download)
    except (FileNotFoundError, DownloadError, ChecksumError, PermissionError) as exc:
        fallback = load_polarity_fallback(seed)
        show_notice(
            t("Offline fallback: NSMC is not available"),
            t("Could not load NSMC ({error}: {detail}).\n"
              "Using {name}: {train} training and {test} test sentences, "
              "plus gensim's Lee news corpus for word2vec. Accuracy will be near chance on so little data; "
              "set COURSE_DATA_DIR (or DATA_DIR) to a folder with nsmc/ or go online for the real lesson.",
              error=type(exc).__name__, detail=exc, name=label(fallback.name), train=len(fallback.train),
              test=len(fallback.test)),
        )
        return fallback
