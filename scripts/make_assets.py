#!/usr/bin/env python3
"""Regenerate the figures in assets/ from course_utils (run after changing a drawing function)."""
from pathlib import Path

from course_utils.plots import draw_working_process, use_course_style

ASSETS = Path(__file__).resolve().parents[1] / "assets"

if __name__ == "__main__":
    use_course_style()
    draw_working_process().savefig(ASSETS / "working_process.png", dpi=100, bbox_inches="tight")
    print(f"wrote {ASSETS / 'working_process.png'}")
