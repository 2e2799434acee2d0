"""Third-party training code under `lossdoctor run`: unmodified, healthy and with one injected bug
(the learning rate x100, through the script's own options where it has them; shuffled training
targets; an optimizer over another model's parameters: the last two as a small edit of the
script, see PATCHES), each beside its plain-loop twin (bench/plain_twins.py: the same model,
data, optimizer and steps in a plain PyTorch loop, whose diagnosis is the row's expectation),
and the framework scripts of tests/frameworks. Inputs x1000 needs
continuous inputs: these are all language models, whose inputs are token ids, so only the
framework scripts get it. Prints the Markdown table of docs/third-party.md.

    python bench/third_party.py [--examples DIR] [--nanogpt DIR] [--lightning DIR]
                                [--makemore DIR] [--only PATTERN [--exact]] [--out PATH]
                                [--no-frameworks] [--budget S] [--keep-reports DIR]

Each DIR is a copy of pytorch/examples, karpathy/nanoGPT, Lightning-AI/pytorch-lightning or
karpathy/makemore (which ships its names.txt): a checkout, or a bare git directory (as the
`fetch` tool leaves them under /work/.mirror, the defaults). What is missing is skipped.
Nothing is downloaded: word_language_model ships WikiText-2, which Lightning's WikiText2 demo
would download, and pytorch/examples ships the Tiny Shakespeare text that nanoGPT's prepare.py
would download. The data are cut down and the models
made tiny through each script's own options (Lightning: its PL_TRAINER_* environment
variables), so that each run takes a minute or two. Runs go one at a time, under `nice -n 10`.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIRRORS = Path("/work/.mirror")
FRAMEWORK_SCRIPTS = REPO / "tests" / "frameworks" / "scripts"
#: Plain PyTorch loops that train what a third-party script trains: their diagnosis is what the
#: script's should be (see its docstring).
TWINS = REPO / "bench" / "plain_twins.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch",
       "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}
TIMEOUT = 900
#: WikiText-2 lines kept (of 36,718): enough for every split the scripts make, small enough
#: that a tiny model gets through its epochs in a minute or so.
WIKITEXT_LINES = {"train.txt": 1500, "valid.txt": 200, "test.txt": 200}
#: ... for Lightning's demo, which holds out 4,000 sequences of 35 words for validation and test.
LIGHTNING_WIKITEXT_LINES = 4500
#: Characters of Tiny Shakespeare given to nanoGPT's character-level prepare.py (all of it).
NANOGPT_CHARACTERS = 1_200_000
HEALTHY, LR_TOO_HIGH = "healthy", "lr_too_high"
#: What a plain PyTorch loop gets for shuffled training targets and for an optimizer over another
#: model's parameters (tests/frameworks/scripts/plain_loop.py, examples/frozen_params_*.py).
NO_SIGNAL, FROZEN_PARAMS = "no_signal", "frozen_params"


def patch(path: Path, edits: list[tuple[str, str]]) -> None:
    """Each (old, new) of ``edits`` made once in ``path``; an edit whose old text is gone (the
    repository changed) stops the run rather than run the script unbugged."""
    code = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert code.count(old) == 1, f"{old!r} is not once in {path.name}"
        code = code.replace(old, new)
    path.write_text(code, encoding="utf-8")


#: The injected bugs that are edits of a script: per repository, (old, new) pairs.
PATCHES = {
    # Each training input gets the targets of another place in the text: a permutation of the
    # 8 rows of a batch would leave one row in 8 with its own targets, a weaker bug than the
    # plain loop's shuffle of the whole training set.
    "nanogpt labels": [(
        "    y = torch.stack([torch.from_numpy((data[i+1:i+1+block_size])",
        "    if split == 'train':\n        ix = torch.randint(len(data) - block_size, "
        "(batch_size,))\n    y = torch.stack([torch.from_numpy((data[i+1:i+1+block_size])")],
    "nanogpt params": [(
        "optimizer = model.configure_optimizers(",
        "optimizer = GPT(GPTConfig(**model_args)).configure_optimizers(")],
    "word_language_model labels": [(
        "        data, targets = get_batch(train_data, i)\n",
        "        data, targets = get_batch(train_data, i)\n"
        "        targets = targets[torch.randperm(len(targets))]\n")],
    # makemore evaluates every 500 steps: a short run is given a validation pass every 100, as
    # a user cutting the run short would (every makemore row has this edit)
    "makemore evaluation": [("if step > 0 and step % 500 == 0:",
                             "if step > 0 and step % 100 == 0:")],
    # each name's targets are the next letters of another name (a join on the wrong key)
    "makemore labels": [(
        "        y[:len(ix)] = ix\n        y[len(ix)+1:] = -1",
        "        other = self.encode(self.words[(idx * 7919 + 13) % len(self.words)])\n"
        "        y[:len(other)] = other\n        y[len(other)+1:] = -1")],
    "makemore zero_grad": [("        model.zero_grad(set_to_none=True)\n", "")],
    "lightning lr": [("lr=0.1", "lr=10.0")],
    # time_sequence_prediction as a user gets it running today: torch.load's weights_only
    # default (2.6) refuses the numpy array generate_sine_wave.py saves; 200 points a wave
    # (of 1,000) and 100 predicted (of 1,000) keep an LBFGS step of 20 evaluations short
    "time_sequence data": [("L = 1000", "L = 200")],
    "time_sequence load": [("torch.load('traindata.pt')",
                            "torch.load('traindata.pt', weights_only=False)"),
                           ("future = 1000", "future = 100")],
    "time_sequence lr": [("lr=0.8", "lr=80")],
    "lightning labels": [(
        '        loss = F.nll_loss(output, target.view(-1))\n        self.log("train_loss"',
        '        loss = F.nll_loss(output, target.view(-1)[torch.randperm(target.numel())])\n'
        '        self.log("train_loss"')],
    "lightning params": [
        ("        self.model = Transformer(vocab_size=vocab_size)\n",
         "        self.model = Transformer(vocab_size=vocab_size)\n"
         "        self.other = [Transformer(vocab_size=vocab_size)]  # not registered\n"),
        ("torch.optim.SGD(self.parameters(), lr=0.1)",
         "torch.optim.SGD(self.other[0].parameters(), lr=0.1)")],
}


@dataclass
class Job:
    """One run: ``prepare(workdir)`` lays the code and data out and returns (script, args, env)."""

    name: str
    source: str  # the repository, or "tests/frameworks"
    expected: str  # the top cause, or HEALTHY for nothing reported
    prepare: Callable[[Path], tuple[str, list[str], dict]]
    twin: str = ""  # the row that trains the same in a plain loop (bench/plain_twins.py)


@dataclass
class Outcome:
    job: Job
    seconds: float
    exit_code: int | None = None
    status: str = "no report"
    steps: int = 0
    train_seen: bool = False
    validation_passes: int = 0
    failed_checks: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def top(self) -> str:
        return self.causes[0] if self.causes else (HEALTHY if self.status == HEALTHY else "-")

    @property
    def right(self) -> bool:
        return self.top == self.job.expected

    @property
    def got(self) -> str:
        """The top cause, or the status when nothing was reported."""
        return self.causes[0] if self.causes else self.status


# --- copies of the repositories ---------------------------------------------------------------


def export(source: Path, subdir: str, destination: Path) -> None:
    """``subdir`` of a checkout or a bare git directory, copied into ``destination``. Files a
    stored copy lacks (its largest ones may be listed but absent) are left out."""
    if not _bare(source):
        shutil.copytree(source / subdir, destination, dirs_exist_ok=True)
        return
    git = ["git", "--git-dir", str(source)]
    paths = [] if subdir == "." else [subdir]
    listing = subprocess.run([*git, "ls-tree", "-r", "--name-only", "HEAD", *paths],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    for path in listing:
        blob = subprocess.run([*git, "cat-file", "blob", f"HEAD:{path}"], capture_output=True)
        if blob.returncode != 0:
            continue
        target = destination / Path(path).relative_to(subdir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob.stdout)


def _bare(source: Path) -> bool:
    return (source / "HEAD").is_file() and (source / "objects").is_dir()


def present(source: Path | None) -> bool:
    return source is not None and source.exists()


def wikitext(examples: Path, destination: Path, train_lines: int | None = None) -> Path:
    """The first lines of WikiText-2's splits, as word_language_model ships them. A stored copy
    may lack train.txt (10 MB); its test split then stands in for it, and the validation split
    is cut in two for validation and test."""
    full = destination.parent / "_wikitext"
    export(examples, "word_language_model/data/wikitext-2", full)
    lines = {name: (full / name).read_text(encoding="utf-8").splitlines(keepends=True)
             for name in ("train.txt", "valid.txt", "test.txt") if (full / name).exists()}
    if "train.txt" not in lines:
        valid = lines["valid.txt"]
        lines = {"train.txt": lines["test.txt"], "valid.txt": valid[: len(valid) // 2],
                 "test.txt": valid[len(valid) // 2:]}
    destination.mkdir(parents=True, exist_ok=True)
    kept_lines = {**WIKITEXT_LINES, "train.txt": train_lines or WIKITEXT_LINES["train.txt"]}
    for split, kept in kept_lines.items():
        (destination / split).write_text("".join(lines[split][:kept]), encoding="utf-8")
    shutil.rmtree(full)
    return destination


# --- the runs ---------------------------------------------------------------------------------


def word_language_model_jobs(examples: Path) -> list[Job]:
    """pytorch/examples word_language_model: an LSTM updated by hand (``p.data.add_``), lr 20."""

    def prepare(lr: float, bug: str = ""):
        def lay_out(workdir: Path):
            export(examples, "word_language_model", workdir)
            if bug:
                patch(workdir / "main.py", PATCHES[bug])
            wikitext(examples, workdir / "small-wikitext-2")
            args = ["--data", "small-wikitext-2", "--epochs", "2", "--emsize", "32", "--nhid",
                    "32", "--nlayers", "1", "--lr", str(lr), "--log-interval", "100"]
            return "main.py", args, {}

        return lay_out

    def twin(lr: float, bug: str = ""):
        def lay_out(workdir: Path):
            prepare(lr)(workdir)
            shutil.copy(TWINS, workdir)
            return TWINS.name, ["word_language_model", "--lr", str(lr),
                                *(["--bug", bug] if bug else [])], {}

        return lay_out

    twin_source = "bench/plain_twins.py"
    twins = [Job("word_language_model plain-loop twin", twin_source, HEALTHY, twin(20)),
             Job("word_language_model plain-loop twin lr x100", twin_source, LR_TOO_HIGH,
                 twin(2000)),
             Job("word_language_model plain-loop twin shuffled targets", twin_source, NO_SIGNAL,
                 twin(20, "labels"))]
    return twins + [Job("word_language_model", "pytorch/examples", HEALTHY, prepare(20),
                        twins[0].name),
                    Job("word_language_model lr x100", "pytorch/examples", LR_TOO_HIGH,
                        prepare(2000), twins[1].name),
                    Job("word_language_model shuffled targets", "pytorch/examples", NO_SIGNAL,
                        prepare(20, "word_language_model labels"), twins[2].name)]


def nanogpt_jobs(nanogpt: Path, examples: Path) -> list[Job]:
    """karpathy/nanoGPT shakespeare_char on WikiText-2's characters: the loss inside the model
    (``model(X, Y)``), warmup and cosine decay, AdamW lr 1e-3."""

    def prepare(lr: float, bug: str = ""):
        def lay_out(workdir: Path):
            export(nanogpt, ".", workdir)
            if bug:
                patch(workdir / "train.py", PATCHES[bug])
            text = (examples_text(examples, workdir))[:NANOGPT_CHARACTERS]
            (workdir / "data/shakespeare_char/input.txt").write_text(text, encoding="utf-8")
            subprocess.run([sys.executable, "data/shakespeare_char/prepare.py"], cwd=workdir,
                           env=ENV, capture_output=True, check=True)
            args = ["config/train_shakespeare_char.py", "--device=cpu", "--compile=False",
                    "--eval_interval=40", "--eval_iters=5", "--log_interval=20",
                    "--block_size=32", "--batch_size=8", "--n_layer=2", "--n_head=2",
                    "--n_embd=32", "--dropout=0.0", "--max_iters=200", "--lr_decay_iters=200",
                    "--warmup_iters=20", f"--learning_rate={lr}", f"--min_lr={lr / 10}"]
            return "train.py", args, {}

        return lay_out

    return [Job("nanoGPT shakespeare_char", "karpathy/nanoGPT", HEALTHY, prepare(1e-3)),
            # x100 is 0.1 with AdamW, gradient clipping and LayerNorm: it costs this model 6% of
            # its validation loss at 200 steps, and a plain-loop transformer of the same size at
            # AdamW 0.1 learns faster than at 1e-3 and is called healthy (docs/third-party.md).
            Job("nanoGPT shakespeare_char lr x100", "karpathy/nanoGPT", HEALTHY,
                prepare(1e-1)),
            Job("nanoGPT shakespeare_char shuffled targets", "karpathy/nanoGPT", NO_SIGNAL,
                prepare(1e-3, "nanogpt labels")),
            Job("nanoGPT shakespeare_char optimizer over another model", "karpathy/nanoGPT",
                FROZEN_PARAMS, prepare(1e-3, "nanogpt params"))]


def makemore_jobs(makemore: Path) -> list[Job]:
    """karpathy/makemore on the names.txt it ships: the loss inside the model (``model(X, Y)``)
    with -1 targets past each name's end (``ignore_index=-1``), an endless loader, AdamW; its
    MLP (embeddings, a tanh layer) for 600 steps."""

    def prepare(*options: str, bug: str = ""):
        def lay_out(workdir: Path):
            export(makemore, ".", workdir)
            patch(workdir / "makemore.py", PATCHES["makemore evaluation"])
            if bug:
                patch(workdir / "makemore.py", PATCHES[bug])
            args = ["--type", "mlp", "--max-steps", "600", "--num-workers", "0",
                    "--work-dir", "out", *options]
            return "makemore.py", args, {}

        return lay_out

    source = "karpathy/makemore"
    return [Job("makemore mlp", source, HEALTHY, prepare()),
            Job("makemore mlp lr x1000", source, LR_TOO_HIGH, prepare("-l", "0.5")),
            Job("makemore mlp targets of another name", source, NO_SIGNAL,
                prepare(bug="makemore labels")),
            Job("makemore mlp without zero_grad", source, "missing_zero_grad",
                prepare(bug="makemore zero_grad")),
            Job("makemore mlp weight decay 50", source, "over_regularized", prepare("-w", "50"))]


def time_sequence_jobs(examples: Path) -> list[Job]:
    """pytorch/examples time_sequence_prediction: two LSTMCells in float64 trained full-batch
    by LBFGS (lr 0.8), each step given a closure that LBFGS evaluates up to 20 times; its test
    loss is computed under no_grad on three held-out waves and printed."""

    def prepare(bug: str = ""):
        def lay_out(workdir: Path):
            export(examples, "time_sequence_prediction", workdir)
            patch(workdir / "generate_sine_wave.py", PATCHES["time_sequence data"])
            patch(workdir / "train.py", PATCHES["time_sequence load"])
            if bug:
                patch(workdir / "train.py", PATCHES[bug])
            subprocess.run([sys.executable, "generate_sine_wave.py"], cwd=workdir, env=ENV,
                           capture_output=True, check=True)
            return "train.py", ["--steps", "6"], {}

        return lay_out

    source = "pytorch/examples"
    return [Job("time_sequence_prediction", source, HEALTHY, prepare()),
            Job("time_sequence_prediction lr x100", source, LR_TOO_HIGH,
                prepare("time_sequence lr"))]


def examples_text(examples: Path, workdir: Path) -> str:
    """Tiny Shakespeare, as pytorch/examples ships it for minGPT (nanoGPT downloads the same
    file), or else WikiText-2's text."""
    folder = workdir / "_text"
    export(examples, "distributed/minGPT-ddp/mingpt/data", folder)
    shakespeare = folder / "input.txt"
    if shakespeare.exists():
        text = shakespeare.read_text(encoding="utf-8")
    else:
        text = (wikitext(examples, folder / "wikitext") / "train.txt").read_text(encoding="utf-8")
    shutil.rmtree(folder)
    return text


#: Lightning's Trainer reads defaults from PL_TRAINER_* variables: the example's code stays as
#: it is, with fewer steps and validation batches.
LIGHTNING_LIMITS = {"PL_TRAINER_MAX_STEPS": "120", "PL_TRAINER_VAL_CHECK_INTERVAL": "30",
                    "PL_TRAINER_LIMIT_VAL_BATCHES": "10", "PL_TRAINER_LIMIT_TEST_BATCHES": "10",
                    "PL_TRAINER_ENABLE_PROGRESS_BAR": "0"}


def lightning_jobs(lightning: Path, examples: Path) -> list[Job]:
    """Lightning's examples/pytorch/basics/transformer.py: the demo Transformer flattens its
    output to (B*T, V) in forward; SGD lr 0.1, gradient clipping."""

    def prepare(bug: str = ""):
        def lay_out(workdir: Path):
            export(lightning, "examples/pytorch/basics", workdir)
            text = wikitext(examples, workdir / "_wt", LIGHTNING_WIKITEXT_LINES) / "train.txt"
            (workdir / "data").mkdir(exist_ok=True)
            shutil.move(text, workdir / "data" / "wikitext-2.txt")
            shutil.rmtree(workdir / "_wt")
            if bug:
                patch(workdir / "transformer.py", PATCHES[bug])
            return "transformer.py", [], dict(LIGHTNING_LIMITS)

        return lay_out

    def twin(lr: float, bug: str = ""):
        def lay_out(workdir: Path):
            prepare()(workdir)
            shutil.copy(TWINS, workdir)
            return TWINS.name, ["lightning_demo", "--lr", str(lr),
                                *(["--bug", bug] if bug else [])], {}

        return lay_out

    twin_source = "bench/plain_twins.py"
    twins = [Job("Lightning demo plain-loop twin", twin_source, HEALTHY, twin(0.1)),
             Job("Lightning demo plain-loop twin lr x100", twin_source, HEALTHY, twin(10.0)),
             Job("Lightning demo plain-loop twin shuffled targets", twin_source, NO_SIGNAL,
                 twin(0.1, "labels"))]
    source = "Lightning-AI/pytorch-lightning"
    return twins + [Job("Lightning transformer example", source, HEALTHY, prepare(), twins[0].name),
            # The demo's decoder is fed the target sequence, so at lr 10 it learns to copy it:
            # its plain-loop twin at lr 10 ends at validation 3.16 against 7.66 at lr 0.1 (and a
            # constant guess of 6.73) and gets nothing reported (docs/third-party.md).
            Job("Lightning transformer example lr x100", source, HEALTHY,
                prepare("lightning lr"), twins[1].name),
            Job("Lightning transformer example shuffled targets", source, NO_SIGNAL,
                prepare("lightning labels"), twins[2].name),
            Job("Lightning transformer example optimizer over another model", source,
                FROZEN_PARAMS, prepare("lightning params"))]


#: tests/frameworks/scripts bug -> the cause the same bug gets in a plain loop.
FRAMEWORK_BUGS = {"none": HEALTHY, "lr": LR_TOO_HIGH, "labels": "no_signal",
                  "scale": "unnormalized_inputs"}
FRAMEWORK_RUNS = {"lightning_mlp.py": ("none", "lr", "labels", "scale"),
                  "hf_trainer.py": ("none", "lr", "labels"),
                  "keras_fit.py": ("none", "lr", "labels", "scale")}


def framework_jobs() -> list[Job]:
    jobs = []
    for script, bugs in FRAMEWORK_RUNS.items():
        for bug in bugs:
            def lay_out(workdir: Path, script=script, bug=bug):
                for path in FRAMEWORK_SCRIPTS.glob("*.py"):
                    shutil.copy(path, workdir)
                return script, ["--bug", bug], {}

            name = script.removesuffix(".py") + ("" if bug == "none" else f" --bug {bug}")
            jobs.append(Job(name, "tests/frameworks", FRAMEWORK_BUGS[bug], lay_out))
    return jobs


# --- running ----------------------------------------------------------------------------------


def run(job: Job, keep: Path | None = None, timeout: float = TIMEOUT,
        budget: float | None = None) -> Outcome:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder) / "run"
        workdir.mkdir()
        script, args, env = job.prepare(workdir)
        report_path = Path(folder) / "report.json"
        command = ["nice", "-n", "10", sys.executable, "-m", "lossdoctor", "run", "--quiet",
                   "--json", str(report_path), *(["--budget", f"{budget:g}"] if budget else []),
                   script, *args]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=workdir, capture_output=True, timeout=timeout,
                                  env={**ENV, **env, "PYTHONPATH": str(REPO / "src")})
        except subprocess.TimeoutExpired:
            return Outcome(job, time.perf_counter() - start, status="timed out",
                           note=f"stopped after {timeout:.0f} s")
        outcome = Outcome(job, time.perf_counter() - start, done.returncode)
        if not report_path.exists():
            outcome.note = done.stderr.decode(errors="replace").strip().splitlines()[-1:][0]
            return outcome
        read_report(outcome, json.loads(report_path.read_text(encoding="utf-8")))
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(report_path, keep / (job.name.replace(" ", "_") + ".json"))
    return outcome


def read_report(outcome: Outcome, report: dict) -> None:
    outcome.status = report["status"]
    outcome.steps = report["steps"]
    outcome.train_seen = bool(report["curves"]["train_steps"])
    outcome.validation_passes = report["summary"].get("validation_passes", 0)
    outcome.failed_checks = [c["name"] for c in report["checks"] if c["status"] == "error"]
    outcome.causes = [c["id"] for c in report["causes"]]
    notes = [n for n in report.get("notes", []) if "internal error" in n]
    outcome.note = "; ".join(notes)[:200]


def table(outcomes: list[Outcome]) -> str:
    """The Markdown table; "its twin got" is the twin row's result when it ran too."""
    by_name = {o.job.name: o for o in outcomes}
    rows = ["| run | source | exit | steps seen | train loss seen | validation passes seen | "
            "checks failed inside lossdoctor | top cause (top 3) | expected | right? | "
            "its twin got | same as its twin? | time (s) |",
            "| --- | --- | ---: | ---: | --- | ---: | --- | --- | --- | --- | --- | --- | ---: |"]
    for o in outcomes:
        failed = ", ".join(o.failed_checks) or "none"
        reported = ", ".join(o.causes[:3]) or o.status
        twin = by_name.get(o.job.twin)
        twin_got, same = (twin.got, "yes" if twin.got == o.got else "no") if twin else ("", "")
        rows.append(f"| {o.job.name} | {o.job.source} | {o.exit_code} | {o.steps} | "
                    f"{'yes' if o.train_seen else 'no'} | {o.validation_passes} | {failed} | "
                    f"{reported} | {o.job.expected} | {'yes' if o.right else 'no'} | "
                    f"{twin_got} | {same} | {o.seconds:.0f} |")
    return "\n".join(rows)


def jobs_for(options) -> list[Job]:
    jobs: list[Job] = []
    examples, nanogpt, lightning = options.examples, options.nanogpt, options.lightning
    if present(examples):
        jobs += word_language_model_jobs(examples)
        jobs += time_sequence_jobs(examples)
        if present(nanogpt):
            jobs += nanogpt_jobs(nanogpt, examples)
        if present(lightning):
            jobs += lightning_jobs(lightning, examples)
    if present(options.makemore):
        jobs += makemore_jobs(options.makemore)
    if not options.no_frameworks:
        jobs += framework_jobs()
    if options.only:
        pattern = options.only if options.exact else f"*{options.only}*"
        jobs = [j for j in jobs if fnmatch.fnmatch(j.name, pattern)]
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, default=MIRRORS / "pytorch+examples" / "repo")
    parser.add_argument("--nanogpt", type=Path, default=MIRRORS / "karpathy+nanoGPT" / "repo")
    parser.add_argument("--lightning", type=Path,
                        default=MIRRORS / "Lightning-AI+pytorch-lightning" / "repo")
    parser.add_argument("--makemore", type=Path, default=MIRRORS / "karpathy+makemore" / "repo")
    parser.add_argument("--only", help="only the runs whose name contains this pattern")
    parser.add_argument("--exact", action="store_true",
                        help="--only names one run exactly, not a part of names")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    parser.add_argument("--keep-reports", type=Path, metavar="DIR",
                        help="keep each run's JSON report in DIR")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help=f"seconds a run may take, wall clock (default {TIMEOUT})")
    parser.add_argument("--budget", type=float,
                        help="seconds each diagnosis may take (lossdoctor run --budget); "
                        "default: lossdoctor's own")
    parser.add_argument("--no-frameworks", action="store_true",
                        help="leave out the framework scripts of tests/frameworks")
    options = parser.parse_args()
    outcomes = []
    for job in jobs_for(options):
        print(f"running {job.name} ...", file=sys.stderr, flush=True)
        outcomes.append(run(job, options.keep_reports, options.timeout, options.budget))
        o = outcomes[-1]
        print(f"  {o.status} {o.causes[:3]} steps={o.steps} failed={o.failed_checks} "
              f"{o.seconds:.0f}s {o.note}", file=sys.stderr, flush=True)
    text = table(outcomes)
    print(text)
    if options.out:
        options.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
