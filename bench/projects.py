"""Multi-file training projects in the layout of well-known repositories (bench/projects/), each
run healthy and with injected bugs, under `lossdoctor run --json`, one at a time, under
`nice -n 10`. Prints a Markdown table like bench/corpus.py.

    python bench/projects.py [--only PATTERN ...] [--out PATH] [--keep-reports DIR]

A project is a folder of modules (a Trainer in its own module, JSON/YAML/Python configs, models,
losses and metrics in their own files, `main()` under `if __name__ == "__main__"`) written in the
idiom of the repository named in its README. A bug is injected through the project's own options
(a config file or a command-line override) or as a small patch of one file (see CASES); nothing
in the code names the answer. Each run works on a copy of the project in a temporary folder, so
that patches and checkpoints never touch the tree.

A broken run is right first when the expected cause is reported first, right in the top 3 when it
is among the first three. A healthy run is quiet when its training was seen and nothing was
reported (status `healthy`). This set is a development set (issue 11): it may be tuned on.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import _mark, _share  # noqa: E402
from third_party import patch  # noqa: E402
from zoo import ENV, TIMEOUT  # noqa: E402

PROJECTS = Path(__file__).resolve().parent / "projects"
REPO = PROJECTS.parents[1]
HEALTHY = "healthy"
#: How the report's notes begin for an error of lossdoctor's own outside the checks.
INTERNAL_ERROR = "lossdoctor internal error: "


@dataclass(frozen=True)
class Case:
    """One run of a project: its entry script with ``args``, after ``patches`` (file -> edits)."""

    project: str
    name: str
    expected: str  # the cause id expected first, or HEALTHY
    script: str
    args: tuple[str, ...] = ()
    patches: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.project}/{self.name}"


@dataclass
class Outcome:
    case: Case
    seconds: float
    status: str = "no report"
    causes: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    train_seen: bool = False
    validation_passes: int = 0
    note: str = ""
    #: lossdoctor's own errors outside the checks (a capture that stopped: the report's notes)
    internal_errors: int = 0

    @property
    def healthy_case(self) -> bool:
        return self.case.expected == HEALTHY

    @property
    def top1(self) -> bool:
        if self.healthy_case:
            return self.status == HEALTHY
        return bool(self.causes) and self.causes[0] == self.case.expected

    @property
    def top3(self) -> bool:
        return self.top1 if self.healthy_case else self.case.expected in self.causes[:3]


def _p(file: str, *edits: tuple[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (file, tuple(edits))


TEMPLATE, IMAGENET, YOLO, NANOGPT, HYDRA = (
    "pytorch_template", "imagenet_example", "yolov5_style", "nanogpt", "lightning_hydra")
NANOGPT_CONFIG = "config/train_synthetic_char.py"
#: Commands a project's README has run before training (nanoGPT's data/<dataset>/prepare.py).
PREPARE = {NANOGPT: ("data/synthetic_char/prepare.py",)}

CASES: list[Case] = [
    # victoresque/pytorch-template: train.py -c config.json, Trainer in trainer/trainer.py
    Case(TEMPLATE, "healthy", HEALTHY, "train.py", ("-c", "config.json")),
    Case(TEMPLATE, "lr_high", "lr_too_high", "train.py", ("-c", "config.json", "--lr", "3")),
    Case(TEMPLATE, "lr_low", "lr_too_low", "train.py", ("-c", "config.json", "--lr", "1e-6")),
    Case(TEMPLATE, "random_labels", "no_signal", "train.py",
         ("-c", "config.json", "--label_noise", "1.0")),
    Case(TEMPLATE, "softmax_into_nll", "loss_mismatch", "train.py", ("-c", "config.json"),
         (_p("model/model.py", ("return F.log_softmax(x, dim=1)", "return F.softmax(x, dim=1)")),)),
    Case(TEMPLATE, "no_zero_grad", "missing_zero_grad", "train.py", ("-c", "config.json"),
         (_p("trainer/trainer.py", ("            self.optimizer.zero_grad()\n", "")),)),
    Case(TEMPLATE, "raw_pixels", "unnormalized_inputs", "train.py", ("-c", "config.json"),
         (_p("data_loader/data_loaders.py",
             ("trsfm = Compose([ToTensor(), Normalize(0.37, 0.21)])", "trsfm = identity"),
             ("from .transforms import Compose, Normalize, ToTensor",
              "from .transforms import identity")),)),
    # pytorch/examples imagenet/main.py: main() -> main_worker(), AverageMeter, 2 loader workers
    Case(IMAGENET, "healthy", HEALTHY, "main.py"),
    Case(IMAGENET, "lr_high", "lr_too_high", "main.py", ("--lr", "50")),
    Case(IMAGENET, "head_only_optimizer", "frozen_params", "main.py", (),
         (_p("main.py", ("torch.optim.SGD(model.parameters(), args.lr",
                         "torch.optim.SGD(model.fc.parameters(), args.lr")),)),
    Case(IMAGENET, "val_class_order", "data_pipeline", "main.py", (),
         (_p("data.py", ("        self.transform = transform\n",
                         "        if split != \"train\":\n"
                         "            self.targets = (self.targets + 1) % num_classes\n"
                         "        self.transform = transform\n")),)),
    Case(IMAGENET, "softmax_head", "loss_mismatch", "main.py", (),
         (_p("models/resnet.py", ("return self.fc(self.dropout(x))",
                                  "return self.fc(self.dropout(x)).softmax(dim=1)")),)),
    Case(IMAGENET, "sorted_unshuffled", "data_pipeline", "main.py", (),
         (_p("main.py", ("train_dataset, batch_size=args.batch_size, shuffle=True,",
                         "train_dataset, batch_size=args.batch_size, shuffle=False,")),
          _p("data.py", ("        self.transform = transform\n",
                         "        order = self.targets.argsort()\n"
                         "        self.images, self.targets = self.images[order], "
                         "self.targets[order]\n"
                         "        self.transform = transform\n")))),
    # ultralytics/yolov5 train.py: hyp YAML, warmup through param_group['lr'], accumulation,
    # GradScaler, ModelEMA validated by val.run(), ComputeLoss (not an nn.Module)
    Case(YOLO, "healthy", HEALTHY, "train.py"),
    Case(YOLO, "lr_high", "lr_too_high", "train.py", (),
         (_p("data/hyps/hyp.scratch-low.yaml", ("lr0: 0.01 ", "lr0: 5.0 ")),)),
    Case(YOLO, "lr_low", "lr_too_low", "train.py", (),
         (_p("data/hyps/hyp.scratch-low.yaml", ("lr0: 0.01 ", "lr0: 0.00001 ")),)),
    Case(YOLO, "ema_never_updated", "validation_path", "train.py", (),
         (_p("train.py", ("                if ema:\n                    ema.update(model)\n",
                          "")),)),
    Case(YOLO, "no_zero_grad", "missing_zero_grad", "train.py", (),
         (_p("train.py", ("                optimizer.zero_grad()\n                if ema:",
                          "                if ema:")),)),
    Case(YOLO, "labels_off_by_one", "no_signal", "train.py", (),
         (_p("utils/dataloaders.py", ("labels = self.labels[index].copy()",
                                      "labels = self.labels[(index + 1) % self.n].copy()")),)),
    Case(YOLO, "frozen_backbone", "frozen_params", "train.py", ("--freeze", "5")),
    # karpathy/nanoGPT: globals + exec(open('configurator.py').read()), loss inside forward,
    # estimate_loss() on both splits under no_grad, warmup through param_group['lr']
    Case(NANOGPT, "healthy", HEALTHY, "train.py", (NANOGPT_CONFIG,)),
    Case(NANOGPT, "lr_high", "lr_too_high", "train.py", (NANOGPT_CONFIG, "--learning_rate=0.5")),
    Case(NANOGPT, "lr_low", "lr_too_low", "train.py",
         (NANOGPT_CONFIG, "--learning_rate=1e-6", "--min_lr=1e-7")),
    Case(NANOGPT, "shifted_targets", "no_signal", "train.py", (NANOGPT_CONFIG,),
         (_p("train.py", ("    y = torch.stack([torch.from_numpy((data[i+1:i+1+block_size])",
                          "    if split == 'train':\n"
                          "        ix = torch.randint(len(data) - block_size, (batch_size,))\n"
                          "    y = torch.stack([torch.from_numpy((data[i+1:i+1+block_size])")),)),
    Case(NANOGPT, "no_zero_grad", "missing_zero_grad", "train.py", (NANOGPT_CONFIG,),
         (_p("train.py", ("    optimizer.zero_grad(set_to_none=True)\n", "")),)),
    Case(NANOGPT, "same_batch", "data_pipeline", "train.py", (NANOGPT_CONFIG,),
         (_p("train.py", ("    ix = torch.randint(len(data) - block_size, (batch_size,))",
                          "    torch.manual_seed(1337)\n"
                          "    ix = torch.randint(len(data) - block_size, (batch_size,))")),)),
    Case(NANOGPT, "softmax_in_forward", "loss_mismatch", "train.py", (NANOGPT_CONFIG,),
         (_p("model.py", ("loss = F.cross_entropy(logits.view(-1, logits.size(-1))",
                          "loss = F.cross_entropy(F.softmax(logits, dim=-1)"
                          ".view(-1, logits.size(-1))")),)),
    # ashleve/lightning-hydra-template: src/train.py with config groups and overrides, a
    # LightningModule-style module whose model_step computes the loss, sanity validation steps
    Case(HYDRA, "healthy", HEALTHY, "src/train.py"),
    Case(HYDRA, "lr_high", "lr_too_high", "src/train.py", ("model.optimizer.lr=5.0",)),
    Case(HYDRA, "lr_low", "lr_too_low", "src/train.py", ("model.optimizer.lr=1e-7",)),
    Case(HYDRA, "rows_shuffled", "no_signal", "src/train.py", (),
         (_p("src/data/tabular_datamodule.py",
             ("            x, y = make_tabular(self.hparams[\"n_samples\"])\n",
              "            x, y = make_tabular(self.hparams[\"n_samples\"])\n"
              "            x = x[torch.randperm(len(x))]\n")),)),
    Case(HYDRA, "weight_decay", "over_regularized", "src/train.py",
         ("model.optimizer.weight_decay=1.0",)),
    Case(HYDRA, "softmax_when_validating", "validation_path", "src/train.py", (),
         (_p("src/models/tabular_module.py",
             ("    def validation_step(self, batch, batch_idx):\n"
              "        loss, preds, targets = self.model_step(batch)\n",
              "    def validation_step(self, batch, batch_idx):\n"
              "        x, targets = batch\n"
              "        logits = self.forward(x)\n"
              "        loss = self.criterion(torch.softmax(logits, dim=1), targets)\n"
              "        preds = torch.argmax(logits, dim=1)\n")),)),
]

def _prepared_copy(case: Case, folder: str, root: Path, env: dict) -> Path:
    """The case's project copied into ``folder``, patched and prepared."""
    workdir = Path(folder) / case.project
    shutil.copytree(root / case.project, workdir, ignore=shutil.ignore_patterns("__pycache__"))
    for file, edits in case.patches:
        patch(workdir / file, list(edits))
    for script in PREPARE.get(case.project, ()):
        subprocess.run([sys.executable, script], cwd=workdir, env=env, check=True,
                       capture_output=True)
    return workdir


def run_plain(case: Case, root: Path = PROJECTS, lines: int = 3) -> str:
    """The last ``lines`` lines ``case`` prints run plainly with python (no lossdoctor): to
    see that an injected bug harms the training before lossdoctor is asked about it."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = _prepared_copy(case, folder, root, ENV)
        done = subprocess.run([sys.executable, case.script, *case.args], cwd=workdir, env=ENV,
                              capture_output=True, text=True)
    return "\n".join((done.stdout + done.stderr).strip().splitlines()[-lines:])


def run(case: Case, keep: Path | None = None, timeout: float = TIMEOUT,
        src: Path = REPO / "src", budget: float | None = None, root: Path = PROJECTS) -> Outcome:
    """``case`` under `lossdoctor run`, with lossdoctor imported from ``src`` (and its
    diagnosis budget, when given: a loaded machine needs more than the default)."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**ENV, "PYTHONPATH": str(src)}
        workdir = _prepared_copy(case, folder, root, env)
        report_path = Path(folder) / "report.json"
        command = ["nice", "-n", "10", sys.executable, "-m", "lossdoctor", "run", "--quiet",
                   "--json", str(report_path),
                   *(["--budget", str(budget)] if budget is not None else []),
                   case.script, *case.args]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=workdir, capture_output=True, timeout=timeout,
                                  env=env)
        except subprocess.TimeoutExpired:
            return Outcome(case, time.perf_counter() - start, "timed out")
        outcome = Outcome(case, time.perf_counter() - start)
        if not report_path.exists():
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
            outcome.note = " ".join(tail)[:200]
            return outcome
        report = json.loads(report_path.read_text(encoding="utf-8"))
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(report_path, keep / f"{case.project}-{case.name}.json")
    read_report(outcome, report)
    return outcome


def read_report(outcome: Outcome, report: dict) -> None:
    outcome.status = report["status"]
    outcome.causes = [c["id"] for c in report["causes"]]
    outcome.failed_checks = [c["name"] for c in report["checks"] if c["status"] == "error"]
    outcome.train_seen = bool(report["curves"]["train_steps"])
    outcome.validation_passes = report["summary"].get("validation_passes", 0)
    outcome.internal_errors = sum(note.startswith(INTERNAL_ERROR) for note in report["notes"])
    if report.get("exit_code"):
        outcome.note = f"script exit code {report['exit_code']}"


def case_table(outcomes: list[Outcome]) -> str:
    rows = ["| project | run | expected | reported (top 3) | status | right first | in top 3 | "
            "validation passes | checks failed | time (s) |",
            "| --- | --- | --- | --- | --- | --- | --- | ---: | --- | ---: |"]
    for o in outcomes:
        reported = ", ".join(o.causes[:3]) or f"({o.status})"
        if o.note:
            reported += f" [{o.note}]"
        rows.append(f"| {o.case.project} | {o.case.name} | {o.case.expected} | {reported} | "
                    f"{o.status} | {_mark(o.top1)} | {_mark(o.top3)} | {o.validation_passes} | "
                    f"{', '.join(o.failed_checks) or '-'} | {o.seconds:.0f} |")
    return "\n".join(rows)


def totals(outcomes: list[Outcome]) -> str:
    broken = [o for o in outcomes if not o.healthy_case]
    healthy = [o for o in outcomes if o.healthy_case]
    return "\n".join([
        f"- projects: {len({o.case.project for o in outcomes})}; runs: {len(outcomes)} "
        f"({len(broken)} broken, {len(healthy)} healthy)",
        f"- right first: {_share(sum(o.top1 for o in broken), len(broken))}",
        f"- expected in top 3: {_share(sum(o.top3 for o in broken), len(broken))}",
        f"- broken runs called healthy: {sum(o.status == HEALTHY for o in broken)}",
        f"- broken runs whose training was not seen: {sum(not o.train_seen for o in broken)}",
        f"- healthy runs quiet: {sum(o.top1 for o in healthy)}/{len(healthy)}",
        f"- runs with a check failed inside lossdoctor: "
        f"{sum(bool(o.failed_checks) for o in outcomes)}",
        f"- runs with an internal error outside the checks (capture): "
        f"{sum(bool(o.internal_errors) for o in outcomes)}",
        f"- total time: {sum(o.seconds for o in outcomes):.0f} s",
    ])


def select(patterns: list[str] | None, cases: list[Case] = CASES) -> list[Case]:
    if not patterns:
        return cases
    return [c for c in cases if any(fnmatch.fnmatch(c.label, f"*{p}*") for p in patterns)]


def main(cases: list[Case] = CASES, root: Path = PROJECTS, doc: str = __doc__) -> int:
    """Runs ``cases`` of the projects under ``root`` (this set's, unless another set's runner
    gives its own)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--only", metavar="PATTERN", nargs="+",
                        help="only runs whose project/name matches one of the patterns")
    parser.add_argument("--out", type=Path, help="also write the tables to PATH")
    parser.add_argument("--keep-reports", type=Path, metavar="DIR",
                        help="keep each run's JSON report in DIR")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help=f"seconds per lossdoctor run (default {TIMEOUT})")
    parser.add_argument("--src", type=lambda p: Path(p).resolve(), default=REPO / "src",
                        help="the lossdoctor source tree to run (default: this checkout's)")
    parser.add_argument("--budget", type=float, metavar="SECONDS",
                        help="lossdoctor's diagnosis budget (default: its own); under load, "
                             "a larger one keeps checks from stopping for time alone")
    parser.add_argument("--plain", action="store_true",
                        help="run each case plainly with python, without lossdoctor, and print "
                             "the last lines it prints")
    args = parser.parse_args()
    if args.plain:
        for case in select(args.only, cases):
            print(f"== {case.label} ({case.expected})\n{run_plain(case, root)}", flush=True)
        return 0
    outcomes = []
    for case in select(args.only, cases):
        outcomes.append(run(case, args.keep_reports, args.timeout, args.src, args.budget, root))
        o = outcomes[-1]
        print(f"{case.label}: {o.status} {o.causes[:3]} failed={o.failed_checks} "
              f"{o.seconds:.0f}s {o.note}", file=sys.stderr, flush=True)
    text = f"{case_table(outcomes)}\n\n{totals(outcomes)}\n"
    print(text)
    print(f"machine load (uptime) at the end: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
