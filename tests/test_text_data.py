"""course_utils.text_data: NSMC download against a local HTTP server, checksums, corpus files, bad inputs, fallback."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import threading
from pathlib import Path

import pytest

from course_utils import text_data
from course_utils.download import ChecksumError, DownloadError
from course_utils.text_data import (
    UNOFFICIAL_SCORE_NOTE, download_nsmc, find_nsmc_files, lee_sentences, load_nsmc, load_polarity_fallback,
    load_sentiment_corpus, read_labelled_table,
)

HEADER = "id\tdocument\tlabel\n"


def nsmc_text(rows: int, start: int = 0) -> str:
    lines = [f"{start + i}\t{'재밌다 최고' if i % 2 else '별로 지루해'} {i}\t{i % 2}" for i in range(rows)]
    return HEADER + "\n".join(lines) + "\n"


@pytest.fixture()
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1 (a stand-in for raw.githubusercontent.com); yield (folder, base URL)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def publish(www, monkeypatch, test_rows=50_000):
    train, test = nsmc_text(300), nsmc_text(test_rows, start=10_000)
    (www / "ratings_train.txt").write_text(train, encoding="utf-8")
    (www / "ratings_test.txt").write_text(test, encoding="utf-8")
    checksums = {"ratings_train.txt": sha(train), "ratings_test.txt": sha(test)}
    monkeypatch.setattr(text_data, "NSMC_SHA256", checksums)
    return checksums


def test_download_fetches_verifies_and_caches_the_official_files(server, tmp_path, monkeypatch):
    www, url = server
    checksums = publish(www, monkeypatch)
    root = tmp_path / "data"
    root.mkdir()
    folder = download_nsmc(root, base_url=url)
    assert folder == root / "nsmc"
    assert text_data.file_digest(folder / "ratings_test.txt") == checksums["ratings_test.txt"]
    (www / "ratings_train.txt").unlink()  # a second call must use the cache, not the server
    assert download_nsmc(root, base_url=url) == folder
    corpus = load_nsmc(root, download=False)
    assert corpus.name == "NSMC" and len(corpus.train) == 300 and len(corpus.test) == 50_000
    assert set(corpus.train.label) == {0, 1}


def test_checksum_mismatch_is_refused_and_leaves_no_file(server, tmp_path, monkeypatch):
    www, url = server
    publish(www, monkeypatch)
    (www / "ratings_train.txt").write_text(nsmc_text(300) + "1\ttampered\t1\n", encoding="utf-8")
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(ChecksumError, match="expected"):
        download_nsmc(root, base_url=url)
    assert not (root / "nsmc" / "ratings_train.txt").exists()
    assert not list((root / "nsmc").glob("*.part"))


def test_file_without_known_digest_is_checked_by_size(server, tmp_path, monkeypatch):
    www, url = server
    publish(www, monkeypatch)
    checksums = dict(text_data.NSMC_SHA256, **{"ratings_train.txt": None})
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(ChecksumError, match="bytes"):
        download_nsmc(root, base_url=url, checksums=checksums, sizes={"ratings_train.txt": 123})
    assert not (root / "nsmc" / "ratings_train.txt").exists()


def test_unreachable_server_raises_download_error(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(DownloadError, match="Could not download"):
        download_nsmc(root, base_url="http://127.0.0.1:9/", timeout=2)


def test_shared_layout_with_unofficial_train_file_is_labelled_honestly(tmp_path, monkeypatch):
    folder = tmp_path / "nsmc"
    folder.mkdir()
    with gzip.open(folder / "ratings_train_unofficial.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write(nsmc_text(40))
    with gzip.open(folder / "ratings_test.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write(nsmc_text(50_000))
    monkeypatch.setitem(text_data.NSMC_SHA256, "ratings_test.txt", sha(nsmc_text(50_000)))  # .gz: content digest
    train, test, official = find_nsmc_files(folder)
    assert not official and train.name.endswith("unofficial.txt.gz") and test.name == "ratings_test.txt.gz"
    corpus = load_nsmc(tmp_path, download=False)
    assert corpus.score_note == UNOFFICIAL_SCORE_NOTE
    assert "unofficial" in corpus.name and len(corpus.train) == 40


def official_folder(tmp_path, monkeypatch, gz: bool = False):
    """<tmp>/nsmc with an official-looking train (checked by size) and test file (checked by sha256)."""
    folder = tmp_path / "nsmc"
    folder.mkdir()
    train, test = nsmc_text(30), nsmc_text(50_000, start=10_000)
    for name, text in (("ratings_train.txt", train), ("ratings_test.txt", test)):
        if gz:
            with gzip.open(folder / f"{name}.gz", "wt", encoding="utf-8") as handle:
                handle.write(text)
        else:
            (folder / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(text_data, "NSMC_SHA256", {"ratings_test.txt": sha(test), "ratings_train.txt": None})
    monkeypatch.setattr(text_data, "NSMC_BYTES", {"ratings_test.txt": len(test.encode()),
                                                  "ratings_train.txt": len(train.encode())})
    return folder


@pytest.mark.parametrize("gz", [False, True])
def test_intact_official_files_on_disk_pass_their_checks(tmp_path, monkeypatch, gz):
    official_folder(tmp_path, monkeypatch, gz)
    corpus = load_nsmc(tmp_path, download=False)
    assert corpus.name == "NSMC" and len(corpus.train) == 30 and len(corpus.test) == 50_000


def test_tampered_official_test_file_on_disk_is_refused_and_named(tmp_path, monkeypatch, capsys):
    folder = official_folder(tmp_path, monkeypatch)
    path = folder / "ratings_test.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\t1\n", "\t0\n", 1), encoding="utf-8")  # one label flipped, same size
    with pytest.raises(ChecksumError, match=r"nsmc/ratings_test\.txt has content sha256 .* delete it"):
        load_nsmc(tmp_path, download=False)
    corpus = load_sentiment_corpus("nsmc", data_dir=str(tmp_path), download=False)
    assert corpus.is_fallback and "ratings_test.txt has content sha256" in capsys.readouterr().out


def test_truncated_official_files_on_disk_are_refused_and_named(tmp_path, monkeypatch):
    folder = official_folder(tmp_path, monkeypatch, gz=True)
    test_gz = folder / "ratings_test.txt.gz"
    intact = test_gz.read_bytes()
    test_gz.write_bytes(intact[: len(intact) // 2])
    with pytest.raises(ChecksumError, match=r"nsmc/ratings_test\.txt\.gz cannot be read to the end.*truncated"):
        load_nsmc(tmp_path, download=False)
    test_gz.write_bytes(intact)
    train = folder / "ratings_train.txt.gz"
    with gzip.open(train, "rt", encoding="utf-8") as handle:
        rows = handle.read().splitlines(keepends=True)
    with gzip.open(train, "wt", encoding="utf-8") as handle:  # a complete gzip stream missing its last row
        handle.write("".join(rows[:-1]))
    with pytest.raises(ChecksumError, match=r"nsmc/ratings_train\.txt\.gz has [\d,]+ bytes of content, the official"):
        load_nsmc(tmp_path, download=False)


REAL_NSMC = Path(os.environ.get("COURSE_DATA_DIR") or "/nonexistent") / "nsmc"


@pytest.mark.skipif(not (REAL_NSMC / "ratings_test.txt.gz").is_file(), reason="real NSMC not in $COURSE_DATA_DIR")
def test_real_official_test_split_passes_the_on_disk_check():
    text_data.check_official_file(REAL_NSMC / "ratings_test.txt.gz", "ratings_test.txt")
    corpus = load_nsmc(REAL_NSMC.parent, download=False)
    assert len(corpus.test) == 50_000 and corpus.test.label.sum() == 25_173


def test_official_file_is_preferred_over_the_unofficial_one(tmp_path):
    folder = tmp_path / "nsmc"
    folder.mkdir()
    for name in ("ratings_train.txt", "ratings_train_unofficial.txt.gz", "ratings_test.txt"):
        (folder / name).write_text(nsmc_text(5), encoding="utf-8")
    assert find_nsmc_files(folder)[2] is True


def test_custom_corpus_with_own_column_names(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('review,stars\n"great, loved it",1\nawful,0\n', encoding="utf-8")
    corpus = load_sentiment_corpus("custom", train_file=str(path), test_file=str(path),
                                   text_column="review", label_column="stars")
    assert corpus.train.text.tolist() == ["great, loved it", "awful"]
    assert corpus.train.label.tolist() == [1, 0]


def test_missing_column_names_the_columns_that_exist(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("id\ttext\tlabel\n1\tgood\t1\n", encoding="utf-8")
    with pytest.raises(KeyError, match=r"no column 'document'.*\['id', 'text', 'label'\].*TEXT_COLUMN"):
        read_labelled_table(path)


def test_labels_other_than_0_1_are_named_with_their_line(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("document\tlabel\ngood\t1\nmeh\t5\nbad\t0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"lines \[3\] hold \['5'\]"):
        read_labelled_table(path)


@pytest.mark.parametrize("content", ["", "document\tlabel\n"])
def test_empty_file_is_refused(tmp_path, content):
    path = tmp_path / "r.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="empty|no data rows|no rows"):
        read_labelled_table(path)


def test_missing_file_and_bad_corpus_choice(tmp_path):
    with pytest.raises(FileNotFoundError, match="No corpus file"):
        read_labelled_table(tmp_path / "nope.tsv")
    with pytest.raises(ValueError, match="CORPUS must be"):
        load_sentiment_corpus("imdb")
    with pytest.raises(ValueError, match="needs TRAIN_FILE and TEST_FILE"):
        load_sentiment_corpus("custom")


def test_offline_without_data_falls_back_to_gensim_polarity_with_a_banner(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(text_data, "NSMC_BASE_URL", "http://127.0.0.1:9/")
    monkeypatch.setattr(text_data, "download_nsmc", functools.partial(download_nsmc, base_url="http://127.0.0.1:9/", timeout=2))
    corpus = load_sentiment_corpus("nsmc", data_dir=str(tmp_path))
    assert corpus.is_fallback and len(corpus.train) == 160 and len(corpus.test) == 40
    assert "near chance" in capsys.readouterr().out


def test_polarity_fallback_and_lee_corpus_are_real_text():
    corpus = load_polarity_fallback(seed=1)
    assert set(corpus.train.label) == {0, 1} and corpus.train.text.str.len().min() > 0
    assert len(lee_sentences()) == 300


# --------------------------------------------------------------------------- which test split the scores come from


def test_official_test_split_note_says_published_results_compare(tmp_path, monkeypatch):
    official_folder(tmp_path, monkeypatch)
    corpus = load_nsmc(tmp_path, download=False)
    assert corpus.official_test
    note = corpus.test_split_note(50_000)
    assert note.startswith("Test split: NSMC's official 50,000-review test split") and "can be set beside" in note
    limited = corpus.test_split_note(2_000)
    assert "2,000 of the 50,000 reviews" in limited and "TEST_LIMIT" in limited and "do not compare" in limited


def test_unofficial_train_file_still_tests_on_the_official_split(tmp_path, monkeypatch):
    folder = tmp_path / "nsmc"
    folder.mkdir()
    (folder / "ratings_train_unofficial.txt").write_text(nsmc_text(40), encoding="utf-8")
    (folder / "ratings_test.txt").write_text(nsmc_text(50_000), encoding="utf-8")
    monkeypatch.setitem(text_data.NSMC_SHA256, "ratings_test.txt", sha(nsmc_text(50_000)))
    assert "NSMC's official 50,000-review" in load_nsmc(tmp_path, download=False).test_split_note(50_000)


def test_custom_corpus_note_does_not_speak_of_the_official_split(tmp_path):
    path = tmp_path / "reviews.tsv"
    path.write_text("document\tlabel\ngood\t1\nbad\t0\nfine\t1\n", encoding="utf-8")
    corpus = load_sentiment_corpus("custom", train_file=str(path), test_file=str(path))
    assert not corpus.official_test
    assert corpus.test_split_note(3) == ("Test split: 3 texts of your corpus (reviews.tsv), not NSMC's official test "
                                         "split, so published NSMC results do not compare with this run's scores.")


def test_fallback_note_does_not_speak_of_the_official_split():
    corpus = load_polarity_fallback(seed=0)
    note = corpus.test_split_note(len(corpus.test))
    assert note.startswith("Test split: 40 texts of gensim's Pang & Lee polarity sample") and "not NSMC's official" in note
