"""Cases: a base program, a fault operator, and a seed that draws both and every size.

The case seed alone decides everything: the cause (seeds cycle through the 26 cause ids), the
operator (one of that cause's, at random), the base program (drawn until the operator applies)
and the operator's magnitudes. The part (dev or test) is a hash of the seed, so a case keeps its
part whatever else is generated alongside it."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from .bases import draw_base
from .manual import SCHEDULE_FAULTS, made_manual
from .operators import CAUSES, Operator, all_operators, by_cause
from .plateau import can_plateau, made_plateau
from .program import Program
from .time_major import time_major_programs
from .two_modules import can_split, made_two_modules

#: Share of seeds in the test part. Any number of cases can be generated, so the share only
#: sets how many of them are held out.
TEST_SHARE = 0.5
#: Base programs drawn for one case before giving up on finding one the operator applies to.
MAX_DRAWS = 500


@dataclass(frozen=True)
class Case:
    seed: int
    operator: Operator
    twin: Program  # the healthy program, after the operator's set-up
    broken: Program

    @property
    def id(self) -> str:
        return f"{self.seed:05d}-{self.operator.name}"

    @property
    def part(self) -> str:
        return part_of(self.seed)


def part_of(seed: int) -> str:
    """`test` or `dev`, from a hash of the seed (stable across runs and Python versions)."""
    digest = hashlib.sha256(f"lossdoctor-devset:{seed}".encode()).digest()
    return "test" if int.from_bytes(digest[:4], "big") < TEST_SHARE * 2 ** 32 else "dev"


def make_case(seed: int) -> Case:
    cause = CAUSES[seed % len(CAUSES)]
    rng = random.Random(f"case:{seed}")
    op = rng.choice(by_cause()[cause])
    return build(seed, op, rng)


def build(seed: int, op: Operator, rng: random.Random | None = None) -> Case:
    """The case of ``op`` on the first base drawn from ``rng`` that it applies to."""
    rng = rng or random.Random(f"case:{seed}:{op.name}")
    for _ in range(MAX_DRAWS):
        base = draw_base(seed, rng)
        if op.applies(base):
            twin = op.setup(base, random.Random(f"setup:{seed}"))
            broken = op.fault(twin, random.Random(f"fault:{seed}"))
            return Case(seed, op, twin, broken)
    raise RuntimeError(f"no base program drawn for {op.name} in {MAX_DRAWS} tries")


def make_cases(count: int, first_seed: int, part: str | None = None,
               cause: str | None = None, operator: str | None = None,
               manual: bool = False, plateau: bool = False,
               time_major: bool = False, two_modules: bool = False) -> list[Case]:
    """Cases for seeds first_seed, first_seed + 1, ...; only those of ``part`` and of
    ``cause`` (seeds whose cause it is) if given. With ``operator``, every seed of the part
    gets a case of that operator (see `operator_case`). With ``manual``, the cases that can
    be are written with their parameters updated by hand (see `manual_case`); with
    ``plateau``, with their rate cut on the validation loss's plateaus (see `plateau_case`);
    with ``time_major``, on bases written time-major (see `time_major_case`); with
    ``two_modules``, on MLPs kept as two modules (see `two_modules_case`)."""
    seeds = [seed for seed in range(first_seed, first_seed + count)
             if part is None or part_of(seed) == part]
    if time_major:
        drawn = [time_major_case(seed, operator) for seed in seeds
                 if operator is not None or cause is None or CAUSES[seed % len(CAUSES)] == cause]
        return [case for case in drawn if case is not None]
    if operator is not None:
        cases = [operator_case(seed, operator) for seed in seeds]
    else:
        cases = [make_case(seed) for seed in seeds
                 if cause is None or CAUSES[seed % len(CAUSES)] == cause]
    if manual:
        cases = [made for made in map(manual_case, cases) if made is not None]
    if plateau:
        cases = [made for made in map(plateau_case, cases) if made is not None]
    if two_modules:
        cases = [made for made in map(two_modules_case, cases) if made is not None]
    return cases


def two_modules_case(case: Case) -> Case | None:
    """The case with both scripts' MLP kept as two modules (two_modules.py); None when they
    are not MLPs of that kind."""
    if not can_split(case.twin, case.broken):
        return None
    return Case(case.seed, case.operator, made_two_modules(case.twin),
                made_two_modules(case.broken))


def manual_case(case: Case) -> Case | None:
    """The case with both scripts updating their parameters by hand (manual.py); None when
    its fault is in the schedule, which a hand-written step does not have."""
    op = case.operator
    if op.cause in SCHEDULE_FAULTS or op.name in SCHEDULE_FAULTS:
        return None
    return Case(case.seed, op, made_manual(case.twin), made_manual(case.broken))


def plateau_case(case: Case) -> Case | None:
    """The case with both scripts cutting their rate on plateaus (plateau.py); None when it
    has no validation set to watch or its fault is in the schedule."""
    op = case.operator
    if not can_plateau(op.cause, op.name, case.twin, case.broken):
        return None
    return Case(case.seed, op, made_plateau(case.twin), made_plateau(case.broken))


def time_major_case(seed: int, operator: str | None = None) -> Case | None:
    """The seed's case (or one of the operator called ``operator``) on a base written
    time-major (time_major.py), drawn from its own stream: the seed decides the operator and
    the part as for `make_case`; None when the operator has no such base."""
    if operator is None:
        rng = random.Random(f"case:{seed}")
        op = rng.choice(by_cause()[CAUSES[seed % len(CAUSES)]])
    else:
        op = {o.name: o for o in all_operators()}[operator]
    programs = time_major_programs(seed, op, random.Random(f"time-major:{seed}:{op.name}"),
                                   draw_base)
    return Case(seed, op, *programs) if programs is not None else None


def operator_case(seed: int, name: str) -> Case:
    """A case of the operator called ``name`` whatever the seed's own draw: base and
    magnitudes come from a stream of the seed and the operator's name, so one operator can be
    studied on many seeds without drawing the ~26 x its cause's operator count seeds it takes
    to meet it naturally. The seed still decides the part."""
    ops = {op.name: op for op in all_operators()}
    if name not in ops:
        raise ValueError(f"no operator called {name!r}; `devset.py operators` lists them")
    return build(seed, ops[name])
