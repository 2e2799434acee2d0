"""exploding_gradients: gradient norms that grow by orders of magnitude, spike, or blow up.

From the sampled gradient norms: the total norm (all parameters) at each sampled step, against
the run's typical total norm; and each weight's gradient from the last layer back to the first.
A run is flagged when the total norm grows or spikes at least :data:`GROWTH_DECADES` orders of
magnitude above its median, becomes infinite or NaN, or the first layer's gradient is that far
above the last one's. The cause is reported only when a replay of the same training with
``clip_grad_norm_`` (max norm 1) lowers the validation loss: large gradients that do no harm
are not why a loss stays flat.

A ReLU recurrence whose recurrent weights do not shrink its state (spectral radius 1 or more,
as the identity init of an IRNN: :mod:`checks._recurrence`) can explode through time between
the sampled steps, or in the very first ones, against which a spike is then judged: the clip
replay runs for it even when the sampled norms did not grow GROWTH_DECADES.

A script that loops over time steps itself (``output, hidden = rnn(line[i], hidden)``) blows up
through that loop where no replay can follow: each replayed step sees one captured call of the
model with the state the run gave it. When the run's loss grew, turned NaN or infinite, and the
NaN or inf reached the state fed back into the model (:mod:`checks._fed_back`), the cause is
reported from the run's own records (``RECURRENT_CONFIDENCE``), clipping as the fix.

An initialization too large for the model's depth makes the gradients explode from the very
first step, with no growth over the run to see: each layer's output is larger than the one
before, over :data:`MIN_GROWING_STEPS` layers in a row, and the untrained model's gradient is
:data:`GROWTH_DECADES` orders of magnitude above the same model's with PyTorch's default init
(:mod:`checks._layer_growth`). That is reported when a replay from the default init lowers the
validation loss: the finding names the initialization's scale as the source and the default
init as the fix (``INIT_IS_SOURCE``), and ranks ahead of ``bad_init`` (the rule in
:func:`lossdoctor.diagnosis.rank`).

A clip the script wrote where no gradient exists yet (``clip_grad_norm_`` above
``loss.backward()``, after ``zero_grad()``: :mod:`checks._clip_before_backward`) clips nothing,
and the run takes its steps unclipped; the gradient norms need not grow at all (a norm of 1 at
lr 20 is a step of 20). The run is replayed with that clip applied after backward, against the
replay of the run as it was, and reported when the clip in its place fixes it.

A learning rate too high for the model makes gradients explode too: :mod:`learning_rate`
reports that, and the ranking then shows this finding as its consequence.
"""

from __future__ import annotations

import math
import statistics

from lossdoctor.capture.clipping import GradientClip
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._clip_before_backward import (
    clip_applied_experiment,
    clipping,
    describe,
    unapplied_clip,
)
from lossdoctor.checks._fed_back import blow_up_fed_back, loop_not_replayable, loss_growth
from lossdoctor.checks._fix import fix_experiment, helped
from lossdoctor.checks._gradient_norms import decades, total_norms
from lossdoctor.checks._layer_growth import StartSignal, start_signal
from lossdoctor.checks._plain import plain_number
from lossdoctor.checks._recurrence import unsquashed_recurrences
from lossdoctor.checks._reinit import (
    default_init,
    default_init_replay,
    initialization_name,
    never_below_start,
)
from lossdoctor.experiments import Plan
from lossdoctor.findings import INIT_IS_SOURCE, Cause, Experiment, Finding, Skip

EXPLODING_GRADIENTS = Cause(
    id="exploding_gradients",
    title="Gradients explode",
    fix=(
        "Clip the gradient norm (torch.nn.utils.clip_grad_norm_), lower the learning rate, or add "
        "normalization layers."
    ),
    question="Do gradient norms blow up?",
    test=("total and per-layer gradient norms over the sampled steps, and ReLU recurrences "
          "whose recurrent weights have a spectral radius of 1 or more; replay with "
          "`clip_grad_norm_`; a clip the script called before any gradient existed, replayed "
          "after backward"),
    explains={"dead_relu", "nan_inf"},
    figures=("gradient_norms",),
)

CAUSES = (EXPLODING_GRADIENTS,)


#: Two orders of magnitude: a step 100 times the typical size undoes far more than one step of
#: progress at any learning rate that suits the typical step.
GROWTH_DECADES = 2.0
MIN_STEPS = 3
#: The clip-norm most training recipes use.
MAX_NORM = 1.0
#: A blow-up through a loop over time steps in the script, seen in the run's records alone (no
#: replay can follow the loop): the loss grew, turned NaN, and the NaN reached the state fed
#: back. Above the reporting bar (0.5), below a replayed fix's 0.9: nothing was replayed. A
#: recurrence the script unrolls itself is what gradient clipping was made for (Pascanu et al.,
#: 2013); a learning rate too high, if found by replays, declares this as its consequence.
RECURRENT_CONFIDENCE = 0.6
#: Layers in a row, each with a larger output than the one before, that make the growth one of
#: depth: the factor of every layer compounds (He et al., 2015: the variance is multiplied by
#: fan_in * Var(w) / 2 at each ReLU layer). With fewer, a large start is the init's scale on a
#: shallow model, which bad_init names (its operators' MLPs have 1-3 hidden layers: at most 3
#: steps up, output layer included). Dev deep_relu_large_init (seeds 200000-200020, 6-8 ReLU
#: layers at N(0, 0.4-0.7)), measured here on the 8 cases replayable: 6-8 steps up in a row;
#: their default-initialized twins' first pass (forward hooks): 0-3 (a deep default stack
#: settles near one size and wobbles around it).
MIN_GROWING_STEPS = 4
#: ... over which the output grows at least tenfold (a decade), where a wobble around one size
#: does not reach: 99 to 20,246 on those 8 cases, at most 1.45 on the twins' runs of 3 steps.
#: The start's gradient must also be GROWTH_DECADES above the default init's: 3.4 to 9.2
#: decades there; 0 on a twin, which is its own default.
MIN_GROWTH = 10.0
#: The own confidence of a growth from the init confirmed by the default init's replay: right
#: on 8 of 8 dev deep_relu_large_init cases (s17-init, seeds 200000-200020), (8 + 0.5) / (8 + 1)
#: under Jeffreys' prior, rounded down; calibration shrinks the cell towards it.
INIT_GROWTH_CONFIDENCE = 0.9


def check(case) -> list[Finding]:
    found = _clip_that_clipped_nothing(case)
    if found is not None:
        return [found]
    norms = total_norms(case.trace)
    if len(norms) < MIN_STEPS:
        raise Skip(f"needs gradient norms at {MIN_STEPS} or more sampled steps")
    from_the_init = _grown_from_the_init(case)
    if from_the_init is not None:
        return [from_the_init]
    evidence = gradient_evidence(norms, layer_gap(case.trace))
    recurrences = unsquashed_recurrences(case.copies.initial_model, case.copies.final_model)
    if not (exploding(evidence) or recurrences):
        return []
    experiment = clip_experiment(case)
    if experiment is None or not _clipping_helped(experiment, case):
        return _through_the_loop(case, evidence, experiment)
    evidence.update(val_loss_before=experiment.before, val_loss_after=experiment.after)
    if recurrences:
        evidence["recurrent_spectral_radius"] = max(recurrences.values())
    return [Finding(EXPLODING_GRADIENTS, 0.9, _verdict(evidence, experiment, recurrences),
                    _finite(evidence), experiment=experiment)]


#: A clip the script wrote, replayed where it belongs and shown to fix the run: as sure as the
#: clip replay of growing norms (a replayed fix), with the run's own call as the reading.
UNAPPLIED_CLIP_CONFIDENCE = 0.9


def _clip_that_clipped_nothing(case) -> Finding | None:
    """The finding of a clip called where no gradient existed (``_clip_before_backward``),
    when applying it after backward fixes the run."""
    clip = unapplied_clip(case)
    experiment = None if clip is None else clip_applied_experiment(case, clip)
    if experiment is None or not _clipping_helped(experiment, case):
        return None
    written = describe(clip)
    verdict = (
        f"Your {written} clipped nothing: at every call no gradient existed yet (it runs "
        f"before loss.backward(), after the gradients were cleared), so your training took "
        f"its steps unclipped, each as large as the learning rate times the full gradient. "
        f"Replayed with your clip applied after backward, the validation loss went from "
        f"{experiment.before:.3g} to {experiment.after:.3g}.")
    evidence = {"clip_limit": clip.limit, "val_loss_before": experiment.before,
                "val_loss_after": experiment.after}
    return Finding(EXPLODING_GRADIENTS, UNAPPLIED_CLIP_CONFIDENCE, verdict, _finite(evidence),
                   experiment=experiment,
                   fix=(f"Call {written} between loss.backward() and the optimizer step (or "
                        f"the hand-written update), where the gradients exist."))


def _through_the_loop(case, evidence: dict[str, float],
                      replayed: Experiment | None) -> list[Finding]:
    """The finding of a blow-up through a loop the replays cannot follow (see the module), or
    none: the run blew up and its NaN reached the state fed back, while the replay of the same
    training (one captured call per step, the user's settings) did not blow up. A replay that
    blows up too shows steps too large on every call (an MLP fed its own output at lr 0.5),
    not a loop: the learning rate's check judges those."""
    first = blow_up_fed_back(case)
    if first is None:
        return []
    if not loop_not_replayable(case) and (replayed is None or case.baseline.diverged):
        return []
    growth = loss_growth(case.trace.step_losses(), first)
    evidence.update(first_nonfinite_loss_step=float(first), loss_growth_before_nonfinite=growth)
    verdict = _loop_verdict(first, growth, seen_in_state=not loop_not_replayable(case))
    return [Finding(EXPLODING_GRADIENTS, RECURRENT_CONFIDENCE, verdict, _finite(evidence),
                    fix=LOOP_FIX)]


LOOP_FIX = ("Clip the gradient norm between backward() and step(): "
            f"torch.nn.utils.clip_grad_norm_(model.parameters(), {MAX_NORM:g}); a lower "
            "learning rate only delays the blow-up through a long loop over time steps.")


def _loop_verdict(first: int, growth: float, seen_in_state: bool) -> str:
    grew = f"grew {plain_number(growth)}-fold" if math.isfinite(growth) else "grew"
    state = ("the NaN reached the state your loop feeds back into the model" if seen_in_state
             else "your loop feeds what each call of the model returns into its next call")
    return (f"Your gradients explode through the loop over time steps in your training: the "
            f"training loss {grew} and turned NaN or infinite at step {first}, and {state} "
            f"(the hidden state carried from one call to the next). A gradient through many "
            f"calls multiplies the same weights at each one, so one long sequence can blow it "
            f"up. The experiments on copies replay one call of your model per step, so they "
            f"cannot replay your loop with clipping: this comes from your run's own records.")


INIT_FIX = ("Initialize the weights for the model's depth: PyTorch's default init, or "
            "nn.init.kaiming_normal_(w, nonlinearity='relu') for ReLU layers, whose scale keeps "
            "each layer's output the size of its input. Clipping the gradient norm "
            "(torch.nn.utils.clip_grad_norm_) only bounds the steps; normalization layers "
            "(BatchNorm, LayerNorm) also stop the growth.")


def _grown_from_the_init(case) -> Finding | None:
    """The finding of gradients that explode from the first step through the layers, the
    initialization as its source (see the module), or None. The replays (the user's setup and
    the default init's) run only once the start shows the growth: on a healthy run they were
    the whole cost of this check, the baseline included (91 of the 50M-parameter bench row's
    134.8 s after training, issue 12), paid before any other check could use it."""
    try:
        replayer = case.require_replay()
    except Skip:
        return None
    initial = replayer.copies.initial_model
    if initial is None:
        return None
    batches = replayer.train_batches
    own = start_signal(replayer, initial, batches)
    steps, factor = own.longest_growth()
    if steps < MIN_GROWING_STEPS or factor < MIN_GROWTH:
        return None
    default = default_init(initial)
    if default is None:
        return None
    standard = start_signal(replayer, default, batches)
    above = _decades_above(standard.gradient_norm, own.gradient_norm)
    if above < GROWTH_DECADES:
        return None
    after = default_init_replay(case, default)
    experiment = fix_experiment(f"the model re-initialized with {initialization_name(initial)}",
                                case.baseline, after)
    if not helped(experiment, case):
        return None
    evidence = _init_evidence(own, standard, steps, factor, above, experiment)
    evidence.update(never_below_start(case, after))
    return Finding(EXPLODING_GRADIENTS, INIT_GROWTH_CONFIDENCE, _init_verdict(evidence, experiment,
                                                           initialization_name(initial)),
                   evidence, fix=INIT_FIX, experiment=experiment)


def _decades_above(standard: float, own: float) -> float:
    """How many orders of magnitude ``own`` is above ``standard``; inf for a gradient that is
    not finite at the start."""
    if not math.isfinite(own):
        return math.inf
    return decades(standard, own)


def _init_evidence(own: StartSignal, standard: StartSignal, steps: int, factor: float,
                   above: float, experiment: Experiment) -> dict[str, float]:
    evidence = {
        "layers_growing_in_a_row": float(steps + 1),
        "growth_over_those_layers": factor,
        "start_gradient_norm": own.gradient_norm,
        "default_init_start_gradient_norm": standard.gradient_norm,
        "start_gradient_decades_above_default_init": above,
        "val_loss_before": experiment.before,
        "val_loss_after": experiment.after,
        INIT_IS_SOURCE: 1.0,
    }
    return _finite(evidence)


def _init_verdict(evidence: dict[str, float], experiment: Experiment,
                  initialization: str) -> str:
    e = evidence
    own = e.get("start_gradient_norm")
    start = (f"{_norm_words(own)}, against {_norm_words(e['default_init_start_gradient_norm'])}"
             f" with {initialization}" if own is not None else
             "not even finite (the loss or a gradient overflows)")
    return (
        f"Your gradients explode from the first step: each of "
        f"{e['layers_growing_in_a_row']:.0f} layers in a row gives a larger output than the "
        f"one before ({plain_number(e['growth_over_those_layers'])} times larger from the first "
        f"of them to the last), so the gradient grows the same way on its way back, and its "
        f"norm before any update is {start}. The source is your initialization: its scale is "
        f"too large for the model's depth. Trained on copies from {initialization}, your model "
        f"reaches a validation loss of {experiment.after:.3g}, against "
        f"{_loss_words(experiment.before)} from its own start."
    )


def layer_gap(trace) -> float:
    """Median over sampled steps of log10(first weight's gradient / last weight's)."""
    weights = [g for g in trace.gradients if g.is_weight]
    names = list(dict.fromkeys(g.name for g in weights))
    if len(names) < 2:
        return 0.0
    by_step: dict[int, dict[str, float]] = {}
    for g in weights:
        by_step.setdefault(g.step, {})[g.name] = g.grad_norm
    gaps = [_decades(seen[names[-1]], seen[names[0]]) for seen in by_step.values()
            if names[0] in seen and names[-1] in seen]
    return statistics.median(gaps) if gaps else 0.0


def gradient_evidence(norms: dict[int, float], gap: float) -> dict[str, float]:
    values = list(norms.values())
    finite = [v for v in values if math.isfinite(v)]
    typical = statistics.median(finite) if finite else math.nan
    first = statistics.median(values[:MIN_STEPS])
    return {
        "sampled_steps": len(values),
        "nonfinite_steps": len(values) - len(finite),
        "first_gradient_norm": first,
        "median_gradient_norm": typical,
        "largest_gradient_norm": max(finite) if finite else math.nan,
        "growth_decades": _decades(first, max(finite)) if finite else 0.0,
        "spike_decades": _decades(typical, max(finite)) if finite else 0.0,
        "first_over_last_layer_decades": gap,
    }


def exploding(evidence: dict[str, float]) -> bool:
    return (evidence["nonfinite_steps"] > 0
            or evidence["growth_decades"] >= GROWTH_DECADES
            or evidence["spike_decades"] >= GROWTH_DECADES
            or evidence["first_over_last_layer_decades"] >= GROWTH_DECADES)


def clipped(optimizer_class: type, max_norm: float = MAX_NORM) -> type:
    """The optimizer class, clipping the gradient norm of its parameters before each step."""
    return clipping(optimizer_class, GradientClip("norm", max_norm))


def clip_experiment(case) -> Experiment | None:
    try:
        replayer = case.require_replay()
        baseline = case.baseline
    except Skip:
        return None
    hparams = dict(case.copies.optimizer_hparams)
    if replayer.user_lr is not None:
        hparams["lr"] = replayer.user_lr  # the peak of a schedule
    plan = Plan(optimizer_class=clipped(case.copies.optimizer_class), hparams=hparams,
                steps=REPLAY_STEPS)
    after = replayer.replay(plan)
    return fix_experiment(f"gradients clipped to norm {MAX_NORM:g} (clip_grad_norm_)",
                          baseline, after)


def _clipping_helped(experiment: Experiment, case) -> bool:
    """The fix helped; from a diverged replay, it must also beat the constant guess (merely not
    diverging is no fix)."""
    if not helped(experiment, case):
        return False
    if math.isfinite(experiment.before):
        return True
    constant_guess = case.constant_guess_loss("validation")
    return constant_guess is None or experiment.after < constant_guess


def _decades(low: float, high: float) -> float:
    if not (low > 0 and math.isfinite(low)):
        return 0.0
    return math.log10(high / low) if high > 0 else 0.0


def _finite(evidence: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in evidence.items() if math.isfinite(v)}


def _verdict(evidence: dict[str, float], experiment: Experiment,
             recurrences: dict[str, float]) -> str:
    parts = []
    if evidence["nonfinite_steps"]:
        parts.append(f"became infinite or NaN at {evidence['nonfinite_steps']:.0f} sampled steps")
    if max(evidence["growth_decades"], evidence["spike_decades"]) >= GROWTH_DECADES:
        parts.append(f"reached {_norm_words(evidence['largest_gradient_norm'])}, against "
                     f"{_norm_words(evidence['first_gradient_norm'])} at the start and a median "
                     f"of {_norm_words(evidence['median_gradient_norm'])}")
    if evidence["first_over_last_layer_decades"] >= GROWTH_DECADES:
        parts.append(f"grow toward the input: the first layer's is "
                     f"{10 ** evidence['first_over_last_layer_decades']:.3g} times the last's")
    if not parts:
        parts.append(f"reached {_norm_words(evidence['largest_gradient_norm'])} at the steps "
                     f"lossdoctor sampled, against a median of "
                     f"{_norm_words(evidence['median_gradient_norm'])}")
    return (
        "Your gradients explode: their norm " + "; ".join(parts) + ". "
        + _recurrence_words(recurrences) + "Such steps throw the "
        f"weights far from where training was going. Trained on copies with clip_grad_norm_ at "
        f"{MAX_NORM:g}, your model reaches a validation loss of {experiment.after:.3g}, against "
        f"{_loss_words(experiment.before)} without clipping."
    )


def _recurrence_words(recurrences: dict[str, float]) -> str:
    """Why a ReLU recurrence explodes through time (``_recurrence``), or ""."""
    if not recurrences:
        return ""
    name, radius = max(recurrences.items(), key=lambda item: item[1])
    return (f"Your recurrent layer's {name} has a largest eigenvalue of {radius:.3g} and its "
            f"state passes through ReLU, which does not squash it: the state, and the gradient "
            f"on its way back, can grow at every time step of a sequence. ")


def _norm_words(norm: float) -> str:
    """A gradient norm as the report writes numbers: exploding_gradients_rnn's '1.36e+04'
    stood where the figure's axis and the evidence table write whole numbers."""
    return plain_number(norm)  # whole up to 1e6 (13,600), then 3.2e+07


def _loss_words(loss: float) -> str:
    """A replay's loss, or what became of it when it blew up."""
    return f"{loss:.3g}" if math.isfinite(loss) else "a loss that blew up (inf or NaN)"
