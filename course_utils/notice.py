"""Show a notice a reader cannot miss, as a coloured box in notebooks and framed text elsewhere."""
from __future__ import annotations

import html

from IPython.display import display

LEVEL_COLOURS = {"info": "#e7f1fb", "warning": "#fff4d6"}


def show_notice(title: str, body: str, level: str = "warning") -> None:
    """Display a titled notice box (HTML in notebooks, framed text in terminals and logs)."""
    if level not in LEVEL_COLOURS:
        raise ValueError(f"level must be one of {sorted(LEVEL_COLOURS)}, got {level!r}.")
    rule = "=" * max(len(title), 20)
    text = f"{rule}\n{title}\n{rule}\n{body}"
    box = (
        f'<div style="background:{LEVEL_COLOURS[level]};border-left:6px solid #c99a06;padding:8px 12px;'
        f'color:#222"><b>{html.escape(title)}</b><br>{html.escape(body).replace(chr(10), "<br>")}</div>'
    )
    display({"text/plain": text, "text/html": box}, raw=True)
