"""How long the HTML report takes to build from a saved report JSON: every figure is drawn at the
report's width and again at a phone's, so this is most of the time `--html` adds to a run.

    python bench/html_build_time.py REPORT.json [--renders 5]

Renders the page ``--renders`` times in one process (after one warm-up render that imports
matplotlib and fills its font cache) and prints the mean and median seconds per render, wall
clock and CPU, and how many figures (SVG files) one render draws: on a shared machine the CPU
time and the count are the steadier measures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from lossdoctor.report import figures, html


def render_seconds(document: dict, renders: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each render: on a machine shared with other work the wall
    clock doubled from one round to the next (load 5-15); the CPU time moved far less."""
    html.render(document)  # warm-up: imports, font cache
    wall, cpu = [], []
    for _ in range(renders):
        start, start_cpu = time.perf_counter(), time.process_time()
        html.render(document)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


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
    wall, cpu = render_seconds(document, args.renders)
    print(f"{args.report.name}: {figures_drawn(document)} figures drawn, {len(wall)} renders, "
          f"mean {statistics.mean(wall):.3f} s, median {statistics.median(wall):.3f} s; CPU "
          f"mean {statistics.mean(cpu):.3f} s, median {statistics.median(cpu):.3f} s")


if __name__ == "__main__":
    main()
