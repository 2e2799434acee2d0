from lossdoctor.checks import discover_checks
from lossdoctor.diagnosis import REPORT_THRESHOLD, diagnose, rank
from lossdoctor.findings import Cause, Finding, Skip


def _finding(cause, confidence):
    return Finding(cause, confidence, verdict="v", evidence={})


def test_no_signal_leads_whatever_the_confidences():
    ranked = rank([_finding(Cause.LR_TOO_HIGH, 0.95), _finding(Cause.NO_SIGNAL, 0.6)])
    assert [f.cause for f in ranked] == [Cause.NO_SIGNAL, Cause.LR_TOO_HIGH]


def test_a_broken_loss_contract_leads_even_no_signal():
    ranked = rank([_finding(Cause.NO_SIGNAL, 0.9), _finding(Cause.LR_TOO_HIGH, 0.99),
                   _finding(Cause.SHAPE_BROADCAST, 0.6)])
    assert [f.cause for f in ranked] == [Cause.SHAPE_BROADCAST, Cause.NO_SIGNAL, Cause.LR_TOO_HIGH]


def test_a_consequence_follows_the_cause_that_explains_it_and_says_so():
    ranked = rank([_finding(Cause.UNDERFIT_CAPACITY, 0.99), _finding(Cause.LR_TOO_HIGH, 0.7),
                   _finding(Cause.VANISHING_GRADIENTS, 0.6)])
    assert [f.cause for f in ranked] == [
        Cause.LR_TOO_HIGH, Cause.VANISHING_GRADIENTS, Cause.UNDERFIT_CAPACITY
    ]
    assert ranked[-1].explained_by == ["lr_too_high", "vanishing_gradients"]
    assert ranked[0].explained_by == [] and ranked[1].explained_by == []


def test_inputs_off_scale_explain_saturation_but_labels_without_signal_do_not():
    ranked = rank([_finding(Cause.SATURATED_ACTIVATION, 0.95),
                   _finding(Cause.UNNORMALIZED_INPUTS, 0.9), _finding(Cause.NO_SIGNAL, 0.9)])
    assert [f.cause for f in ranked] == [
        Cause.NO_SIGNAL, Cause.UNNORMALIZED_INPUTS, Cause.SATURATED_ACTIVATION
    ]
    assert ranked[1].explained_by == []


def test_other_causes_rank_by_confidence():
    ranked = rank([_finding(Cause.LR_TOO_HIGH, 0.6), _finding(Cause.UNNORMALIZED_INPUTS, 0.9)])
    assert [f.cause for f in ranked] == [Cause.UNNORMALIZED_INPUTS, Cause.LR_TOO_HIGH]


def test_a_failing_or_skipping_check_is_recorded_and_the_others_still_run():
    def broken(case):
        raise ValueError("boom")

    def lacking(case):
        raise Skip("needs validation batches")

    def finds(case):
        return [_finding(Cause.LR_TOO_LOW, 0.8), _finding(Cause.LR_TOO_HIGH, 0.2)]

    result = diagnose(None, {"broken": broken, "lacking": lacking, "finds": finds})
    statuses = {o.name: (o.status, o.reason) for o in result.outcomes}
    assert statuses["broken"][0] == "error" and "boom" in statuses["broken"][1]
    assert statuses["lacking"] == ("skipped", "needs validation batches")
    assert [f.cause for f in result.causes] == [Cause.LR_TOO_LOW]
    assert [f.cause for f in result.dismissed] == [Cause.LR_TOO_HIGH]
    assert all(f.confidence < REPORT_THRESHOLD for f in result.dismissed)


def test_confidence_is_clamped_and_fix_defaults_to_the_cause():
    finding = Finding(Cause.UNDERFIT_CAPACITY, 1.7, verdict="v", evidence={})
    assert finding.confidence == 1.0
    assert finding.fix == Cause.UNDERFIT_CAPACITY.default_fix


def test_checks_are_discovered_from_the_package():
    from pathlib import Path

    from lossdoctor import checks

    found = discover_checks()
    package = Path(checks.__file__).parent
    assert set(found) == {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
    assert found and all(callable(check) for check in found.values())
    assert not any(name.startswith("_") for name in found)


def test_a_model_fed_dicts_is_diagnosed_without_errors_and_skips_say_why():
    import torch
    import torch.nn.functional as F

    from conftest import DictModel, record

    torch.manual_seed(0)
    model = DictModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    inputs = {"left": torch.randn(400, 2), "right": torch.randn(400, 3)}
    target = inputs["left"][:, :1] * 2 + inputs["right"][:, :1]

    def batches(start, stop):
        for i in range(start, stop, 20):
            yield {k: v[i : i + 20] for k, v in inputs.items()}, target[i : i + 20]

    def train():
        for _ in range(5):
            for batch, y in batches(0, 300):
                optimizer.zero_grad()
                F.mse_loss(model(batch), y).backward()
                optimizer.step()
            with torch.no_grad():
                for batch, y in batches(300, 400):
                    F.mse_loss(model(batch), y)

    result = diagnose(record(train))
    assert result.healthy
    assert {o.name for o in result.outcomes} == set(discover_checks())
    assert all(o.status != "error" for o in result.outcomes), result.outcomes
    skipped = [o for o in result.outcomes if o.status == "skipped"]  # a linear model has no ReLU
    assert skipped and all(o.reason.startswith("needs") for o in skipped)
