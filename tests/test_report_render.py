"""The report renderers (HTML, Markdown, terminal) read only the report document: a saved JSON
re-renders to the same report, every figure has its data, and text from the user's code is
escaped. The document is built from a small recorded training run."""

import base64
import copy
import json
import re
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import asdict
from html import unescape

import pytest
import torch
from torch import nn

from conftest import REPO, fit, record
from lossdoctor import cli
from lossdoctor.checks._fix import fix_experiment
from lossdoctor.checks.dead_relu import DEAD_RELU
from lossdoctor.checks.learning_rate import LR_TOO_HIGH, range_test_details
from lossdoctor.checks.overfitting import OVERFITTING
from lossdoctor.checks.saturated_activation import SATURATED_ACTIVATION
from lossdoctor.checks.unnormalized_inputs import UNNORMALIZED_INPUTS
from lossdoctor.checks.vanishing_gradients import VANISHING_GRADIENTS
from lossdoctor.diagnosis import CheckOutcome, Diagnosis, rank
from lossdoctor.experiments import ReplayResult
from lossdoctor.findings import Experiment, Finding
from lossdoctor.lr_range import lr_range_test
from lossdoctor.report import document, figures, html, json_file, markdown, terminal
from lossdoctor.report._common import cause_title, chance_level
from lossdoctor.script_run import ScriptRun

HOSTILE = "<script>alert(1)</script>"
SCRIPT = "runs/<b>bold</b>_train.py"
CURVE = {"verdict": "plateau", "message": "validation loss flat since epoch 2",
         "since_step": 6, "since_epoch": 2, "chance_loss": 0.69, "stopped_early": False}


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict([
        (HOSTILE, nn.Linear(3, 8)), ("act", nn.Sigmoid()), ("relu", nn.ReLU()),
        ("head", nn.Linear(8, 1)),
    ]))


def _case():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(96, 3, generator=generator) * 50
    y = (x[:, :1] > 0).float()
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    return record(fit, model, optimizer, nn.BCEWithLogitsLoss(), (x[:64], y[:64]),
                  (x[64:], y[64:]), epochs=4, batch_size=16)


def _findings(case) -> list[Finding]:
    test = lr_range_test(case.replayer, 1e-4, 10.0, 30)
    experiment = Experiment("lower lr", 0.9, 0.5, 20, [0.9, 0.92, 0.88], [0.7, 0.6, 0.5])
    return [
        Finding(LR_TOO_HIGH, 0.8, f"Your lr is too high for layer {HOSTILE}.",
                {"user_lr": 0.5}, experiment=experiment,
                details={"range_test": range_test_details(test, 0.5, 0.05)}),
        Finding(UNNORMALIZED_INPUTS, 0.9, "Inputs up to 150.", {"largest_abs_value": 150},
                details={"features": [{"mean": 1.0, "std": 50.0, "max_abs": 150.0}] * 3}),
        Finding(SATURATED_ACTIVATION, 0.7, "Sigmoids pinned.", {"saturated": 0.9}),
        Finding(VANISHING_GRADIENTS, 0.6, "Gradients vanish.", {"ratio": 1e-4}),
        Finding(DEAD_RELU, 0.55, "Dead units.", {"dead": 0.8}),
    ]


def sample_document(curve: dict | None = CURVE) -> dict:
    """A report of a small recorded run, with findings whose details every figure draws."""
    case = _case()
    dismissed = [Finding(OVERFITTING, 0.2, "Not really.", {"gap": 0.01})]
    outcomes = [CheckOutcome("scale", "ran"), CheckOutcome("signal", "skipped", "needs X")]
    diagnosis = Diagnosis(rank(_findings(case)), outcomes, dismissed)
    built = document.build(ScriptRun(SCRIPT, 0, "", case.trace, case.copies), diagnosis)
    built["curve"] = copy.deepcopy(curve)
    return built


@pytest.fixture(scope="module")
def report() -> dict:
    return sample_document()


@pytest.fixture(scope="module")
def page(report) -> str:
    return html.render(report)


def _renderings(doc: dict, page: str | None = None) -> tuple[str, ...]:
    return (page or html.render(doc), markdown.render(doc), terminal.text(doc),
            terminal.text(doc, verbose=True))


def _figures(page: str) -> dict[str, str]:
    """Figure key -> its SVG text, from the page's embedded images."""
    found = re.findall(r'data-figure="([^"]+)".*?src="data:image/svg\+xml;base64,([^"]+)"',
                       page, re.S)
    return {key: base64.b64decode(data).decode("utf-8") for key, data in found}


def test_json_round_trip_renders_the_same_report(report, page, tmp_path):
    path = tmp_path / "run.json"
    json_file.write(report, str(path))
    assert _renderings(json_file.read(str(path))) == _renderings(report, page)


def test_every_figure_of_the_causes_is_drawn_with_its_data(report, page):
    drawn = _figures(page)
    assert set(drawn) == {"loss_curves", "lr_range", "fix_lr_too_high", "feature_scales",
                            "saturation", "gradient_norms", "dead_units"}
    for svg in drawn.values():
        ET.fromstring(svg)  # well-formed
    assert "your lr 0.5" in drawn["lr_range"] and "lr of the fix 0.05" in drawn["lr_range"]
    # the epoch the text names, with the step the axis shows (the text said "since epoch 0"
    # over a band labelled "since step 32": lr_too_low_cnn)
    assert "since epoch 2 (step 6)" in drawn["loss_curves"] and "chance" in drawn["loss_curves"]


def test_the_page_is_self_contained(report, page):
    assert "<script" not in page.lower()
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@import" not in page and "url(" not in page


def test_text_from_the_users_code_is_escaped(report, page):
    assert HOSTILE not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "gradient_norms" in _figures(page)  # the figure that names the user's layers
    for svg in _figures(page).values():
        assert HOSTILE not in svg
    assert "<script" not in markdown.render(report) and "<b>" not in markdown.render(report)
    assert HOSTILE in terminal.text(report)  # plain text shows it as written


def test_a_gradient_plot_names_the_layers(report, page):
    svg = _figures(page)["gradient_norms"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.weight" in svg and "head.bias" in svg


def test_without_the_curve_verdict_the_report_still_renders(report):
    doc = dict(report, curve=None, causes=[], dismissed=[], status="healthy")
    svg = _figures(html.render(doc))["loss_curves"]
    assert "since step" not in svg and "chance" not in svg


def test_the_chance_level_falls_back_to_the_no_signal_evidence(report):
    doc = dict(report, curve=None)
    signal = {"id": "no_signal", "title": "No signal", "confidence": 0.9, "verdict": "noise",
              "evidence": {"constant_loss_in_user_units": 0.5}, "fix": "", "experiment": None,
              "details": {}, "explained_by": []}
    doc["causes"] = [signal]
    assert chance_level(doc) == 0.5
    assert "chance (constant guess) 0.5" in figures.loss_curves(doc["curves"], None, 0.5)


def test_terminal_shows_evidence_only_when_verbose(report):
    brief, verbose = terminal.text(report), terminal.text(report, verbose=True)
    words = " ".join(brief.split())  # a consequence's longer heading wraps
    for place, cause in enumerate(report["causes"], start=1):  # in the diagnosis' order
        assert f"{place}. {cause_title(cause)} [{cause['id']}" in words
    assert "evidence:" not in brief and "evidence: user_lr=0.5" in verbose
    assert "dismissed" in verbose and "overfitting" in verbose
    assert "\x1b[" not in brief and "╭" not in brief  # plain text, no box
    assert all(line == line.rstrip() for line in brief.splitlines())


def test_markdown_is_ready_to_paste(report):
    text = markdown.render(report)
    assert text.startswith("### lossdoctor: 5 causes found.")
    first = report["causes"][0]
    assert f"#### 1. {first['title']} (`{first['id']}`, confidence {first['confidence']:.2f})" \
        in text
    assert "| `user_lr` | 0.5 |" in text
    assert "runs/&lt;b>bold&lt;/b>\\_train.py" in text


@pytest.mark.parametrize("status", ["healthy", "no_training"])
def test_reports_without_causes_render(report, status):
    doc = dict(report, status=status, causes=[], dismissed=[])
    if status == "no_training":
        doc.update(curves={"train_steps": [], "train_epochs": [], "validation": []},
                   gradients=[], activations=[], summary={}, checks=[])
    page, text = html.render(doc), terminal.text(doc)
    assert ("No PyTorch training was seen" in text) == (status == "no_training")
    assert ("loss_curves" in page) == (status == "healthy")
    assert markdown.render(doc)


def test_report_command_rerenders_a_saved_json(report, page, tmp_path, capsys):
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(report))
    code = cli.main(["report", str(saved), "--html", str(tmp_path / "r.html"),
                     "--md", str(tmp_path / "r.md")])
    assert code == 0
    assert (tmp_path / "r.html").read_text() == page
    assert (tmp_path / "r.md").read_text() == markdown.render(report)
    assert f"1. {report['causes'][0]['title']}" in capsys.readouterr().out


def test_report_command_refuses_a_file_that_is_not_a_report(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    assert cli.main(["report", str(bad)]) == 2
    assert "cannot read the report" in capsys.readouterr().err


def test_every_key_of_the_document_is_documented(report):
    schema = (REPO / "docs" / "report-schema.md").read_text()
    tested = next(c for c in report["causes"] if c["experiment"])
    keys = set(report) | set(tested) | set(tested["experiment"])
    keys |= set(report["setup"]) | set(report["checks"][0]) | set(report["summary"])
    keys |= set(report["gradients"][0]) | set(report["activations"][0]) | set(CURVE)
    keys |= set(report["curves"]) | set(report["curves"]["validation"][0])
    missing = sorted(k for k in keys if f"`{k}`" not in schema)
    assert not missing, f"undocumented keys: {missing}"


def test_gradients_that_are_all_zero_are_drawn_and_said():
    svg = figures.gradient_norms([{"name": "fc.weight", "steps": [0, 1], "norms": [0.0, 0.0]}])
    assert "every sampled gradient is exactly 0" in svg and "linear scale" in svg


def test_a_figure_without_its_data_is_left_out():
    assert figures.gradient_norms([]) is None and figures.feature_scales([]) is None
    assert figures.lr_range({"lrs": [0.1], "losses": [None]}) is None
    assert figures.fix_curves({"curve_before": [], "curve_after": [], "steps": 0}) is None


def test_a_run_with_the_symptom_and_no_cause_says_what_was_ruled_out_and_never_healthy(report):
    unexplained = copy.deepcopy(report)
    unexplained.update(status="unexplained", causes=[],
                       symptom={"kind": "at_chance", "message": "validation loss 0.70 no better "
                                "than a constant guess (0.69)"})
    unexplained["checks"] = [
        {"name": "learning_rate", "status": "ran", "reason": "",
         "causes": ["lr_too_high", "lr_too_low"]},
        {"name": "no_signal", "status": "skipped", "reason": "needs validation batches",
         "causes": ["no_signal"]},
        {"name": "bad_init", "status": "ran", "reason": "", "causes": ["bad_init"]},
    ]
    for shown in (" ".join(r.split()) for r in _renderings(unexplained)):
        assert "looks healthy" not in shown and "No problem found" not in shown
        assert "no cause was confirmed" in shown and "constant guess" in shown
        # what was not tested comes first, what was ruled out in one line after it
        assert "ruled out: lr_too_high, lr_too_low, bad_init" in shown
        assert ('could not test "The labels cannot be predicted from the inputs": needs '
                "validation batches") in unescape(shown)
        assert shown.index("could not test") < shown.index("ruled out")


def test_a_run_with_too_little_evidence_says_so_rather_than_healthy_or_broken(report):
    short = copy.deepcopy(report)
    short.update(status="unexplained", causes=[],
                 symptom={"kind": "too_short", "message": "only 2 validation points and no "
                          "constant guess to compare with: too little evidence to call the "
                          "training healthy"})
    for shown in (" ".join(r.split()) for r in _renderings(short)):
        assert "Too little evidence to call your training healthy" in shown
        assert "looks healthy" not in shown and "not healthy" not in shown


def test_a_healthy_run_says_what_was_looked_for_and_what_could_not_be_tested(report):
    """'No problem found' alone did not say what was checked (healthy_tabular_mlp)."""
    healthy = copy.deepcopy(report)
    healthy.update(status="healthy", causes=[], dismissed=[])
    healthy["checks"] = [
        {"name": "learning_rate", "status": "ran", "reason": "",
         "causes": ["lr_too_high", "lr_too_low"]},
        {"name": "no_signal", "status": "skipped", "reason": "needs validation batches",
         "causes": ["no_signal"]},
    ]
    for shown in (" ".join(r.split()) for r in _renderings(healthy)):
        assert "No problem found" in shown and "looked for 2 causes and found none" in shown
        assert ('could not test "The labels cannot be predicted from the inputs": needs '
                "validation batches") in unescape(shown)


def test_a_healthy_run_without_a_validation_loss_is_not_called_healthy_beyond_its_training(
        report):
    """fresh25 s08 scored its held-out rows by AUC alone: "the training looks healthy" said
    nothing of the overfitting the thread was about."""
    healthy = copy.deepcopy(report)
    healthy.update(status="healthy", causes=[], dismissed=[])
    healthy["summary"] = {**healthy.get("summary", {}), "validation_passes": 0}
    for shown in (" ".join(r.split()) for r in _renderings(healthy)):
        assert "no validation loss was seen" in shown and "looks healthy" not in shown


def test_a_list_item_that_wraps_hangs_under_its_text(report):
    healthy = copy.deepcopy(report)
    healthy.update(status="healthy", causes=[], dismissed=[])
    healthy["checks"] = [{"name": "underfit_capacity", "status": "skipped", "causes": [],
                          "reason": "no larger model to compare with " * 4}]
    lines = terminal.text(healthy, width=60).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  - could not test"))
    assert lines[start + 1].startswith("    ") and lines[start + 1].strip()


def test_an_incomplete_run_is_not_marked_in_the_red_of_a_cause_found(report):
    """healthy_cnn_shapes out of time: 'no problem found, but 3 checks did not finish' under
    the red bar of a found cause; it gets the amber of an open question, as unexplained does."""
    page = html.render({**copy.deepcopy(report), "status": "incomplete", "causes": []})
    assert '<section class="verdict incomplete"' in page
    assert re.search(r"\.verdict\.incomplete[^{]*\{ border-left-color: #b9770e", page)


def test_checks_out_of_time_are_named_with_how_to_include_them(report):
    stopped = copy.deepcopy(report)
    reason = ("not finished: the diagnosis' time budget (4 s) ran out; run again with a larger "
              "budget (e.g. `lossdoctor run --budget 100 ...`, or budget= in Python) to include it")
    stopped["checks"] = [{"name": name, "status": "stopped", "reason": reason, "causes": [name]}
                         for name in ("data_pipeline", "learning_rate")]
    text = " ".join(terminal.text(stopped).split())
    assert ('ran out: the test for "The data pipeline feeds the model badly" (data_pipeline), '
            "learning_rate; run again") in text
    assert text.count("to include them") == 1 and "to include it" not in text


def test_a_legend_sits_above_the_data_never_on_it():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(figures.WIDTH, figures.HEIGHT))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for k in range(5):
        axes.plot([0, 1, 2], [k, k + 1, k], label=f"a fairly long series name number {k}")
    axes.secondary_xaxis("top").set_xticks([0, 1], labels=["0", "1"])
    figures._legend_above(figure, axes)
    renderer = figure.canvas.get_renderer()
    legend = axes.get_legend().get_window_extent(renderer)
    top_axis = axes.child_axes[0].get_tightbbox(renderer)
    assert legend.y0 >= axes.get_window_extent(renderer).y1
    assert legend.y0 >= top_axis.y1 - 1  # above the epoch labels too
    assert legend.y1 <= figure.bbox.y1 + 1  # and inside the figure


def test_a_fix_over_less_than_two_decades_is_labelled_as_people_write_losses():
    """A replay from 0.7 to 0.02 had its log axis labelled '6x10^-1, 4x10^-1, 3x10^-1 ...',
    crowding into the axis title (saturated_activation_conv1d_tanh_init)."""
    experiment = {"curve_before": [0.7, 0.69, 0.7], "curve_after": [0.7, 0.1, 0.02],
                  "steps": 20, "curve_steps": [0, 10, 20]}
    labels = _tick_labels(figures.fix_curves(experiment))
    assert {"0.05", "0.1", "0.5"} <= labels
    assert not any("10^" in label or "times" in label for label in labels)


def test_a_loss_in_the_hundreds_of_thousands_has_whole_values_on_its_ticks():
    """A '1e6' multiplier above the axis sat in the epoch row and left '0.8' to mean 800,000
    (unscaled_targets_cnn_brightness)."""
    curves = {"train_steps": [{"step": s, "loss": 9e5 - 2e3 * s} for s in range(200)],
              "validation": [{"step": 100, "loss": 7e5}, {"step": 199, "loss": 5e5}]}
    labels = _tick_labels(figures.loss_curves(curves, None, None))
    assert "8e+05" in labels and "0.8" not in labels and not any("1e6" in t for t in labels)
    narrow = {"train_steps": [{"step": s, "loss": 1.39 + 1e-5 * s} for s in range(50)],
              "validation": [{"step": 49, "loss": 1.3905}]}
    assert not any(t.startswith("+") for t in _tick_labels(figures.loss_curves(narrow, None,
                                                                                None)))


def _tick_labels(svg: str) -> set[str]:
    return {text.strip() for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)}


def test_a_fix_is_drawn_against_the_constant_guess():
    experiment = {"curve_before": [0.9, 0.9], "curve_after": [0.8, 0.75], "steps": 10}
    assert "chance (constant guess)" in figures.fix_curves(experiment, chance=0.69)
    assert "chance" not in figures.fix_curves(experiment)


def test_the_fix_figure_says_its_text_numbers_are_where_each_replay_settled(page):
    """The text's 'brings it to 0.0668' is the mean of the last evaluations, while the drawn
    curve can end at 0.01 (optimizer_choice_sgd_transformer): the caption says which is which."""
    assert "The numbers in the text average each replay&#x27;s last 3 evaluations" in page


def test_an_experiment_two_causes_share_is_drawn_once(report):
    shared = copy.deepcopy(report)
    tested = next(c for c in shared["causes"] if c.get("experiment"))
    twin = copy.deepcopy(tested)
    twin.update(id="twin_cause", figures=[])
    shared["causes"].append(twin)
    page = html.render(shared)
    assert page.count("Validation loss before and after the fix: shown above") == 1
    assert len(re.findall(r'data-figure="fix_', page)) == len(
        {c["experiment"]["description"] for c in shared["causes"] if c.get("experiment")})


def test_an_experiment_two_causes_share_is_not_drawn_again(report, monkeypatch):
    """Drawing it again for the second cause and then dropping it cost a fifth of the page's
    build time (vanishing_deep_sigmoid)."""
    shared = copy.deepcopy(report)
    tested = next(c for c in shared["causes"] if c.get("experiment"))
    shared["causes"] = [tested, {**copy.deepcopy(tested), "id": "twin_cause", "figures": []}]
    drawn = []
    draw = figures.fix_curves
    monkeypatch.setattr(figures, "fix_curves", lambda *a: drawn.append(1) or draw(*a))
    html.render(shared)
    assert len(drawn) == 2  # one figure, at the report's width and a phone's


def test_an_experiment_two_causes_share_is_told_once_and_named_under_the_second(report):
    """example_2_unnormalized: 'standardize inputs. Validation loss 46 without the change, 0.803
    with it. Still above ...' word for word under unnormalized_inputs and saturated_activation."""
    shared = copy.deepcopy(report)
    tested = next(c for c in shared["causes"] if c.get("experiment"))
    shared["causes"] = [tested, {**copy.deepcopy(tested), "id": "saturated_activation"}]
    for rendered in _renderings(shared):
        words = " ".join(unescape(rendered).split())
        assert words.count("experiment (") == 1
        assert f'experiment: the one under "{tested["title"]}" above' in words


@pytest.mark.slow  # a whole diagnosis over 8 s; faster tests check its mechanism
def test_an_unseeded_run_with_a_borderline_verdict_suggests_seed(report):
    def said(document):
        return " ".join(" ".join(r.split()) for r in _renderings(document))

    unseeded = copy.deepcopy(report)
    unseeded.update(seeded=False)
    unseeded["causes"][0]["confidence"] = 0.6
    assert said(unseeded).count("Run with --seed N") == len(_renderings(unseeded))
    clear_cut = copy.deepcopy(unseeded)
    clear_cut["causes"][0]["confidence"] = 0.95
    seeded = copy.deepcopy(unseeded)
    seeded.update(seeded=True)
    assert "--seed" not in said(clear_cut) and "--seed" not in said(seeded)


def test_a_plateau_is_settled_in_a_healthy_run_and_flat_in_a_broken_one(report):
    healthy = {**copy.deepcopy(report), "symptom": None, "causes": [], "status": "healthy"}
    broken = {**copy.deepcopy(report), "symptom": {"kind": "at_chance", "message": "m"}}
    assert "Validation loss settled since epoch 2." in terminal.text(healthy)
    assert "Validation loss flat since epoch 2." in terminal.text(broken)


def test_an_improving_curve_is_not_said_twice(report):
    improving = copy.deepcopy(report)
    improving["curve"] = {**CURVE, "verdict": "improving",
                          "message": "validation loss improving: 0.9 -> 0.5"}
    for rendering in _renderings(improving):
        assert "improving: 0.9" not in rendering
        assert "Validation loss " in rendering


def test_an_experiment_line_says_without_and_with_the_change(report):
    line = markdown.render(report)
    assert "Validation loss 0.9 without the change, 0.5 with it." in line
    assert " -> 0.5" not in line


def test_the_best_validation_epoch_is_the_pass_epoch_not_its_index():
    """Two validation passes per epoch: the best of the third pass is in epoch 1, not 2."""
    from lossdoctor.trace import LossRecord, Trace

    trace = Trace()
    trace.epoch_starts += [0, 10]
    for step in range(20):
        trace.add_loss(LossRecord(1.0, 8, "train", step))
        if step % 5 == 4:
            trace.add_loss(LossRecord([0.9, 0.8, 0.5, 0.7][step // 5], 8, "eval", step + 1))
    trace.steps = 20
    summary = document.summary(trace)
    assert summary["validation_passes"] == 4
    assert summary["validation_best"] == 0.5 and summary["validation_best_epoch"] == 1


def _agg_axes():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(figures.WIDTH, figures.HEIGHT))
    FigureCanvasAgg(figure)
    return figure.add_subplot()


def test_an_epochs_number_sits_in_the_middle_of_its_span():
    """A validation pass at the end of epoch 0 (step 10) must sit under "0", not under "1"."""
    axes = _agg_axes()
    axes.plot([0, 30], [1, 0])
    figures._epoch_ticks(axes, [0, 10, 20], 30)
    top = axes.child_axes[0].xaxis
    assert list(top.get_majorticklocs()) == [0, 10, 20]
    assert list(top.get_minorticklocs()) == [5, 15, 25]
    assert [t.get_text() for t in top.get_ticklabels(minor=True)] == ["0", "1", "2"]
    axes.plot([0, 30], [0, 1], label="a series")
    figures._legend_above(axes.figure, axes)
    renderer = axes.figure.canvas.get_renderer()
    axes.set_ylim(0, 1)  # a y tick label at the very top, where the word would collide
    axes.figure.canvas.draw()
    top_tick_label = max(axes.yaxis.get_ticklabels(), key=lambda t: t.get_position()[1])
    assert top_tick_label.get_position()[1] == 1
    word = next(t for t in axes.texts if t.get_text() == "epoch").get_window_extent(renderer)
    assert word.y0 > top_tick_label.get_window_extent(renderer).y1 - 1  # clear of the y labels
    legend = axes.get_legend().get_window_extent(renderer)
    assert legend.y0 >= axes.child_axes[0].get_tightbbox(renderer).y1 - 1


def test_a_single_batch_far_below_the_trends_does_not_set_the_bottom():
    axes = _agg_axes()
    steps = [1.0, 0.9, 1e-5, 0.8, 0.7, 0.75]
    axes.plot(range(6), steps)
    figures._frame_losses(axes, trends=[0.9, 0.8, 0.75, 0.69], single_steps=steps)
    assert axes.get_yscale() == "linear" and axes.get_ylim()[0] > 0.5
    wide = _agg_axes()
    figures._frame_losses(wide, trends=[100.0, 1.0], single_steps=[100.0, 1e-5, 1.0])
    assert wide.get_yscale() == "log" and wide.get_ylim()[0] == 0.5


@pytest.mark.slow  # a whole diagnosis; faster tests check its mechanism
def test_replays_of_different_step_counts_are_not_drawn_on_a_shared_step_axis(report):
    aligned = {"curve_before": [0.9, 0.8, 0.7], "curve_after": [0.9, 0.6, 0.4], "steps": 20,
               "curve_steps": [0, 10, 20]}
    other_steps = {**aligned, "curve_steps": [], "curve_after": [0.7, 0.5, 0.4, 0.3]}
    assert "replayed optimizer step" in figures.fix_curves(aligned)
    assert "share of each replay done" in figures.fix_curves(other_steps)
    doc = copy.deepcopy(report)
    tested = next(c for c in doc["causes"] if c.get("experiment"))
    assert tested["experiment"]["curve_steps"] == []
    assert "Each replay is drawn over its own length" in html.render(doc)
    tested["experiment"]["curve_steps"] = [0, 10, 20]
    assert "Each replay is drawn over its own length" not in html.render(doc)


def test_a_healthy_runs_plateau_is_shaded_as_settled_and_a_stuck_ones_as_not_improving():
    curves = {"train_steps": [{"step": s, "loss": 1 / (s + 1)} for s in range(20)],
              "validation": [{"step": 10, "loss": 0.3}, {"step": 20, "loss": 0.3}]}
    plateau = {**CURVE, "since_step": 10}
    settled = figures.loss_curves(curves, plateau, None, settled=True)
    assert "settled since epoch 2 (step 10)" in settled
    assert "flat since epoch 2 (step 10)" in figures.loss_curves(curves, plateau, None)
    at_chance = {**plateau, "verdict": "at_chance"}
    assert "not improving since epoch 2 (step 10)" in figures.loss_curves(curves, at_chance, 0.69)


def test_a_shade_that_starts_at_an_epochs_last_pass_says_the_end_of_that_epoch():
    """no_signal_cnn_random_labels: the shade began at epoch 1's tick, labelled "since epoch 0
    (step 32)": the pass at the end of epoch 0."""
    curves = {"train_steps": [{"step": s, "loss": 1.0} for s in range(64)],
              "validation": [{"step": 32, "loss": 1.0, "epoch": 0},
                             {"step": 64, "loss": 1.0, "epoch": 1}], "epoch_starts": [0, 32]}
    at_end = {**CURVE, "verdict": "plateau", "since_step": 32, "since_epoch": 0}
    assert "flat since the end of epoch 0 (step 32)" in figures.loss_curves(curves, at_end, None)
    inside = {**at_end, "since_step": 20}  # a pass inside its epoch keeps the plain words
    assert "flat since epoch 0 (step 20)" in figures.loss_curves(curves, inside, None)


def test_a_plateau_with_a_cause_found_is_flat_not_settled(report):
    no_symptom = {**copy.deepcopy(report), "symptom": None}
    assert report["causes"] and "Validation loss flat since epoch 2." in terminal.text(no_symptom)
    assert "settled" not in html.render(no_symptom)


def test_a_recorded_panel_says_what_its_checks_concluded(report):
    doc = copy.deepcopy(report)
    doc.update(causes=[], status="healthy")  # none found, so none that explains the panels
    doc["dismissed"] = []
    doc["checks"] = [
        {"name": "dead_relu", "status": "ran", "reason": "", "causes": ["dead_relu"]},
        {"name": "exploding_gradients", "status": "ran", "reason": "",
         "causes": ["exploding_gradients"]},
        {"name": "vanishing_gradients", "status": "skipped", "reason": "needs 3 layers",
         "causes": ["vanishing_gradients"]},
    ]
    assert html.judged_text(doc, "dead_units") == (
        'The check for "Most ReLU units are dead" read this and reported nothing.')
    assert html.judged_text(doc, "gradient_norms") == (
        'The check for "Gradients explode" read this and reported nothing. '
        '"Gradients vanish before they reach the first layers": not tested (needs 3 layers).')
    doc["dismissed"] = [{"id": "dead_relu", "confidence": 0.3, "verdict": "a few"}]
    assert '"Most ReLU units are dead": looked into, too weak to report.' in html.judged_text(
        doc, "dead_units")
    page = unescape(html.render(doc))
    recorded = page[page.index('id="recorded"'):]
    assert '"Gradients vanish before they reach the first layers": not tested' in recorded
    assert "vanishing_gradients:" not in recorded  # an id where the title belongs


def test_an_experiment_in_another_measure_says_so_and_has_no_chance_line(report):
    doc = copy.deepcopy(report)
    tested = next(c for c in doc["causes"] if c.get("experiment"))
    tested["experiment"]["measure"] = "balanced validation loss (each class counts equally)"
    line = " ".join(markdown.render(doc).split())
    assert "Balanced validation loss (each class counts equally) 0.9 without the change" in line
    svg = _figures(html.render(doc))[f"fix_{tested['id']}"]
    assert "chance" not in svg and "balanced validation loss" in svg


def test_an_experiment_whose_replay_blew_up_says_so():
    experiment = {"description": "clip", "before": None, "after": 0.35, "steps": 300}
    from lossdoctor.report._common import experiment_text

    assert experiment_text(experiment).endswith(
        "Validation loss blown up (inf or NaN) without the change, 0.35 with it.")


def test_activation_panels_span_the_whole_run_with_its_epochs():
    layers = [{"layer": "1", "kind": "relu", "units": 8, "steps": [0, 1, 2, 50],
               "saturated": [0, 0, 0, 0], "dead": [0.1, 0.2, 0.2, 0.3]}]
    svg = figures.activation_fractions(layers, "dead", "dead", [0, 40, 80], last_step=120)
    assert ">epoch<" in svg and ">120<" in svg


def test_a_healthy_runs_wobble_is_settled_and_not_shaded(report):
    healthy = {**copy.deepcopy(report), "symptom": None, "causes": [], "status": "healthy"}
    healthy["curve"] = {**CURVE, "verdict": "oscillating",
                        "message": "validation loss swinging up and down by about 0.0076 with no "
                                   "steady progress"}
    assert "swinging up and down by about 0.0076 around where it settled." in terminal.text(
        healthy)
    page = html.render(healthy)
    assert "since step" not in _figures(page)["loss_curves"] and "Shaded" not in page
    broken = {**healthy, "causes": copy.deepcopy(report["causes"])}
    assert "with no steady progress" in terminal.text(broken)


def test_without_recorded_epoch_starts_the_epochs_come_from_the_validation_passes():
    """A loop without a DataLoader: the text says "epoch 10", so the axis must show epochs."""
    passes = [{"step": 50 * (e + 1), "epoch": e, "loss": 0.1} for e in range(3)]
    assert figures.epoch_starts({"epoch_starts": [], "validation": passes}) == [0, 50, 100]
    assert figures.epoch_starts({"epoch_starts": [0, 7], "validation": passes}) == [0, 7]
    uneven = [{**p, "epoch": 2 * p["epoch"]} for p in passes]
    assert figures.epoch_starts({"epoch_starts": [], "validation": uneven}) == []
    curves = {"train_steps": [{"step": s, "loss": 1.0} for s in range(150)],
              "validation": passes, "epoch_starts": []}
    assert ">epoch<" in figures.loss_curves(curves, None, None)


def test_a_log_axis_within_two_decades_is_labelled_without_overlap():
    """matplotlib labels every minor tick of a short log range, and they run into each other."""
    axes = _agg_axes()
    axes.set_xscale("log")
    axes.set_xlim(0.02, 0.8)
    figures._log_labels(axes.xaxis, 0.02, 0.8)
    axes.figure.canvas.draw()
    labels = [t for t in axes.xaxis.get_ticklabels()
              if t.get_text() and 0.02 <= t.get_position()[0] <= 0.8]  # those in view
    assert [t.get_text() for t in labels] == ["0.02", "0.05", "0.1", "0.2", "0.5"]
    assert not any(t.get_text() for t in axes.xaxis.get_ticklabels(minor=True))
    renderer = axes.figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False))


def test_many_epochs_get_a_tick_only_where_a_number_is_shown():
    axes = _agg_axes()
    axes.plot([0, 1000], [1, 0])
    figures._epoch_ticks(axes, list(range(0, 1000, 10)), 1000)
    top = axes.child_axes[0].xaxis
    assert len(top.get_majorticklocs()) == len(top.get_minorticklocs()) <= figures.MAX_EPOCH_TICKS


@pytest.mark.slow  # a whole diagnosis; faster tests check its mechanism
def test_a_fix_measured_through_a_wrong_loss_is_no_green_success_and_waits_for_that_fix(report):
    """label_range_transformer_signed_labels: an lr 'fix' that drove a broken loss to -4e+05
    showed in green as a success, with 'Raise the learning rate to 1.0' as the fix to apply."""
    doc = copy.deepcopy(report)
    tested = next(c for c in doc["causes"] if c.get("experiment"))
    plain_fix = tested["fix"]
    tested["explained_by"] = ["label_range"]
    page, md, text = unescape(html.render(doc)), markdown.render(doc), terminal.text(doc)
    waits = ('Only if this remains once "The labels are outside what the loss expects" is dealt '
             f"with: {plain_fix}")
    assert all(waits in rendered for rendered in (page, md, " ".join(text.split())))
    assert '<p class="experiment">' not in page and '<p class="consequence">experiment' in page
    # label_range_bce_labels: the same fix drawn as a green line plunging to -7e+08
    assert f'data-figure="fix_{tested["id"]}"' not in page and html.WRONG_LOSS_FIGURES in page
    tested["explained_by"] = ["no_signal"]  # explained, but its numbers are not distorted
    assert '<p class="experiment">' in html.render(doc)
    assert f'data-figure="fix_{tested["id"]}"' in html.render(doc)
    assert ('Only if this remains once "The labels cannot be predicted from the inputs" is '
            "dealt with") in markdown.render(doc)


def test_a_consequence_neither_claims_its_cause_nor_asks_for_its_fix_before_the_roots(report):
    """vanishing_deep_sigmoid: 'the model is not too small' above '2. The model is too small for
    the task' (a consequence of vanishing_gradients) and its 'Give the model more capacity'."""
    doc = copy.deepcopy(report)
    consequence = doc["causes"][-1]
    consequence.update(id="underfit_capacity", title="The model is too small for the task",
                       explained_by=["vanishing_gradients"], fix="Give the model more capacity.")
    page, md, text = unescape(html.render(doc)), markdown.render(doc), terminal.text(doc)
    for rendered in (page, md, " ".join(text.split())):
        # not even 'Looks like the model is too small' under a root that says it is not: what
        # the check saw, a larger model fitting better, stays true
        assert "too small" not in rendered.replace("the model is not too small", "")
        assert ("A larger model fits better (follows from: gradients vanish before they reach "
                "the first layers)") in rendered
        assert ('once "Gradients vanish before they reach the first layers" is dealt with: '
                "Give") in rendered
    assert cause_title({"title": "NaN or infinite values", "explained_by": ["lr_too_high"]}) == (
        "Looks like NaN or infinite values (follows from: the learning rate is too high)")


def test_a_consequence_names_its_root_by_the_title_the_root_is_reported_under():
    """data_pipeline_val_labels_shuffled: no_signal's verdict said the labels can be predicted
    in training, under the heading 'The labels cannot be predicted from the inputs'."""
    from lossdoctor.checks.no_signal import MISALIGNED_TITLE
    from lossdoctor.report._common import consequence_text, fix_text
    from lossdoctor.report.document import with_root_titles

    root = {"id": "no_signal", "title": MISALIGNED_TITLE, "explained_by": []}
    consequence = {"id": "overfitting", "title": "The model overfits", "fix": "More data.",
                   "explained_by": ["no_signal"]}
    with_root_titles([root, consequence])
    assert MISALIGNED_TITLE.lower() in cause_title(consequence)
    assert f'"{MISALIGNED_TITLE}"' in consequence_text(consequence)
    assert fix_text(consequence).startswith(f'Only if this remains once "{MISALIGNED_TITLE}"')


def test_a_consequence_of_a_wrong_loss_warns_that_its_numbers_are_distorted():
    from lossdoctor.report._common import consequence_text

    assert "measured through that problem" in consequence_text({"explained_by": ["label_range"]})
    assert consequence_text({"explained_by": ["no_signal"]}) == (
        'likely a consequence of "The labels cannot be predicted from the inputs", found above')
    assert consequence_text({"explained_by": []}) == ""


def test_a_recorded_panel_names_the_cause_found_that_can_explain_it(report):
    doc = copy.deepcopy(report)
    doc["causes"] = [c for c in doc["causes"] if c["id"] == "lr_too_high"]
    doc["checks"] = [{"name": "dead_relu", "status": "ran", "reason": "", "causes": ["dead_relu"]}]
    assert html.judged_text(doc, "dead_units").endswith(
        'Anything unusual in it can come from "The learning rate is too high", found above.')
    doc["causes"] = []
    assert "found above" not in html.judged_text(doc, "dead_units")


def test_a_validation_loss_nan_at_every_pass_is_said_in_words(report):
    broken = copy.deepcopy(report)
    broken["summary"].update(validation_first=None, validation_last=None, validation_best=None)
    text = terminal.text(broken)
    assert "Validation loss NaN or infinite at every pass." in text and "inf/nan" not in text


def test_a_replay_that_blew_up_is_named_in_the_fix_figure():
    experiment = {"curve_before": [None, None], "curve_after": [0.6, 0.1], "steps": 300}
    svg = figures.fix_curves(experiment)
    assert "your setup: NaN or infinite throughout" in svg and "with the fix" in svg


def test_a_replay_that_blew_up_after_its_first_points_says_where():
    """exploding_gradients_token_rnn: "your setup" was one point at step 0, hidden under the
    fix's, and then NaN: a legend entry with no line to be seen."""
    nan = float("nan")
    experiment = {"curve_before": [0.8, nan, nan], "curve_after": [0.8, 0.5, 0.3],
                  "curve_steps": [0, 30, 60], "steps": 60}
    assert "your setup (NaN or infinite from step 30)" in figures.fix_curves(experiment)
    experiment["curve_before"] = [0.8, 0.7, 0.6]
    assert "NaN or infinite" not in figures.fix_curves(experiment)


def test_a_replay_that_blew_up_and_stopped_shares_the_fixs_step_axis_from_step_0():
    """The replay of the user's setup stops where it blows up; the fix's replay then has the
    same steps and more. Both are drawn on the replay's steps from step 0, not over 'a share of
    each replay done' starting at 10% (nan_inf_transformer_log_count_targets)."""
    nan = float("nan")
    before = ReplayResult([nan], [float("inf")], diverged=True, validation_steps=[1],
                          start_validation=nan)  # blown up at its first step
    after = ReplayResult([0.5] * 90, [0.3, 0.2, 0.1], validation_steps=[30, 60, 90],
                         start_validation=0.9)
    experiment = fix_experiment("drop the bad rows", before, after)
    assert experiment.curve_steps == [0, 30, 60, 90]
    assert experiment.curve_after == [0.9, 0.3, 0.2, 0.1]
    assert len(experiment.curve_before) == 4
    assert "your setup: NaN or infinite throughout" in figures.fix_curves(asdict(experiment))
    assert "replayed optimizer step" in figures.fix_curves(asdict(experiment))


def test_the_shade_caption_says_what_the_legend_says(report):
    diverging = copy.deepcopy(report)
    diverging["curve"] = {**CURVE, "verdict": "diverging", "message": "loss became inf"}
    page = html.render(diverging)
    assert "Shaded: where the validation loss is diverging." in page
    assert "diverging since epoch 2 (step 6)" in _figures(page)["loss_curves"]
    assert "has stopped improving" not in page


def test_a_last_pass_that_jumped_is_no_shaded_window(report):
    """train_eval_mode_transformer_no_eval: 'Shaded: where the validation loss is jumped.' over
    a window of zero width at the last pass."""
    jumped = copy.deepcopy(report)
    jumped["curve"] = {**CURVE, "verdict": "jumped", "since_step": report["steps"],
                       "message": "validation loss jumped to 0.034 at the last epoch"}
    page = html.render(jumped)
    assert "Shaded" not in page and "since step" not in _figures(page)["loss_curves"]
    assert "Validation loss jumped to 0.034 at the last epoch." in page


def test_the_run_line_writes_the_learning_rate_as_the_causes_do():
    """'SGD lr=1e-06' above 'Your learning rate (1e-6, SGD)' (lr_too_low_mlp)."""
    from lossdoctor.report._common import lr_text

    assert lr_text({"optimizer_hparams": {"lr": 1e-6}}) == "lr=1e-6"
    schedule = {"lr_first": 9.52e-05, "lr_peak": 0.01, "lr_last": 0.001}
    assert lr_text(schedule) == "lr 9.52e-5 -> peak 0.01 -> 0.001"


def test_a_rate_read_from_manual_updates_that_wobbles_in_its_last_digits_is_one_rate():
    """pytorch/examples regression (``param.data.add_(-0.1 * param.grad)``): the rate read back
    from each update was written 'lr 0.1 -> peak 0.1 -> 0.1', and its one pass 'over 1 epochs'."""
    from lossdoctor.report._common import lr_text, run_lines

    assert lr_text({"lr_first": 0.1, "lr_peak": 0.10000002, "lr_last": 0.09999999}) == "lr=0.1"
    assert lr_text({"lr_first": 0.1, "lr_peak": 0.10000002, "lr_last": 0.01}) == "lr 0.1 -> 0.01"
    document = {"setup": {"model_class": "Linear", "parameter_count": 5, "loss_name": "l1",
                          "optimizer_class": "SGD", "optimizer_hparams": {"lr": 0.1}},
                "summary": {"steps": 953, "epochs": 1}, "causes": [], "status": "healthy"}
    assert run_lines(document)[0].startswith("Watched 953 training steps over 1 epoch:")


def test_the_layer_panels_of_a_run_that_blew_up_stop_where_its_loss_became_nan(report):
    """A run whose loss became NaN had its ReLU layers drawn as dying after it (NaN or
    infinite activations counted as units never active): the panel drew the blow-up as dead
    units, with no word about it."""
    doc = copy.deepcopy(report)
    relu = next(a for a in doc["activations"] if a["kind"] == "relu")
    blow_up = relu["steps"][len(relu["steps"]) // 2]
    relu["dead"] = [0.0 if s < blow_up else 1.0 for s in relu["steps"]]
    doc["curves"]["train_steps"] = [
        {"step": p["step"], "loss": p["loss"] if p["step"] < blow_up else None}
        for p in doc["curves"]["train_steps"]]
    plot = html._activation_plot(doc, dead=True)
    assert f"became NaN or infinite at step {blow_up}" in plot.caption
    assert "every unit dead" not in plot.svg
    relu["steps"] = [s for s in relu["steps"] if s >= blow_up]
    relu["dead"] = [1.0] * len(relu["steps"])
    assert html._activation_plot(doc, dead=True) is None  # nothing from before it to draw


def test_a_fix_that_still_ends_above_the_constant_guess_says_so_and_is_no_green_success(report):
    """example_3_learning_rate (random labels): 'lr 0.02 ... Validation loss 1.04 without the
    change, 0.77 with it' in green, where always predicting the same answer gives 0.718."""
    doc = copy.deepcopy(report)
    tested = next(c for c in doc["causes"] if c.get("experiment"))
    tested["explained_by"], tested["experiment"]["after"] = [], 0.77
    still = "Still above the 0.69 of always predicting the same answer"
    page, md, text = html.render(doc), markdown.render(doc), terminal.text(doc)
    assert all(still in rendered for rendered in (page, md, text.replace("\n", " ")))
    assert '<p class="experiment">' not in page
    tested["experiment"]["after"] = 0.5
    assert still not in markdown.render(doc) and '<p class="experiment">' in html.render(doc)


def test_wide_tick_labels_keep_the_axis_title_on_the_figure():
    """label_range_bce_labels: a range test down to -200000 pushed "smoothed training loss"
    off the figure's left edge."""
    lrs = [10 ** (k / 10) for k in range(-70, 11)]
    losses = [-2e5 * lr / 10 for lr in lrs]
    svg = figures.lr_range({"lrs": lrs, "losses": losses, "user_lr": 1e-3})
    title = re.search(r'x="([-\d.]+)"[^>]*rotate\(-90[^>]*>smoothed training loss<', svg)
    assert title and float(title.group(1)) >= 9  # the rotated title's glyphs reach ~9 pt left


def test_a_learning_rate_that_changed_is_drawn_over_the_steps_beside_the_losses(report):
    scheduled = copy.deepcopy(report)
    scheduled["setup"]["lr_schedule"] = [[0, 0.05], [10, 0.005], [20, 0.0005]]
    drawn = _figures(html.render(scheduled))
    assert "learning rate (log)" in drawn["learning_rate"] and ">epoch<" in drawn["learning_rate"]
    constant = copy.deepcopy(report)
    constant["setup"]["lr_schedule"] = [[0, 0.05]]
    assert "learning_rate" not in _figures(html.render(constant))


def test_a_phone_gets_narrower_figures_whose_text_stays_readable(page):
    """At 390 px the 7-inch figures shrank their 9 pt labels to about 6 px."""
    narrow = re.findall(r'<source media="\(max-width: 600px\)" srcset="data:image/svg\+xml;'
                        r'base64,([^"]+)"', page)
    assert len(narrow) == len(_figures(page))
    widths = {float(re.search(r'width="([\d.]+)pt"', base64.b64decode(data).decode())[1])
              for data in narrow}
    assert widths == {figures.NARROW_WIDTH * 72}


def test_a_replay_without_the_change_that_beats_the_run_says_what_a_replay_is(report):
    """lr_too_high_mlp: 0.799 "without the change" under a run whose best was 1.14."""
    from lossdoctor.report._common import experiment_text

    experiment = {"description": "lr 0.002", "before": 0.8, "after": 0.25, "steps": 300}
    summary = {"steps": 600, "validation_best": 1.14}
    said = experiment_text(experiment, None, summary)
    assert "ends below your run's best (1.14)" in said and "your run took 600" in said
    for best in (0.7, 0.85):  # below the replay, or above it by less than a tenth
        assert "run's best" not in experiment_text(experiment, None,
                                                   {**summary, "validation_best": best})


def test_a_replay_two_causes_share_is_explained_once(report):
    """vanishing_deep_sigmoid: "Without the change the replay ends below your run's best ..."
    under vanishing_gradients and again under underfit_capacity, which share that replay."""
    doc = copy.deepcopy(report)
    doc["summary"].update(steps=600, validation_best=1.14)
    shared = {"description": "lr 0.002", "before": 0.8, "after": 0.25, "steps": 300,
              "curve_before": [0.9, 0.8], "curve_after": [0.5, 0.25]}
    root, consequence = (next(c for c in doc["causes"] if c["id"] == cause)
                         for cause in ("unnormalized_inputs", "lr_too_high"))
    root["experiment"] = copy.deepcopy(shared)
    consequence["experiment"] = {**copy.deepcopy(shared), "description": "wider"}
    for rendered in _renderings(doc):
        assert " ".join(rendered.split()).count("ends below your run") == 1
    consequence["experiment"]["curve_before"] = [0.95, 0.8]  # a replay of its own
    assert " ".join(markdown.render(doc).split()).count("ends below your run") == 2


def test_replays_that_start_apart_say_why_in_the_caption(report):
    """vanishing_deep_sigmoid: the fix's ReLU model starts at 0.72, the user's sigmoid one at
    0.77, as if the fix had helped before its first step."""
    doc = copy.deepcopy(report)
    experiment = next(c for c in doc["causes"] if c.get("experiment"))["experiment"]
    experiment.update(curve_steps=[0, 10, 20], curve_before=[0.77, 0.7, 0.69],
                      curve_after=[0.72, 0.5, 0.2])
    assert "start apart at step 0 (0.77 and 0.72)" in unescape(html.render(doc))
    experiment["curve_after"] = [0.7705, 0.5, 0.2]  # one start, within float noise and a pixel
    assert "start apart" not in html.render(doc)


def test_a_start_gap_is_captioned_only_where_the_figure_shows_it():
    """The same 1.5% gap between the replays' first losses (over the 1% share that captioned
    every such gap): two dots on an axis spanning 0.6 to 0.77, one dot on a log axis down to
    0.02, where it is under a point."""
    steps, before = [0, 10, 20, 30], [0.77, 0.7, 0.69, 0.6]
    tight = {"curve_steps": steps, "curve_before": before,
             "curve_after": [0.7584, 0.75, 0.74, 0.73]}
    assert figures.start_gap_points(tight) > figures.START_APART_POINTS
    assert figures.start_apart(tight) == (0.77, 0.7584)
    wide = {**tight, "curve_after": [0.7584, 0.2, 0.05, 0.02]}
    assert figures.start_gap_points(wide) < 1
    assert figures.start_apart(wide) is None
    # the constant guess widens the axis too: drawn far below, it squeezes the gap to one dot
    assert figures.start_apart(tight, chance=0.01) is None


def test_the_learning_rate_figure_marks_the_step_the_schedule_cause_names(report):
    """lr_schedule_epoch_scheduler_per_batch: 'below 1% of the peak at step 44 of 632', and
    the figure had nothing at step 44."""
    doc = copy.deepcopy(report)
    doc["setup"]["lr_schedule"] = [[0, 0.05], [5, 0.005], [8, 0.0001]]
    doc["causes"][0].update(id="lr_schedule", evidence={"collapse_step": 8, "steps": 16})
    svg = _figures(html.render(doc))["learning_rate"]
    assert "step 8: the rate falls below 1% of its peak" in svg
    doc["causes"][0]["id"] = "lr_too_high"
    assert "step 8:" not in _figures(html.render(doc))["learning_rate"]


def test_one_input_feature_is_numbered_as_a_feature_not_on_a_fractional_axis():
    """unnormalized_cnn_raw_pixels: its one channel sat at 0 between ticks -0.045 ... 0.045."""
    svg = figures.feature_scales([{"mean": 130.0, "std": 20.7, "max_abs": 252.0}])
    labels = re.findall(r">([^<>]*)</text>", svg)
    assert not any("." in label and any(ch.isdigit() for ch in label) for label in labels)


def test_a_narrow_figure_keeps_its_legend_inside_with_long_layer_names():
    """A phone's gradient figure: the legend, starting at the axes right of the layer names, ran
    past the figure's right edge ("median over sa")."""
    layers = [{"name": "encoder.layers.0.self_attn.in_proj_weight", "norms": [0.1, 1, 10]},
              {"name": "head.bias", "norms": [0.2, 2]}]
    with figures.narrow():
        svg = figures.gradient_norms(layers)
    width = float(re.search(r'width="([\d.]+)pt"', svg)[1])
    legend = re.findall(r'font-size: 8px;[^>]*x="([\d.]+)"[^>]*>([^<]+)</text>', svg)
    assert legend and all(float(x) + 0.6 * 8 * len(text) <= width for x, text in legend)


def test_a_fix_that_reaches_zero_keeps_the_other_losses_apart():
    """bad_init_cnn_uniform: from 42 at step 0 on a linear axis, 0.476 (your setup), 0 (the fix)
    and 0.695 (the constant guess) were one line."""
    experiment = {"curve_before": [42.0, 5.0, 0.5, 0.476], "curve_after": [42.0, 0.01, 0.0, 0.0],
                  "curve_steps": [0, 100, 200, 300]}
    svg = figures.fix_curves(experiment, chance=0.695)
    assert "0.1" in _tick_labels(svg) or "1" in _tick_labels(svg)


def test_causes_out_of_confidence_order_say_why(report):
    """example_2_unnormalized: no_signal (0.90) listed above unnormalized_inputs (0.94)."""
    doc = copy.deepcopy(report)
    assert len(doc["causes"]) > 1
    doc["causes"][0]["confidence"], doc["causes"][1]["confidence"] = 0.5, 0.9
    for rendering in _renderings(doc):
        assert "not by confidence" in " ".join(rendering.split())
    for i, cause in enumerate(doc["causes"]):
        cause["confidence"] = 0.95 - 0.1 * i
    assert "not by confidence" not in markdown.render(doc)


def test_activation_samples_that_end_well_before_the_run_say_where(report):
    """train_eval_mode_transformer_no_eval: samples up to step 150 of 192 under an axis to 192
    read as activations that stopped changing; a caption now says where the samples end."""
    doc = copy.deepcopy(report)
    relu = next(a for a in doc["activations"] if a["kind"] == "relu")
    doc["steps"] = relu["steps"][-1] * 2
    assert f"The last sample is from step {relu['steps'][-1]:,} of {doc['steps']:,}" in (
        html._activation_plot(doc, dead=True).caption)
    doc["steps"] = relu["steps"][-1] + 1
    assert "The last sample" not in html._activation_plot(doc, dead=True).caption


def test_an_improving_curve_near_the_guess_says_so_in_place_of_the_curve_line(report):
    """unnormalized_cnn_raw_pixels, once its falling loss no longer read as 'no better than a
    constant guess': with the improving curve's line omitted, the symptom must still show."""
    near = copy.deepcopy(report)
    near["curve"] = {**CURVE, "verdict": "improving",
                     "message": "validation loss improving: 1.88 -> 1.31"}
    near["symptom"] = {"kind": "near_chance", "message": "validation loss 1.31 only 5.8% below a "
                       "constant guess (1.391), and still falling"}
    for rendering in _renderings(near):
        assert "improving: 1.88" not in rendering
        assert "1.31 only 5.8% below a constant guess" in unescape(rendering)
    near["status"] = "unexplained"  # the headline says it: once is enough
    assert terminal.text(near).count("only 5.8% below") == 1


def test_a_consequence_above_its_roots_confidence_is_listed_under_it_by_number(report):
    """saturated_activation_conv1d_tanh_init: the primary (0.70, no experiment) led a
    consequence at 0.97 with nothing in the list saying which followed from which. The rule
    (diagnosis.rank): a finding another explains comes after it, whatever its confidence."""
    doc = copy.deepcopy(report)
    root, consequence, further = doc["causes"][:3]
    root["confidence"], root["explained_by"] = 0.70, []
    consequence["confidence"], consequence["explained_by"] = 0.97, [root["id"]]
    further["confidence"], further["explained_by"] = 0.5, [consequence["id"], root["id"]]
    doc["causes"] = [root, consequence, further]
    said = "not by confidence (how sure each finding is): 2 follows from 1; 3 follows from 1 and 2."
    for rendering in _renderings(doc):
        assert said in " ".join(rendering.split())
    page = html.render(doc)
    ranking = page[page.index('<ol class="ranking">'):page.index("</ol>")]
    assert ranking.count('<li class="follows">') == 2
    assert '<span class="consequence">follows from 1:</span> <a href="#cause-' in ranking
    assert "follows from 1 and 2:" in ranking
    # roots alone out of confidence order: the other reason, said without numbers
    consequence["explained_by"] = further["explained_by"] = []
    text = " ".join(terminal.text(doc).split())
    assert "not by confidence (how sure each finding is): one that makes the others moot " \
        "comes first." in text
    assert 'class="follows"' not in html.render(doc)


def test_the_last_x_tick_label_stays_inside_the_figure():
    """A tick label centred on the axes' right end ("100000" on a narrow step axis, "10^1" on
    an lr range test) stuck out of the 0.15-inch right margin and was cut at the figure's
    edge."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with matplotlib.rc_context(figures._STYLE), figures.narrow():
        figure, axes = figures._figure()
        axes.plot([0, 100000], [1, 2])
        axes.set_xlim(-5000, 100500)
        figures._fit_left(figure, axes)
        renderer = FigureCanvasAgg(figure).get_renderer()
        right = axes.xaxis.get_tightbbox(renderer).x1 / figure.dpi
    assert right <= figure.get_size_inches()[0]


def test_x_tick_labels_on_a_phones_linear_axis_do_not_touch():
    """exploding_gradients_token_rnn's gradient figure on a phone: '0 5000 10000 15000 20000
    25000' ran into one row of digits."""
    import matplotlib

    with matplotlib.rc_context(figures._STYLE), figures.narrow():
        figure, axes = figures._figure(left=1.6)  # the room of the layer names
        axes.hlines([0, 1], [0, 0], [27000, 2000])
        figures._thin_x_labels(figure, axes, rounds=0)
        boxes = figures._x_label_boxes(figure, axes)
        touching = min(b.x0 - a.x1 for a, b in zip(boxes, boxes[1:], strict=False))
        figures._thin_x_labels(figure, axes)
        boxes = figures._x_label_boxes(figure, axes)
        after = min(b.x0 - a.x1 for a, b in zip(boxes, boxes[1:], strict=False))
    points = 72 / figure.dpi
    assert touching * points < figures.MIN_LABEL_GAP_POINTS <= after * points
    assert len(boxes) >= 2


def test_an_lr_range_test_and_gradient_norms_in_the_billions_carry_whole_values():
    """unscaled_targets_house_prices: the lr range test's '1e10' multiplier sat in the
    legend's band on a phone and left '5.0' to mean 5e10."""
    test = {"lrs": [1e-7 * 10 ** (i / 4) for i in range(36)],
            "losses": [5.2e10] * 30 + [3e10, 1.5e10, 2e10, 3e10, 2.5e10, 2.7e10],
            "user_lr": 1e-3, "fix_lr": 2.0}
    labels = _tick_labels(figures.lr_range(test))
    assert "5e+10" in labels and not any("1e10" in t or t == "5.0" for t in labels)
    norms = [{"name": "0.weight", "norms": [0.0, 3e6]}, {"name": "0.bias", "norms": [0.0, 1e5]}]
    labels = _tick_labels(figures.gradient_norms(norms))
    assert "3e+06" in labels and not any("1e6" in t for t in labels)


def test_an_unexplained_run_still_learning_is_told_to_train_longer_not_that_it_is_unhealthy(
        report):
    doc = copy.deepcopy(report)
    doc["status"], doc["causes"] = "unexplained", []
    doc["symptom"] = {"kind": "near_chance", "message": "validation loss 3.1 only 7.2% below a "
                      "constant guess (3.34), and still falling", "still_learning": True}
    for rendering in _renderings(doc):
        flat = " ".join(unescape(rendering).split())
        assert "ended while still learning" in flat and "train it longer" in flat
        assert "not healthy" not in flat
    doc["symptom"]["still_learning"] = False
    assert "Your training is not healthy" in " ".join(terminal.text(doc).split())


def test_a_run_without_loader_epochs_or_validation_passes_is_counted_in_steps_alone():
    """The char-RNN tutorial's loop draws random batches, without a loader or validation: 'over
    1 epoch' named a unit its script never counted in. A loader's single pass is one epoch."""
    from lossdoctor.report._common import run_lines

    setup = {"model_class": "Linear", "parameter_count": 5, "loss_name": "l1",
             "optimizer_class": "SGD", "optimizer_hparams": {"lr": 0.1}}
    unknown = {"steps": 600, "epochs": 1, "validation_passes": 0, "loader_epochs": False}
    one_pass = {**unknown, "loader_epochs": True}
    assert run_lines({"setup": setup, "summary": unknown, "causes": []})[0].startswith(
        "Watched 600 training steps: Linear")
    assert run_lines({"setup": setup, "summary": one_pass, "causes": []})[0].startswith(
        "Watched 600 training steps over 1 epoch:")


def test_checks_skipped_for_one_reason_are_named_in_one_line():
    """A loop the replays cannot follow skipped nine checks for the same reason: written once
    per check, the report repeated it nine times."""
    from lossdoctor.report._common import untested_lines

    reason = "your training loop feeds each call's output to the next"
    checks = [{"name": "bad_init", "status": "skipped", "reason": reason, "causes": ["bad_init"]},
              {"name": "learning_rate", "status": "skipped", "reason": reason,
               "causes": ["lr_too_high", "lr_too_low"]},
              {"name": "dead_relu", "status": "skipped", "reason": "needs a ReLU",
               "causes": ["dead_relu"]},
              {"name": "nan_inf", "status": "ran", "reason": "", "causes": ["nan_inf"]}]
    lines = untested_lines(checks)
    assert len(lines) == 2 and lines[0].endswith(reason) and lines[1].endswith("needs a ReLU")
    assert lines[0].count('"') == 6 and ' or "' in lines[0]
