"""Execute the course notebooks headlessly with papermill and collect their recorded results."""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from .results import read_results

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"


def course_notebooks(names: list[str] | None = None) -> list[Path]:
    """Return the lesson notebooks in course order, or the named ones (with or without .ipynb)."""
    available = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return available
    by_name = {p.stem: p for p in available}
    chosen = []
    for name in names:
        stem = Path(name).stem
        if stem not in by_name:
            raise SystemExit(f"Unknown notebook {name!r}. Choose from: {', '.join(by_name)}")
        chosen.append(by_name[stem])
    return chosen


def quick_parameters(notebook: Path) -> dict:
    """Return the notebook's quick profile from its metadata."""
    meta = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]
    return dict(meta.get("course_kit", {}).get("quick_parameters", {}))


def strip_volatile_metadata(path: Path) -> None:
    """Drop papermill's per-cell timestamps so committed notebooks diff cleanly."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"].pop("papermill", None)
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def execute(notebook: Path, output: Path, parameters: dict) -> tuple[bool, str, float]:
    """Run one notebook; return (succeeded, error message, seconds)."""
    import papermill

    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, cwd=str(NOTEBOOK_DIR),
            kernel_name="python3", progress_bar=False, log_output=False,
        )
        return True, "", time.perf_counter() - start
    except papermill.PapermillExecutionError as exc:
        return False, f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}", time.perf_counter() - start


def write_summary(out: Path, rows: list[dict]) -> None:
    """Write results.json, results.csv (one row per recorded result) and summary.md."""
    (out / "results.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["notebook", "status", "seconds", "result", "value"])
        for row in rows:
            for name, value in (row["results"] or {"": ""}).items():
                writer.writerow([row["notebook"], row["status"], f"{row['seconds']:.1f}", name, json.dumps(value)])
    lines = ["# Course run", "", "| notebook | status | minutes | results |", "|---|---|---|---|"]
    for row in rows:
        shown = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in row["results"].items())
        status = row["status"] if row["status"] == "ok" else f"FAILED ({row['error']})"
        lines.append(f"| {row['notebook']} | {status} | {row['seconds'] / 60:.1f} | {shown} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="*", help="notebook names (default: all, in course order)")
    parser.add_argument("--out", default="outputs/course", help="folder for executed copies and the summary")
    parser.add_argument("--quick", action="store_true", help="run each notebook's quick profile")
    parser.add_argument("--in-place", action="store_true", help="overwrite notebooks/ with full-run outputs")
    args = parser.parse_args(argv)
    notebooks = course_notebooks(args.notebooks)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, notebook in enumerate(notebooks, 1):
        target = notebook if args.in_place else out / notebook.name
        parameters = quick_parameters(notebook) if args.quick else {}
        print(f"[{index}/{len(notebooks)}] {notebook.name} ({'quick' if args.quick else 'full'} profile) ...", flush=True)
        ok, error, seconds = execute(notebook, target, parameters)
        if args.in_place:
            strip_volatile_metadata(target)
        results = read_results(target) if target.exists() else {}
        print(f"    {'ok' if ok else 'FAILED: ' + error} in {seconds / 60:.1f} min; results: {results}", flush=True)
        rows.append({"notebook": notebook.stem, "status": "ok" if ok else "failed", "error": error,
                     "seconds": seconds, "results": results})
    if not args.in_place:
        write_summary(out, rows)
        print(f"Executed notebooks and summary.md / results.csv / results.json are in {out}")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
