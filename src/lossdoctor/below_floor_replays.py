"""A replay whose loss went below the loss's floor is no evidence for a fix.

Every loss whose kind lossdoctor knows is 0 at best (symptom.below_floor). A value below 0 no
longer measures how well the model fits: NLLLoss on raw scores rewards inflating one score
without limit. A replay that drives such a loss further down, from -4.39 to -25,054 at a higher
learning rate (issue 11, nll_on_raw_logits), only inflates the scores faster; its "improvement"
backs no cause, and a finding that rests on it stands down (dismissed, with the reason).
"""

from __future__ import annotations

import math
from dataclasses import replace

from lossdoctor.findings import Experiment, Finding
from lossdoctor.losses import alike, loss_kind
from lossdoctor.symptom import BELOW_FLOOR_ROUNDING

#: A finding whose replay measured a loss below its floor: below the 0.5 at which findings are
#: reported, so it is kept as dismissed (shown with --verbose and in the JSON), as advice is.
BELOW_FLOOR_CONFIDENCE = 0.3


def stand_down(findings: list[Finding], case) -> list[Finding]:
    """The findings, each one whose replayed fix measured the run's loss below its floor
    dismissed: its verdict says why, its evidence holds ``replay_below_loss_floor``."""
    setup = getattr(getattr(case, "trace", None), "setup", None)
    loss_name = getattr(setup, "loss_name", "") or ""
    return [_stood_down(f, loss_name) if below_floor_replay(f.experiment, loss_name) else f
            for f in findings]


def below_floor_replay(experiment: Experiment | None, loss_name: str) -> bool:
    """Whether either side of the experiment is below 0, by more than rounding (symptom's
    BELOW_FLOOR_ROUNDING of its scale), for a loss of a known kind."""
    if experiment is None or loss_kind(loss_name) is None:
        return False
    values = [v for v in (experiment.before, experiment.after) if math.isfinite(v)]
    scale = max([1.0, *(abs(v) for v in values)])
    return any(v < -BELOW_FLOOR_ROUNDING * scale for v in values)


def _stood_down(finding: Finding, loss_name: str) -> Finding:
    like = alike(loss_name)
    named = f"a loss computed like {like}" if like else loss_name
    verdict = (f"{finding.verdict} But the replay's validation loss went below 0, the least "
               f"{named} can be: it no longer measures the fit, so its drop is no evidence "
               f"for this fix.")
    return replace(finding, confidence=min(finding.confidence, BELOW_FLOOR_CONFIDENCE),
                   verdict=verdict,
                   evidence={**finding.evidence, "replay_below_loss_floor": 1.0})
