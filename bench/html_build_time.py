"""How long the HTML report takes to build from a saved report JSON: every figure is drawn at the
report's width and again at a phone's, so this is most of the time `--html` adds to a run.

    python bench/html_build_time.py REPORT.json [--renders 5]

Renders the page ``--renders`` times in one process (after one warm-up render that imports
matplotlib and fills its font cache) and prints the mean and median seconds per render.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from lossdoctor.report import html


def render_seconds(document: dict, renders: int) -> list[float]:
    html.render(document)  # warm-up: imports, font cache
    seconds = []
    for _ in range(renders):
        start = time.perf_counter()
        html.render(document)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a report JSON (lossdoctor run --json PATH)")
    parser.add_argument("--renders", type=int, default=5)
    args = parser.parse_args()
    seconds = render_seconds(json.loads(args.report.read_text()), args.renders)
    print(f"{args.report.name}: {len(seconds)} renders, mean {statistics.mean(seconds):.3f} s, "
          f"median {statistics.median(seconds):.3f} s")


if __name__ == "__main__":
    main()
