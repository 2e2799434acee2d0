"""`lossdoctor run torchrun ...`: torchrun starts the processes that train, where lossdoctor
cannot watch them; the command that puts lossdoctor inside torchrun instead, once per rank."""

from __future__ import annotations

import contextlib
import io
import os
import shlex

#: What starts one process per rank: lossdoctor must run inside it, once per rank.
LAUNCHER_SCRIPTS = ("torchrun",)
LAUNCHER_MODULES = ("torch.distributed.run", "torch.distributed.launch")


def is_launcher(name: str, kind: str) -> bool:
    """Whether the target of `lossdoctor run` is torchrun itself (its command, or
    ``-m torch.distributed.run``), whose training runs in processes it starts."""
    if kind == "module":
        return name in LAUNCHER_MODULES
    return os.path.basename(name) in LAUNCHER_SCRIPTS


def command_inside_launcher(launcher_args: list[str], own_options: list[str]) -> str:
    """The torchrun command that runs lossdoctor once per rank, for `lossdoctor run [OPTIONS]
    torchrun LAUNCHER_ARGS` (torchrun's own options, then the script and its arguments)."""
    parsed = _parsed_launcher_args(launcher_args)
    if parsed is None:  # not a command torchrun would take: show its shape
        own, script = ["--nproc_per_node=N"], ["train.py", "ARGS"]
    else:
        own = launcher_args[:len(launcher_args) - 1 - len(parsed.training_script_args)]
        own = [word for word in own if word not in ("-m", "--module", "--no-python",
                                                    "--no_python")]
        script = [parsed.training_script, *parsed.training_script_args]
        if parsed.no_python and os.path.basename(script[0]).startswith("python"):
            script = script[1:]  # `--no-python python train.py`: python is lossdoctor's now
        if parsed.module:
            script = ["-m", *script]
    return shlex.join(["torchrun", *own, "-m", "lossdoctor", "run", *own_options, *script])


def _parsed_launcher_args(launcher_args: list[str]):
    from torch.distributed.run import get_args_parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return get_args_parser().parse_args(launcher_args)
    except SystemExit:
        return None
