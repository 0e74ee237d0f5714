"""Plots of a batch: each numeric result against each varied parameter, with error bars over seeds (inline PNG)."""
from __future__ import annotations

import base64
import io
import json
import math

from .plan import Run
from .summary import SEED_NAMES, finished, is_number, mean_std, ordered


def parameter_plots(runs: list[Run], max_results: int = 9) -> list[tuple[str, str, str]]:
    """Return (notebook, parameter, base64 PNG) for each varied non-seed parameter: results vs the parameter,
    mean with error bars (standard deviation over seeds), one line per setting of the other varied parameters."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figures = []
    for notebook in ordered(r.notebook for r in runs):
        ok = finished(runs, notebook)
        varied = [n for n in ordered(n for r in ok for n in r.varied)
                  if len({json.dumps(r.varied.get(n), sort_keys=True) for r in ok}) > 1]
        numeric = [n for n in ordered(n for r in ok for n in r.results)  # numbers that differ between runs
                   if all(is_number(r.results.get(n)) for r in ok) and len({r.results[n] for r in ok}) > 1]
        numeric = numeric[:max_results]
        if not numeric:
            continue
        for param in [n for n in varied if n not in SEED_NAMES]:
            others = [n for n in varied if n != param and n not in SEED_NAMES]
            groups: dict[str, list[Run]] = {}
            for r in ok:
                groups.setdefault(", ".join(f"{o}={r.varied.get(o)}" for o in others), []).append(r)
            xs_all = ordered(json.dumps(r.varied[param]) for r in ok)
            numeric_x = all(is_number(json.loads(x)) for x in xs_all)
            cols = min(3, len(numeric))
            rows = math.ceil(len(numeric) / cols)
            fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), dpi=80, squeeze=False)
            for ax, result in zip(axes.flat, numeric):
                for label, members in groups.items():
                    xs, means, stds = [], [], []
                    for x in xs_all:
                        vals = [r.results[result] for r in members if json.dumps(r.varied[param]) == x]
                        if vals:
                            mean, std = mean_std(vals)
                            xs.append(json.loads(x) if numeric_x else xs_all.index(x))
                            means.append(mean)
                            stds.append(std)
                    ax.errorbar(xs, means, yerr=stds, marker="o", capsize=4, label=label or None)
                values = [json.loads(x) for x in xs_all]
                if numeric_x and all(x > 0 for x in values) and max(values) / min(values) >= 50:
                    ax.set_xscale("log")
                if not numeric_x:
                    ax.set_xticks(range(len(xs_all)), [str(x) for x in values])
                ax.set_xlabel(param)
                ax.set_title(result, fontsize=10)
                ax.grid(alpha=0.3)
                if len(groups) > 1:
                    ax.legend(fontsize=7)
            for ax in list(axes.flat)[len(numeric):]:
                ax.axis("off")
            seeds = [n for n in varied if n in SEED_NAMES]
            note = f" (mean ± std over {', '.join(seeds)})" if seeds else ""
            fig.suptitle(f"{notebook}: results vs {param}{note}", fontsize=11)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            plt.close(fig)
            figures.append((notebook, param, base64.b64encode(buffer.getvalue()).decode("ascii")))
    return figures
