"""The scenario generator as a development set: generate cases, then score lossdoctor on them.

    python bench/devset.py generate --n N --seed S --out DIR [--part dev|test] [--jobs 1]
    python bench/devset.py run DIR --part dev|test [--jobs 1] [--reuse] [--out TABLES.md]
    python bench/devset.py calibrate DIR [DIR...] [--fit even|odd|all] [--score even|odd|all]
    python bench/devset.py operators

`generate` writes each case's broken script and its fixed twin under DIR/cases/, runs both
plainly to keep only cases that show the symptom while the twin learns, and writes
DIR/manifest.json. `run` diagnoses the kept cases of one part with `lossdoctor run --json` and
prints Markdown tables. Tune on `dev`; report `test`. See docs/devset.md.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devset.diagnose import diagnose  # noqa: E402
from devset.generate import filter_summary, generate, read_manifest  # noqa: E402
from devset.operators import by_cause  # noqa: E402
from devset.score import Scored, tables  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "generate":
        return _generate(args)
    if args.command == "run":
        return _run(args)
    if args.command == "calibrate":  # imports lossdoctor (and torch): only when asked
        from devset.calibrate import main as calibrate
        from devset.calibrate import store
        print(calibrate(args.folders, args.fit, args.score, args.prior))
        if args.store:
            print(f"stored {store(args.folders, args.store)} cases in {args.store}")
        return 0
    if args.command == "operators":
        print(operator_table())
        return 0
    _parser().print_help()
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    make = commands.add_parser("generate", help="write and filter cases")
    make.add_argument("--n", type=int, required=True, help="case seeds to draw")
    make.add_argument("--seed", type=int, default=0, help="first case seed")
    make.add_argument("--out", type=Path, required=True, help="folder for scripts and manifest")
    make.add_argument("--part", choices=["dev", "test"], help="only this part's seeds")
    make.add_argument("--jobs", type=int, default=1, help="plain runs at a time")
    make.add_argument("--cause", help="only the seeds of this cause id")
    make.add_argument("--operator", help="a case of this fault operator on every seed")
    make.add_argument("--manual-updates", action="store_true",
                      help="write each case's optimizer step by hand as plain SGD "
                           "(cases whose fault is in the schedule are left out)")
    make.add_argument("--plateau", action="store_true",
                      help="replace each case's schedule by ReduceLROnPlateau on the "
                           "validation loss (cases without one, or whose fault is in the "
                           "schedule, are left out)")
    make.add_argument("--time-major", action="store_true",
                      help="draw each case on a recurrent or transformer base given "
                           "(time, batch, ...) batches (nn.LSTM's default batch_first=False)")
    make.add_argument("--two-modules", action="store_true",
                      help="write each case's MLP as two modules, an encoder and a head, "
                           "called one after the other (other cases are left out)")
    run = commands.add_parser("run", help="diagnose the kept cases of one part")
    run.add_argument("folder", type=Path, help="a folder written by generate")
    run.add_argument("--part", choices=["dev", "test"], required=True)
    run.add_argument("--jobs", type=int, default=1, help="lossdoctor runs at a time")
    run.add_argument("--reuse", action="store_true", help="reuse reports already written")
    run.add_argument("--out", type=Path, help="also write the tables to this file")
    cal = commands.add_parser("calibrate", help="measure the confidence calibration table")
    cal.add_argument("folders", type=Path, nargs="+", help="folders diagnosed by run")
    cal.add_argument("--fit", choices=["even", "odd", "all"], default="all",
                     help="the case seeds the table is measured on")
    cal.add_argument("--score", choices=["even", "odd", "all"], default="all",
                     help="the case seeds scored before and after")
    cal.add_argument("--prior", type=int,
                     help="the prior's weight for after (default: the likeliest on --fit)")
    cal.add_argument("--store", type=Path,
                     help="also write the reports counted, trimmed, to this JSON file "
                          "(tests/data/calibration/dev_reports.json: what the shipped table "
                          "is tested against)")
    commands.add_parser("operators", help="print the operator list as Markdown")
    return parser


def _generate(args) -> int:
    manifest = generate(args.n, args.seed, args.out, args.part, args.jobs,
                        log=lambda line: print(line, file=sys.stderr, flush=True),
                        cause=args.cause, operator=args.operator,
                        manual=args.manual_updates, plateau=args.plateau,
                        time_major=args.time_major, two_modules=args.two_modules)
    print(filter_summary(manifest))
    print()
    for part in ("dev", "test"):
        kept = [entry for entry in manifest if entry["kept"] and entry["part"] == part]
        causes = len({entry["cause"] for entry in kept})
        print(f"- {part}: {len(kept)} kept cases over {causes} causes")
    return 0


def _run(args) -> int:
    entries = [e for e in read_manifest(args.folder) if e["kept"] and e["part"] == args.part]

    def scored(entry: dict) -> Scored:
        folder = args.folder / entry["folder"]
        result = Scored(entry, diagnose(folder / "broken.py", args.reuse),
                        diagnose(folder / "twin.py", args.reuse))
        print(f"{entry['id']}: expected {entry['cause']}, reported "
              f"{', '.join(result.broken.ids[:3]) or result.broken.status}; twin "
              f"{', '.join(result.twin.ids[:3]) or result.twin.status}", file=sys.stderr,
              flush=True)
        return result

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(scored, entries))
    text = tables(results, args.part)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


def operator_table() -> str:
    rows = ["| cause | operator | the fault | set-up (twin too) | also acceptable |",
            "| --- | --- | --- | --- | --- |"]
    for cause, ops in by_cause().items():
        rows += [f"| `{cause}` | `{op.name}` | {op.description} | {op.set_up} | "
                 f"{', '.join(f'`{c}`' for c in op.also)} |" for op in ops]
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
