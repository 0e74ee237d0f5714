#!/usr/bin/env python3
"""The course website's build (`kit.py site`): wall time of a whole build and the size of what it writes.

Builds the site from the committed notebooks --repeats times into a temporary folder (each build starts from
nothing, as on a fresh clone; requirements-docs.txt must be installed: run `python3 scripts/kit.py site` once) and
prints a markdown table: the fastest and the median build, and the site's size in MB, in all and by part.

Run: .venv/bin/python benchmarks/site_build.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from course_utils.instructor.site import EDITIONS, build_site, folder_megabytes  # noqa: E402


def part_sizes(site: Path) -> dict[str, float]:
    """MB of the site's parts: both editions' HTML pages, their figures, their static files (MathJax apart), the
    MathJax copies, the search indexes and the downloadable student notebooks."""
    def megabytes(pattern: str) -> float:
        files = (path for edition in EDITIONS for path in (site / edition).glob(pattern) if path.is_file())
        return sum(path.stat().st_size for path in files) / 1e6

    mathjax = megabytes("_static/mathjax/**/*")
    return {"HTML pages": megabytes("*.html"), "figures (_images)": megabytes("_images/*"),
            "theme, scripts, styles": megabytes("_static/**/*") - mathjax, "MathJax": mathjax,
            "search indexes": megabytes("searchindex.js"), "student notebooks": folder_megabytes(site / "notebooks")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "site"
        for _ in range(args.repeats):
            start = time.perf_counter()
            build_site(out)
            times.append(time.perf_counter() - start)
        total, parts = folder_megabytes(out), part_sizes(out)
    print(f"| builds | fastest | median | site size |\n|---|---|---|---|\n"
          f"| {args.repeats} | {min(times):.1f} s | {statistics.median(times):.1f} s | {total:.1f} MB |\n")
    print("| part | MB |\n|---|---|")
    for name, size in parts.items():
        print(f"| {name} | {size:.1f} |")


if __name__ == "__main__":
    main()
