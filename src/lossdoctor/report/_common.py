"""Words and numbers every renderer shows the same way, read from the report document."""

from __future__ import annotations

import math

from lossdoctor.checks import catalogue
from lossdoctor.checks._fix import MEANINGFUL_IMPROVEMENT
from lossdoctor.checks._plain import plain_lr
from lossdoctor.numbers import WHOLE_BELOW
from lossdoctor.report import logs_text
from lossdoctor.report._curve_words import curve_lines

NO_TRAINING_REASONS = (
    "the script called backward on no loss computed from the model's parameters",
    "the training ran in another process (a subprocess or a launcher), which lossdoctor "
    "cannot see into",
    "the script exited before training started (check its arguments)",
)


#: The precedence of the causes that feed the loss what it does not expect (loss_setup's,
#: validation_path): every loss measured in such a run, replays included, is distorted by them.
#: no_signal (1) makes other causes moot without distorting their numbers.
LOSS_ITSELF_WRONG = 2

#: What an experiment's numbers are unless it names another measure (one in which the constant
#: guess's loss, the report's chance line, is the same units).
PLAIN_MEASURE = "validation loss"

#: Below this confidence a primary cause is wrong at least one time in five (confidence is
#: calibrated as how often a finding is right): an unseeded run may come out another way.
RANDOM_DRAW_CONFIDENCE = 0.8


def headline(document: dict) -> str:
    partial = " (partial: the script stopped early)" if document["partial"] else ""
    if document["status"] == "no_training":
        return "No PyTorch training was seen." + partial + " Possible reasons:"
    if document["status"] == "healthy":
        if _no_validation_loss(document):
            return ("No problem found in your training loss; no validation loss was seen, so "
                    "how your model does on rows it does not train on (overfitting) was not "
                    "judged." + partial)
        where = " in the logs: the curves look" if document.get("logs") else ": the training looks"
        return f"No problem found{where} healthy." + partial
    if document["status"] == "incomplete":
        unfinished = [c for c in document["checks"] if c["status"] in ("error", "stopped")]
        noun = "check" if len(unfinished) == 1 else "checks"
        return (f"Diagnosis incomplete: no problem found, but {len(unfinished)} {noun} did not "
                f"finish (listed below), so a cause may be missed.{partial}")
    if document["status"] == "unexplained":
        symptom = (document.get("symptom") or {}).get("message", "the loss is not improving")
        why = "the logs alone cannot tell why" if document.get("logs") else (
            "no cause was confirmed")
        if (document.get("symptom") or {}).get("kind") == "untested":
            return (f"Not called healthy: the curves show no problem, but {symptom} (listed "
                    f"below with what would let them run).{partial}")
        if (document.get("symptom") or {}).get("kind") == "unjudged":
            return f"Not called healthy: {symptom}.{partial}"
        if (document.get("symptom") or {}).get("kind") == "unscored":
            return f"Not called healthy: your training loss shows no problem, but {symptom}." \
                + partial
        if (document.get("symptom") or {}).get("kind") == "too_short":
            return f"Too little evidence to call your training healthy ({symptom}), and {why}." \
                + partial
        if (document.get("symptom") or {}).get("still_learning"):
            slow = "the logs alone cannot tell why it is slow" if document.get("logs") else (
                "no cause of its slow progress was confirmed")
            return (f"Your training ended while still learning ({symptom}); {slow}: train it "
                    f"longer to see where it settles.{partial}")
        return f"Your training is not healthy ({symptom}), and {why}.{partial}"
    count = len(document["causes"])
    noun = "cause" if count == 1 else "causes"
    return f"{count} {noun} found. Primary: {document['causes'][0]['title']}.{partial}"


def run_lines(document: dict, setup_shown: bool = False) -> list[str]:
    """What was watched, and where the validation loss went; the model, loss and optimizer too
    unless ``setup_shown`` (a line of their own already names them)."""
    if document.get("logs"):
        return logs_text.read_lines(document)
    setup, summary = document["setup"], document.get("summary", {})
    if not summary.get("steps"):
        return []
    parts = [f"{setup['model_class']} ({setup['parameter_count']:,} parameters)",
             setup["loss_name"], f"{setup['optimizer_class']} {lr_text(setup)}".strip()]
    watched = f"Watched {summary['steps']} training steps{_epochs_words(summary)}"
    what = ", ".join(part for part in parts if part)
    lines = [f"{watched}." if setup_shown or not what else f"{watched}: {what}."]
    if "validation_first" in summary and summary.get("validation_best") is None:
        lines.append("Validation loss NaN or infinite at every pass.")
    elif "validation_first" in summary:
        first, last, best = (summary[f"validation_{key}"] for key in ("first", "last", "best"))
        shown = _apart(first, last)
        lines.append(f"Validation loss {shown(first)} -> {shown(last)} (best {shown(best)} at "
                     f"epoch {summary['validation_best_epoch']}).")
    lines += holdout_lines(document)
    return lines + curve_lines(document) + order_lines(document)


def _epochs_words(summary: dict) -> str:
    """" over N epochs", or nothing for a run with neither data-loader epochs nor validation
    passes to count them by (the char-RNN tutorial's loop of random batches was reported "over
    1 epoch", a unit its script never counts in)."""
    epochs = summary["epochs"]
    if not summary.get("loader_epochs", True) and not summary.get("validation_passes"):
        return ""
    return f" over {epochs} {'epoch' if epochs == 1 else 'epochs'}"


def _apart(first, last):
    """How to write the run's validation losses: in 3 significant digits, or 4 when 3 make a
    first and a last loss that differ read the same (over_regularized_dropout_cnn: "1.39 ->
    1.39 (best 1.39)", for 1.3894, 1.3925 and 1.3891, read as a run that never moved)."""
    finite = all(isinstance(v, float) and math.isfinite(v) for v in (first, last))
    if finite and first != last and f"{first:.3g}" == f"{last:.3g}":
        return lambda value: f"{value:.4g}" if isinstance(value, float) else number(value)
    return number


def order_lines(document: dict) -> list[str]:
    """Why a cause of lower confidence is listed above one of higher (example_2_unnormalized:
    no_signal at 0.90 above unnormalized_inputs at 0.94 read as a ranking error), by number
    when it is because one follows from another (saturated_activation_conv1d_tanh_init: a
    primary at 0.70 above its consequence at 0.97, with nothing saying which followed from
    which). The rule is diagnosis.rank's: a finding another explains comes after it; then one
    that makes the others moot; then confidence, which says how sure a finding is, not how much
    it matters."""
    causes = document["causes"]
    confidences = [cause["confidence"] for cause in causes]
    if confidences == sorted(confidences, reverse=True):
        return []
    follows = [f"{rank} follows from {follows_from(document, cause)}"
               for rank, cause in enumerate(causes, start=1) if follows_from(document, cause)]
    roots = [cause["confidence"] for cause in causes if not follows_from(document, cause)]
    moot = ["one that makes the others moot comes first"] if (
        roots != sorted(roots, reverse=True) or not follows) else []
    return [f"The causes are listed in the order to deal with them, not by confidence (how sure "
            f"each finding is): {'; '.join(moot + follows)}."]


def follows_from(document: dict, cause: dict) -> str:
    """The numbers, in the report's list, of the causes found that explain ``cause``: "1",
    "1 and 2"; "" for a root cause."""
    ids = [c["id"] for c in document["causes"]]
    ranks = sorted(ids.index(i) + 1 for i in cause.get("explained_by") or [] if i in ids)
    return " and ".join(str(rank) for rank in ranks)


def _no_validation_loss(document: dict) -> bool:
    """A run whose script computed no validation loss lossdoctor saw (a test AUC alone, or
    nothing): its curve is its training loss, which cannot show overfitting."""
    return document.get("summary", {}).get("validation_passes") == 0 and not document.get("logs")


def holdout_lines(document: dict) -> list[str]:
    """Said plainly when the run had no validation data: what the experiments used instead."""
    data = document.get("validation_data")
    if not data or data["seen"]:
        return []
    reported = document.get("summary", {}).get("validation_passes")
    what = ("No validation batches could be replayed (your validation losses were read "
            "without their rows)" if reported else "No validation data was seen")
    curve = "" if reported else "; your run's own curve is its training loss"
    if data.get("held_out_rows"):
        batches = data["training_batches"]
        return [f"{what}: experiments held out every fifth row of the {batches} training "
                f"{'batch' if batches == 1 else 'batches'} captured ({data['held_out_rows']:,} "
                f"rows) to stand in for it{curve}."]
    if data["held_out_batches"]:
        return [f"{what}: experiments held out {data['held_out_batches']} of the "
                f"{data['training_batches']} training batches captured to stand in for it"
                f"{curve}."]
    return [f"{what}, and with {data['training_batches']} training batches captured none could "
            f"be held out: experiments that need a validation loss did not run{curve}."]


def lr_text(setup: dict) -> str:
    """"lr=0.001"; "lr 9.52e-05 -> peak 0.01 -> 0.001" when it changed during the run."""
    first, peak, last = (setup.get(key) for key in ("lr_first", "lr_peak", "lr_last"))
    if first is None:
        lr = setup["optimizer_hparams"].get("lr")
        return f"lr={_lr(lr)}" if lr is not None else ""
    shown = [_lr(v) for v in (first, peak, last)]
    if len(set(shown)) == 1:  # a rate read from manual updates wobbles in its last digits
        return f"lr={shown[0]}"
    if first < peak > last and shown[1] not in (shown[0], shown[2]):
        return f"lr {shown[0]} -> peak {shown[1]} -> {shown[2]}"
    return f"lr {shown[0]} -> {shown[2]}"


def _lr(value) -> str:
    """A learning rate as the causes' text writes it (1e-6, not the run line's 1e-06)."""
    return plain_lr(value, 3) if isinstance(value, (int, float)) and value > 0 else number(value)


def unexplained_lines(document: dict) -> list[str]:
    """For a run with the symptom and no confirmed cause: what each check ruled out, what it
    could not test and why, and what failed inside lossdoctor. For a report read from logs: the
    causes its curves cannot tell apart, and the command that would."""
    if document.get("logs"):
        return logs_text.open_lines(document)
    if document["status"] in ("healthy", "incomplete"):
        return coverage_lines(document)
    if document["status"] != "unexplained":
        return []
    titles = {c["id"]: c["title"] for c in document.get("dismissed", [])}
    untested = untested_lines(document["checks"])
    ruled_out = [", ".join(c.get("causes") or [c["name"]])
                 for c in document["checks"] if c["status"] == "ran"]
    # what was not checked first: under a line of twenty 'ruled out' it went unseen (an
    # untested lr_too_low under --budget 0, where the lr was the cause)
    lines = untested + [f"looked into but not confirmed: {cid} ({title})"
                        for cid, title in titles.items()]
    return lines + [f"ruled out: {', '.join(ruled_out)}"] * bool(ruled_out)


def coverage_lines(document: dict) -> list[str]:
    """For a run where nothing was found: how many causes were looked for, and which could not
    be tested and why ('No problem found' alone did not say what was checked)."""
    checks = document["checks"]
    looked = sum(len(c.get("causes") or [c["name"]]) for c in checks if c["status"] == "ran")
    if not checks:
        return []
    lines = [f"looked for {looked} causes and found none"] if looked else []
    lines += untested_lines(checks)
    return lines + [f"looked into but not confirmed: {d['id']}"
                    + (f" ({d['title']})" if d.get("title") else "")
                    for d in document.get("dismissed", [])]


def untested_lines(checks: list[dict]) -> list[str]:
    """A line per reason the skipped checks give, naming every cause it kept untested: one
    reason shared by ten checks (a loop no replay can reproduce) was written ten times."""
    causes_by_reason: dict[str, list[str]] = {}
    for check in checks:
        if check["status"] == "skipped":
            causes_by_reason.setdefault(check["reason"], []).extend(
                check.get("causes") or [check["name"]])
    return [f"could not test {_listed(cause_names_each(causes))}: {reason}"
            for reason, causes in causes_by_reason.items()]


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def cause_heading(rank: int, cause: dict) -> str:
    return f"{rank}. {cause_title(cause)}"


def cause_title(cause: dict) -> str:
    """The cause's title; a consequence's says what it looks like, not what it is, and what it
    follows from: under vanishing_gradients ("the model is not too small, its gradients do not
    reach its first layers") "The model is too small for the task" stated as a cause
    contradicted it, and "Looks like the model is too small" alone still did under
    lr_too_high_cnn's "The learning rate is too high". A cause that declares how it is seen
    (``Cause.seen_as``) is headed by that: "Looks like the model is too small" still
    contradicted vanishing_deep_sigmoid's root."""
    if not cause.get("explained_by"):
        return cause["title"]
    roots = " and ".join(_in_sentence(title) for title in _root_titles(cause))
    return f"{looks_like(cause)} (follows from: {roots})"


def looks_like(cause: dict) -> str:
    """A consequence's title without what it follows from (the list says it by number)."""
    if not cause.get("explained_by"):
        return cause["title"]
    declared = catalogue().get(cause.get("id"))
    if declared is not None and declared.seen_as and cause["title"] == declared.title:
        return declared.seen_as
    return f"Looks like {_in_sentence(cause['title'])}"


def _in_sentence(title: str) -> str:
    """A title inside a sentence: "The model ..." -> "the model ...", "NaN or ..." unchanged."""
    first = title.split(" ", 1)[0]
    plain_word = first[1:].islower() or len(first) == 1  # "The", not "NaN" or "ReLU"
    return title[:1].lower() + title[1:] if plain_word else title


def cause_tag(cause: dict) -> str:
    return f"[{cause['id']}, confidence {cause['confidence']:.2f}]"


def consequence_text(cause: dict) -> str:
    """Which causes found explain this one; when one of them feeds the loss what it does not
    expect, that every number below was measured through it (an lr "too low" on labels out of
    range has a validation loss of -5e+08 to show)."""
    explained_by = cause.get("explained_by") or []
    if not explained_by:
        return ""
    said = f"likely a consequence of {_quoted(_root_titles(cause))}, found above"
    if measured_through_wrong_loss(cause):
        said += " (its numbers were measured through that problem: fix it first, then run again)"
    return said


def measured_through_wrong_loss(cause: dict) -> bool:
    """Explained by a cause that feeds the loss what it does not expect: its experiment's
    'improvement' may be a broken loss falling further (-4e+05 with labels out of BCE's range),
    no success to show in green nor a fix to apply as it is."""
    causes = catalogue()
    return any(causes[i].precedence >= LOSS_ITSELF_WRONG
               for i in cause.get("explained_by") or [] if i in causes)


def fix_text(cause: dict) -> str:
    """The cause's fix; for a consequence, to be tried only if it remains once its cause is
    fixed (label_range_transformer_signed_labels: 'Raise the learning rate to 1.0' as it stood;
    vanishing_deep_sigmoid: 'Give the model more capacity' under 'the model is not too
    small')."""
    if not cause.get("explained_by"):
        return cause["fix"]
    roots = cause["explained_by"]
    verb = "is" if len(roots) == 1 else "are"
    return (f"Only if this remains once {_quoted(_root_titles(cause))} {verb} dealt with: "
            f"{cause['fix']}")


def _root_titles(cause: dict) -> list[str]:
    """The titles of the causes a consequence follows from, as the report heads them."""
    reported = cause.get("root_titles") or {}
    causes = catalogue()
    return [reported.get(i) or (causes[i].title if i in causes else i)
            for i in cause["explained_by"]]


def _quoted(titles: list[str]) -> str:
    return " and ".join(f'"{title}"' for title in titles)


def cause_names(ids: list[str]) -> str:
    """Causes named by their titles, as their headings show them ('"The inputs are not
    normalized"'), not by their ids ('after fixing no_signal' asked a practitioner to decode
    an id; the id stays in each heading's tag)."""
    return " and ".join(cause_names_each(ids))


def cause_names_each(ids: list[str]) -> list[str]:
    causes = catalogue()
    return [f'"{causes[i].title}"' if i in causes else i for i in ids]


def experiment_text(experiment: dict, chance: float | None = None,
                    summary: dict | None = None, replay_explained: bool = False) -> str:
    """The experiment in one line; one that trained nothing (a model scored another way) says
    no number of steps; one whose fix still ends above the constant guess's loss ``chance``
    says so; one whose replay without the change beat the run itself says what a replay is
    (``summary``: the document's), unless ``replay_explained`` (a cause above shares that
    replay and said it: shared_replay_above)."""
    before, after = (_loss_words(experiment[key]) for key in ("before", "after"))
    how = f"{experiment['steps']:,} steps on copies" if experiment["steps"] else "on copies"
    measure = experiment.get("measure") or PLAIN_MEASURE
    said = (f"experiment ({how}): {experiment['description']}. {measure[:1].upper()}"
            f"{measure[1:]} {before} without the change, {after} with it.")
    if short_of_guess(experiment, chance):
        said += (f" Still above the {number(chance)} of always predicting the same answer: "
                 "this alone does not make the model learn.")
    return said + ("" if replay_explained else replay_note(experiment, summary or {}))


def experiment_line(document: dict, cause: dict) -> str:
    """The cause's experiment as every renderer says it; one run for a cause above (the same
    change, the same numbers) is named, not told again: example_2_unnormalized's 'standardize
    inputs' line, word for word under two causes, read as two confirmations."""
    experiment = cause["experiment"]
    twin = next((c for c in _above(document, cause) if c.get("experiment") == experiment), None)
    if twin is None:
        return experiment_text(experiment, chance_level(document), document.get("summary"),
                               shared_replay_above(document, cause))
    measure = experiment.get("measure") or PLAIN_MEASURE
    return (f"experiment: the one under {cause_names([twin['id']])} above "
            f"({experiment['description']}: {measure} {_loss_words(experiment['before'])} "
            "without the change, "
            f"{_loss_words(experiment['after'])} with it).")


def _above(document: dict, cause: dict) -> list[dict]:
    """The causes listed before this one."""
    causes = document["causes"]
    return causes[:next((i for i, c in enumerate(causes) if c is cause), len(causes))]


def shared_replay_above(document: dict, cause: dict) -> bool:
    """Whether a cause listed above this one replayed the same training without the change
    (vanishing_deep_sigmoid's vanishing_gradients and underfit_capacity share one baseline):
    what that replay is was said there, and said again under each it read as news."""
    key = _baseline(cause.get("experiment"))
    return key is not None and any(_baseline(c.get("experiment")) == key
                                   for c in _above(document, cause))


def _baseline(experiment: dict | None) -> tuple | None:
    """What identifies a replay of the user's setup without the change."""
    if not experiment or not experiment.get("steps"):
        return None
    return (experiment.get("before"), experiment["steps"], experiment.get("measure"),
            tuple(experiment.get("curve_before") or ()))


def replay_note(experiment: dict, summary: dict) -> str:
    """Why the replay without the change can end below the run's own best validation loss
    (lr_too_high_mlp: 0.799 "without the change" against a run whose best was 1.14, which read
    as if replaying changed something): a replay is a training of its own. Said only when it
    ends lower by more than a different trajectory of the same training can give on its own
    (MEANINGFUL_IMPROVEMENT, the bar a fix must clear): data_pipeline_sorted_labels' 1.32
    against a best of 1.32 is no question to answer."""
    before, best = experiment.get("before"), summary.get("validation_best")
    plain = (experiment.get("measure") or PLAIN_MEASURE) == PLAIN_MEASURE
    if not (plain and experiment.get("steps") and before is not None and best is not None
            and before < best * (1 - MEANINGFUL_IMPROVEMENT)):
        return ""
    return (f" Without the change the replay ends below your run's best ({number(best)}): it "
            f"trains copies for {experiment['steps']:,} steps (your run took "
            f"{summary.get('steps', 0):,}) on its own random draw of your batches, so it lands "
            "elsewhere; compare the two replays with each other, not with your run.")


def short_of_guess(experiment: dict, chance: float | None) -> bool:
    """A fix whose validation loss still ends above the constant guess's (example_3: lr 0.02
    'brings the validation loss to 0.77', in green, where guessing gives 0.718)."""
    after = experiment.get("after")
    plain = (experiment.get("measure") or PLAIN_MEASURE) == PLAIN_MEASURE
    return (plain and chance is not None and after is not None and math.isfinite(chance)
            and after > chance)


def _loss_words(value) -> str:
    return number(value) if value is not None else "blown up (inf or NaN)"


def evidence_text(evidence: dict) -> str:
    return ", ".join(f"{name}={number(value)}" for name, value in evidence.items())


def check_problems(document: dict) -> list[str]:
    """Checks that failed inside lossdoctor or were stopped, and the trace's notes."""
    lines = [
        f"check {check['name']} failed inside lossdoctor: {check['reason']}"
        for check in document["checks"] if check["status"] == "error"
    ]
    stopped = [check for check in document["checks"] if check["status"] == "stopped"]
    for reason in dict.fromkeys(check["reason"] for check in stopped):
        names = ", ".join(_check_words(check) for check in stopped if check["reason"] == reason)
        lines.append(_out_of_time_line(reason, names) if "budget" in reason
                     else f"not finished, the diagnosis was stopped: {names}")
    return lines + list(document["notes"]) + randomness_lines(document)


def _check_words(check: dict) -> str:
    """A check by what it tests, the titles of its causes: 'underfit_capacity' alone, in the
    line that says it was not run for lack of time, asked a practitioner to decode an id
    (class_imbalance_cnn_defects)."""
    causes = [i for i in check.get("causes") or [] if i in catalogue()]
    return f"the test for {cause_names(causes)} ({check['name']})" if causes else check["name"]


def _out_of_time_line(reason: str, names: str) -> str:
    """'not finished: the diagnosis' time budget (...) ran out: a, b; run again with ...
    to include them'."""
    what, _, how = reason.partition("; ")
    if ", " in names and how.endswith(" to include it"):
        how = how.removesuffix(" it") + " them"
    return f"{what}: {names}; {how}" if how else f"{reason}: {names}"


def randomness_lines(document: dict) -> list[str]:
    """A verdict that another draw of the script's random numbers may change says so."""
    causes = document["causes"]
    borderline = not causes or causes[0]["confidence"] < RANDOM_DRAW_CONFIDENCE
    settled = document["status"] in ("healthy", "no_training")
    if document.get("seeded") is not False or not borderline or settled:
        return []
    return ["Your script does not seed its random numbers and this verdict is not clear-cut: "
            "another run may rank the causes differently. Run with --seed N (lossdoctor run "
            "--seed 0 ...) to make runs comparable."]


def chance_level(document: dict) -> float | None:
    """The loss of the best constant guess, in the user's loss: from the curve verdict, else from
    a finding that measured it."""
    chance = (document.get("curve") or {}).get("chance_loss")
    if chance is not None:
        return chance
    for finding in document["causes"] + document.get("dismissed", []):
        value = finding["evidence"].get("constant_loss_in_user_units")
        if value is not None:
            return value
    return None


def floor_level(document: dict) -> float | None:
    """The lowest loss the run's set-up can reach, when a finding measured one above 0 (a
    softmax applied twice: 1.04 with 6 classes): a curve levelling off there has learned all it
    can, and the loss figure draws it as it draws the constant guess."""
    for finding in document["causes"]:
        value = finding["evidence"].get("loss_floor")
        if value is not None:
            return value
    return None


#: Whole numbers below this are counts (elements, rows, steps stored as floats), and numbers from
#: 1,000 up to it are read as people write them (999.97 as 1,000, not 1e+03, as the causes' text
#: writes it): written out whole. From here on, three significant digits (numbers.WHOLE_BELOW).
WHOLE_NUMBERS_BELOW = WHOLE_BELOW


def number(value) -> str:
    if value is None:
        return "inf/nan"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if abs(value) < WHOLE_NUMBERS_BELOW and (value.is_integer() or round(abs(value)) >= 1000):
        return f"{value:,.0f}"  # a count: 17,856 of 17,922 read "1.79e+04 of 1.79e+04"
    return f"{value:.3g}"
