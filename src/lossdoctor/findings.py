"""What checks return: findings about declared causes, the experiments behind them, and Skip."""

from __future__ import annotations

from dataclasses import dataclass, field


class Skip(Exception):
    """Raised by a check that cannot run on this case; the message says what it needs."""


#: The evidence figures a cause may ask the report to draw (report.html knows each one).
FIGURES = frozenset({"lr_range", "feature_scales", "saturation", "dead_units", "gradient_norms"})

#: How training behaves: each of these can be a consequence of a root cause elsewhere (a loss fed
#: what it does not expect, labels out of range), so such root causes declare that they explain
#: all of them.
TRAINING_DYNAMICS = frozenset({
    "underfit_capacity", "lr_too_high", "lr_too_low", "saturated_activation",
    "vanishing_gradients", "exploding_gradients", "dead_relu", "overfitting", "optimizer_choice",
    "batch_size", "over_regularized", "bad_init",
})


#: The evidence key (1.0 when it holds) of a finding that names a failure seen in the run and
#: measured the initialization as its source: a replay from the default init removed it (set
#: today by exploding_gradients' growth from the first step; a saturation pinned from the first
#: step leads bad_init by evidence_kinds' rule instead). The finding leads
#: ``INIT_CAUSE``'s and is not its consequence (the rule in lossdoctor.diagnosis.rank).
INIT_IS_SOURCE = "initialization_is_the_source"
#: The cause of an initialization that is off, which a finding with INIT_IS_SOURCE leads.
INIT_CAUSE = "bad_init"


#: A training setting: the learning rate, the optimizer, the batch size.
TRAINING_SETTING = 1
#: The model's size, a bigger change than a training setting: the user's own model is replaced.
MODEL_SIZE = 2


#: Where a cause's condition sits on the way from the data to the optimizer's step (Cause.stage),
#: for the ranking rule between two roots, each confirmed by its own replayed fix
#: (lossdoctor.measured_consequences.upstream_leads): the data as given (inputs, targets, the
#: classes' shares), then the model's starting weights, then the training settings (a cause whose
#: ``setting`` is TRAINING_SETTING is at SETTINGS_STAGE without declaring it). Each later stage is
#: chosen for what the earlier ones hand it: the default init's scale assumes inputs of unit
#: scale, a learning rate is right for the loss and the weights it is given.
DATA_STAGE = 1
INIT_STAGE = 2
SETTINGS_STAGE = 3


@dataclass(frozen=True)
class Cause:
    """Why a loss stays flat, declared once by the check module that reports it.

    ``id`` is the stable id of the JSON report. ``explains`` names the causes a run with this one
    would also show as consequences (inputs off scale pin a sigmoid); a finding so explained is
    ranked after its root. ``precedence`` orders root causes that make the others moot (a loss fed
    what it does not expect distorts every other measurement): higher first, 0 for most.
    ``question`` and ``test`` are the README's words for what the check asks and how it decides.
    ``figures`` are the evidence figures (names in FIGURES) that show it in the HTML report."""

    id: str
    title: str
    fix: str
    question: str
    test: str
    explains: frozenset[str] = frozenset()
    #: Consequences this cause explains only when its finding carries a replayed fix that keeps
    #: the user's model as it is and took the validation loss down (see
    #: lossdoctor.measured_consequences.declares): without one, what the check saw may itself
    #: come from the consequence (a one-unit layer passes back as little gradient as a deep
    #: sigmoid stack; only the replays tell them apart).
    explains_if_fixed: frozenset[str] = frozenset()
    precedence: int = 0
    figures: tuple[str, ...] = ()
    #: How much of the user's set-up the fix changes, for a cause that is a setting (0: not a
    #: setting; TRAINING_SETTING, MODEL_SIZE): changing a setting can make up for a problem
    #: elsewhere, so when a finding whose fix changes less does as much, this one is ranked as its
    #: consequence (lossdoctor.measured_consequences).
    setting: int = 0
    #: The heading of a finding of this cause shown only as the consequence of another, when
    #: "Looks like <title>" would claim what its root denies: what the check saw, not the cause
    #: (vanishing_gradients says "the model is not too small"; a larger model fitting better is
    #: still true).
    seen_as: str = ""
    #: Where the cause's condition sits (DATA_STAGE, INIT_STAGE; 0: not on that way, or a
    #: training setting, whose ``setting`` places it): of two confirmed roots, the one upstream
    #: leads unless the other's fix did clearly more (lossdoctor.measured_consequences).
    stage: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "explains", frozenset(self.explains))
        object.__setattr__(self, "explains_if_fixed", frozenset(self.explains_if_fixed))
        object.__setattr__(self, "figures", tuple(self.figures))


@dataclass
class Experiment:
    """A short run on copies that tests a fix: validation loss with and without it."""

    description: str
    before: float
    after: float
    steps: int
    curve_before: list[float] = field(default_factory=list)
    curve_after: list[float] = field(default_factory=list)
    curve_steps: list[int] = field(default_factory=list)  # the replay step of each curve point
    measure: str = "validation loss"  # what before and after are, when not the plain loss


@dataclass
class Finding:
    """One cause found in one run, with the numbers that back it."""

    cause: Cause
    confidence: float
    verdict: str
    evidence: dict[str, float]
    fix: str = ""
    experiment: Experiment | None = None
    details: dict = field(default_factory=dict)
    explained_by: list[str] = field(default_factory=list)  # ids of root causes also found
    #: Shown by the data itself (NaN in the inputs) or by the units themselves (pinned before
    #: any update), not inferred from how training behaved: the evidence kind SHOWN, ranked by
    #: the rule of lossdoctor.evidence_kinds (ahead of causes read from training; after a
    #: cause whose replayed fix removes it, as its consequence).
    root: bool = False
    #: The check's own confidence, before the diagnosis replaced it by how often findings like
    #: this one were right on the development cases (lossdoctor.calibration); None until then.
    own_confidence: float | None = None
    #: The heading of this finding, when its variant of the cause needs its own (no_signal's
    #: labels predictable in training but not on validation are not "labels that cannot be
    #: predicted"); the cause's title otherwise.
    title: str = ""

    def __post_init__(self) -> None:
        self.confidence = float(min(1.0, max(0.0, self.confidence)))
        if not self.fix:
            self.fix = self.cause.fix
        if not self.title:
            self.title = self.cause.title
