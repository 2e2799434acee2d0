"""How long the HTML report takes to build from a saved report JSON: every figure is drawn at the
report's width and again at a phone's, so this is most of the time `--html` adds to a run.

    python bench/html_build_time.py REPORT.json [--renders 5]

Renders the page ``--renders`` times in one process (after one warm-up render that imports
matplotlib and fills its font cache) and prints the mean and median seconds per render, and how
many figures (SVG files) one render draws: on a shared machine the count is the steady measure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from lossdoctor.report import figures, html


def render_seconds(document: dict, renders: int) -> list[float]:
    html.render(document)  # warm-up: imports, font cache
    seconds = []
    for _ in range(renders):
        start = time.perf_counter()
        html.render(document)
        seconds.append(time.perf_counter() - start)
    return seconds


def figures_drawn(document: dict) -> int:
    """How many SVG files one render saves (each figure at each width it is drawn at)."""
    saved = []
    save = figures.Figure.savefig

    def counting(self, *args, **kwargs):
        saved.append(1)
        return save(self, *args, **kwargs)

    figures.Figure.savefig = counting
    try:
        html.render(document)
    finally:
        figures.Figure.savefig = save
    return len(saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a report JSON (lossdoctor run --json PATH)")
    parser.add_argument("--renders", type=int, default=5)
    args = parser.parse_args()
    document = json.loads(args.report.read_text())
    seconds = render_seconds(document, args.renders)
    print(f"{args.report.name}: {figures_drawn(document)} figures drawn, {len(seconds)} renders, "
          f"mean {statistics.mean(seconds):.3f} s, median {statistics.median(seconds):.3f} s")


if __name__ == "__main__":
    main()
