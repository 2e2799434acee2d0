"""Time-major sequence models (``generate --time-major``, issue 11): the recurrent and
transformer bases written as ``nn.LSTM``/``nn.GRU`` with their default ``batch_first=False``
and ``nn.TransformerEncoderLayer`` without ``batch_first``, so the model is given
``(time, batch, features)``: the loaders' ``collate_fn`` stacks each batch and puts time first,
as torchtext's iterators and speech recipes hand batches over. The labels stay one per sequence
(``(batch,)``), and the model reads its last state (``states[-1]``) or the mean over time.

A case is drawn as any other (its cause and operator from the seed), on the first base drawn
that the operator applies to and that can be written time-major (a recurrent or transformer
model of the module style, fed by DataLoaders), twin and broken alike. Without the flag nothing
here is used, so what ``generate`` writes for every seed stays as it was."""

from __future__ import annotations

import random

from .program import Program

#: The collate function of a time-major loader, written into the script.
COLLATE = [
    "def time_major(rows):",
    "    inputs, targets = torch.utils.data.default_collate(rows)",
    "    return inputs.transpose(0, 1), targets  # (time, batch, ...)",
]
#: Base programs drawn for one case before giving up (cases.MAX_DRAWS).
MAX_DRAWS = 500


def can_time_major(p: Program) -> bool:
    return (p.model.family in ("rnn", "transformer") and p.model.style == "module"
            and p.train.batching == "loader" and p.data.kind in ("sequence", "token"))


def made_time_major(p: Program) -> Program:
    return p.with_model(time_major=True)


def time_major_programs(seed: int, op, rng: random.Random,
                        draw_base) -> tuple[Program, Program] | None:
    """(twin, broken) of ``op`` on the first base drawn from ``rng`` that both it and the
    time-major writing apply to; None for an operator of other models (raw tensors, CNNs)."""
    for _ in range(MAX_DRAWS):
        base = draw_base(seed, rng)
        if not (op.applies(base) and can_time_major(base)):
            continue
        twin = op.setup(base, random.Random(f"setup:{seed}"))
        broken = op.fault(twin, random.Random(f"fault:{seed}"))
        if can_time_major(twin) and can_time_major(broken):
            return made_time_major(twin), made_time_major(broken)
    return None


def cell_line(line: str, p: Program) -> str:
    """A recurrent layer's constructor, time-major when the program is."""
    return line.replace(", batch_first=True", "") if p.model.time_major else line
