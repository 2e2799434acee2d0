"""What session 12 found by looking at six bundled examples' HTML reports at 390 and 1280 px: a
log axis with two labels, lines hidden under others, a gradient panel at 0 with no word on why,
and counts written as 1.79e+04."""

import copy
import re

import matplotlib

from lossdoctor.report import figures, html
from lossdoctor.report._common import number, run_lines
from test_report_render import sample_document


def _labels(svg: str) -> list[str]:
    return [text.strip() for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def _loss_figure(low: float, high: float) -> str:
    steps = [{"step": s, "loss": high * (low / high) ** (s / 99)} for s in range(100)]
    return figures.loss_curves({"train_steps": steps, "validation": []}, None, None)


def test_a_log_axis_under_three_decades_labels_half_decades():
    """train_val_shift_sensor_drift: losses from 0.03 to 6.8 had two labels, '10^-1' and
    '10^0', and the validation loss rising from 1.9 to 6.8 ran above the last one."""
    labels = _labels(_loss_figure(0.03, 6.8))
    assert {"0.1", "0.3", "1", "3"} <= set(labels)


def test_a_wide_log_axis_writes_powers_of_ten_without_math_text():
    """matplotlib's '$\\mathdefault{10^{-2}}$' goes through its math-text parser (a tenth of
    the HTML build); the label reads the same in plain text."""
    svg = _loss_figure(1e-5, 10.0)
    assert "10\u207b\u00b2" in _labels(svg) and "10\u2070" in _labels(svg)
    assert "mathdefault" not in svg
    assert figures._power_of_ten(0.02) == "0.02" and figures._power_of_ten(1e3) == "10\u00b3"


def _layers(values: list[list[float]]) -> list[dict]:
    return [{"layer": str(i), "kind": "relu", "steps": [0, 10, 20], "dead": v}
            for i, v in enumerate(values)]


def test_coinciding_activation_lines_are_nested_and_the_hidden_ones_named():
    """dead_relu_bias: two ReLU layers wholly dead from the first step drew as one line."""
    layers = _layers([[1.0] * 3] * 5)
    with matplotlib.rc_context(figures._STYLE):
        svg = figures.activation_fractions(layers, "dead", "fraction of units dead")
    widths = set(re.findall(r"stroke-width: ([\d.]+)", svg))
    assert {"1.2", "2.7", "4.2"} <= widths  # the last three drawn each narrower than the one under
    assert figures.hidden_layers(layers, "dead") == ["layer 0 (relu)", "layer 1 (relu)"]
    assert figures.hidden_layers(_layers([[1.0] * 3, [0.5] * 3]), "dead") == []
    assert figures.hidden_layers(_layers([[1.0] * 3] * 3), "dead") == []
    near, apart = 1.0 - figures.SAME_FRACTION / 2, 1.0 - 2 * figures.SAME_FRACTION
    assert figures.hidden_layers(_layers([[near] * 3] + [[1.0] * 3] * 3), "dead") == [
        "layer 0 (relu)"]
    assert figures.hidden_layers(_layers([[apart] * 3] + [[1.0] * 3] * 3), "dead") == []


def test_the_saturation_caption_names_the_lines_hidden_under_others():
    doc = sample_document()
    doc["activations"] = [{"layer": str(i), "kind": "sigmoid", "steps": [0, 10],
                           "saturated": [0.0, 0.0]} for i in range(5)]
    page = html.render(doc)
    assert "The lines of layer 0 (sigmoid) and layer 1 (sigmoid) lie under a later layer" in page


def test_gradients_of_exactly_zero_are_named_with_the_cause_found_that_zeroes_them():
    """dead_relu_bias: five of six rows at 0, under 'the checks for exploding and vanishing
    gradients reported nothing' and no word on why."""
    doc = sample_document()
    doc["causes"] = [c for c in doc["causes"] if c["id"] != "dead_relu"]
    doc["gradients"] = [{"name": f"{i}.weight", "norms": [0.0, 0.0]} for i in range(4)] + [
        {"name": "4.bias", "norms": [0.1, 0.3]}]
    said = html._zero_gradients_text(doc)
    assert "4 of 5 parameters (0.weight, 1.weight, 2.weight and 1 more) had a gradient of " \
           "exactly 0" in said and "dead ReLU" not in said
    dead = copy.deepcopy(doc)
    dead["causes"][0]["id"] = "dead_relu"
    assert "Found above: a dead ReLU layer passes no gradient" in html._zero_gradients_text(dead)
    doc["gradients"][0]["norms"] = [0.0, 1e-9]
    assert "3 of 5" in html._zero_gradients_text(doc)
    doc["gradients"] = doc["gradients"][:1]
    assert html._zero_gradients_text(doc) == ""  # all at 0: the figure itself says so


def test_whole_counts_are_written_out_and_large_floats_kept_short():
    """frozen_params: 'untrained_elements 1.79e+04, parameter_elements 1.79e+04' read as equal
    (17,856 of 17,922)."""
    assert [number(v) for v in (17856.0, 17922.0, 3000.0, 2.0, 0.00139)] == [
        "17,856", "17,922", "3,000", "2", "0.00139"]
    assert number(2.5e7) == "2.5e+07"  # a float32 loss that large is whole by construction
    # example_2_unnormalized's evidence: "largest_abs_value 1e+03" beside "values up to 1,000"
    assert number(999.97) == "1,000" and number(75130.4) == "75,130" and number(999.4) == "999"


def test_a_legend_entry_longer_than_a_row_wraps_inside_the_figure():
    """example_2_unnormalized on a phone: "torch.sigmoid in SimpleClassifier.forward (sigmoid):
    all saturated at the end" ran off the figure's right edge."""
    layer = {"layer": "torch.sigmoid in SimpleClassifier.forward", "kind": "sigmoid",
             "steps": [0, 10], "saturated": [1.0, 1.0]}
    with figures.narrow():
        svg = figures.activation_fractions([layer], "saturated", "fraction saturated")
    width = float(re.search(r'<svg[^>]*width="([\d.]+)pt"', svg).group(1))
    lines = [t for t in _labels(svg) if "sigmoid" in t or "saturated at" in t]
    assert len(lines) == 2  # wrapped onto two lines
    assert all(len(line) * 4.5 < width for line in lines)  # 8 pt text: about 4.5 pt a character
    assert figures._legend_lines(["a", "b\nc", "d"], 2) == 3  # rows: (a, d) and (b c)


def test_a_first_and_last_validation_loss_that_differ_read_apart():
    """over_regularized_dropout_cnn: "1.39 -> 1.39 (best 1.39 at epoch 1)" read as a run that
    never moved."""
    doc = sample_document()
    doc["summary"].update(validation_first=1.3894, validation_last=1.3925,
                          validation_best=1.3891, validation_best_epoch=1)
    assert "Validation loss 1.389 -> 1.393 (best 1.389 at epoch 1)." in run_lines(doc)
    doc["summary"].update(validation_first=1.78, validation_last=1.55, validation_best=1.55)
    assert "Validation loss 1.78 -> 1.55 (best 1.55 at epoch 1)." in run_lines(doc)


def test_a_phones_log_x_axis_falls_back_to_powers_of_ten_when_its_labels_touch():
    """Gradient norms from 0.0011 to 0.9 on a phone: 1 and 3 of each decade, seven labels of
    up to six characters, filled the axis edge to edge."""
    with matplotlib.rc_context(figures._STYLE), figures.narrow():
        figure, axes = figures._figure(left=1.6)  # the room of the layer names
        axes.hlines([0, 1], [0.0011, 0.002], [0.9, 0.5])
        axes.set_xscale("log")
        figures._log_labels(axes.xaxis, 0.0011, 0.9)
        assert figures._x_labels_touch(figure, axes)
        figures._thin_x_labels(figure, axes)
        assert not figures._x_labels_touch(figure, axes)
        assert len(figures._x_label_boxes(figure, axes)) >= 2


def test_only_coinciding_activation_lines_are_drawn_wider():
    """train_val_shift_cnn_exposure: '1 (relu)' at 0 was drawn thick beside '4 (relu)' at 0.25,
    which cross nowhere; the thick line read as the layer that matters."""
    with matplotlib.rc_context(figures._STYLE):
        svg = figures.activation_fractions(_layers([[0.0] * 3, [0.25] * 3]), "dead", "dead")
    assert set(re.findall(r"stroke-width: ([\d.]+)", svg)) & {"2.7", "4.2"} == set()
    with matplotlib.rc_context(figures._STYLE):
        svg = figures.activation_fractions(_layers([[0.0] * 3, [0.25] * 3, [0.0] * 3]), "dead",
                                           "dead")
    assert "2.7" in re.findall(r"stroke-width: ([\d.]+)", svg)  # the first under the third


def test_a_layer_named_by_its_index_in_a_sequential_is_called_a_layer():
    """lr_schedule_epoch_scheduler_per_batch: the legend read '1 (tanh)', a bare number."""
    assert figures.activation_name({"layer": "1", "kind": "tanh"}) == "layer 1 (tanh)"
    assert figures.activation_name({"layer": "0.3", "kind": "relu"}) == "layer 0.3 (relu)"
    assert figures.activation_name({"layer": "encoder.act", "kind": "relu"}) == \
        "encoder.act (relu)"
    with matplotlib.rc_context(figures._STYLE):
        svg = figures.activation_fractions(_layers([[0.5] * 3]), "dead", "dead")
    assert "layer 0 (relu)" in _labels(svg)


def test_a_check_the_budget_left_out_is_named_by_what_it_tests():
    """class_imbalance_cnn_defects: '... leaves for it: underfit_capacity; run again with'."""
    from lossdoctor.report._common import check_problems

    reason = ("not run: a ReLU CNN takes 0.096 s a training step here, more than the diagnosis' "
              "time budget (100 s) leaves for it; run again with `lossdoctor run --budget 110 "
              "...` or more to include it")
    checks = [{"name": "underfit_capacity", "status": "stopped", "reason": reason,
               "causes": ["underfit_capacity"]}]
    line, = check_problems({"checks": checks, "notes": [], "causes": [], "seeded": True,
                            "status": "incomplete"})
    assert ('leaves for it: the test for "The model is too small for the task" '
            "(underfit_capacity); run again") in line


def test_the_validation_loss_stands_out_from_the_training_mean_and_is_drawn_on_top():
    """exploding_gradients_rnn, class_imbalance_cnn_defects: a navy validation line beside a
    blue-grey running mean, under the dashed chance line, vanished where they met."""
    import colorsys

    from matplotlib.colors import to_rgb

    def saturation(color):
        return colorsys.rgb_to_hsv(*to_rgb(color))[1]

    assert saturation(figures.TRAIN_MEAN) < 0.1 < 0.5 < saturation(figures.VALIDATION)
    steps = [{"step": s, "loss": 1.0} for s in range(20)]
    svg = figures.loss_curves({"train_steps": steps, "validation": [
        {"step": s, "loss": 1.0} for s in (5, 10, 15)]}, None, 1.0)
    drawn = re.findall(r"stroke: (#[0-9a-f]{6})", svg)
    assert drawn.index(figures.VALIDATION) > drawn.index(figures.USER)  # over the chance line


def test_a_bias_just_before_batchnorm_is_said_to_have_a_near_zero_gradient_by_design():
    """batch_size_batchnorm_two_images: 0.bias and 4.bias at 1e-8 among rows at 0.01-1, under
    'the checks read this and reported nothing', with no word on why."""
    doc = sample_document()
    doc["setup"]["layers"] = [{"name": "0", "type": "Conv2d"}, {"name": "1", "type": "BatchNorm2d"},
                              {"name": "2", "type": "ReLU"}, {"name": "3", "type": "Linear"}]
    doc["gradients"] = [{"name": n, "norms": [1e-8, 2e-8] if n == "0.bias" else [0.1, 0.2]}
                        for n in ("0.weight", "0.bias", "3.weight", "3.bias")]
    said = html._batchnorm_bias_text(doc)
    assert said.startswith(" 0.bias comes just before a BatchNorm layer")
    assert "expected, not a problem" in html.render(doc)
    doc["setup"]["layers"][1]["type"] = "LayerNorm"  # no BatchNorm: nothing to say
    assert html._batchnorm_bias_text(doc) == ""


def test_a_number_in_scientific_notation_is_never_broken_at_its_minus():
    """lr_schedule_epoch_scheduler_per_batch on a phone: 'SGD lr 0.05 -> 6.7e-' above '31'."""
    assert html.prose("SGD lr 0.05 -> 6.7e-31 & 2e+08") == (
        'SGD lr 0.05 -&gt; <span class="num">6.7e-31</span> &amp; <span class="num">2e+08</span>')
    doc = sample_document()
    doc["setup"]["lr_first"], doc["setup"]["lr_last"] = 0.05, 6.7e-31
    page = html.render(doc)
    assert ".num { white-space: nowrap; }" in page or ", .num { white-space: nowrap; }" in page


def test_a_rising_validation_loss_is_shaded_as_rising_not_diagnosed_as_overfitting():
    """data_pipeline_val_labels_shuffled: 'overfitting since epoch 0' shaded over the curves of
    a run whose primary cause was shuffled validation labels."""
    assert figures.behaviour({"verdict": "overfitting"}, settled=False) == "rising"
    assert figures.behaviour({"verdict": "plateau"}, settled=False) == "flat"


def test_the_saturation_verdict_names_every_layer_pinned():
    """saturated_activation_mlp_sigmoid_init: sigmoid layers 1 and 3 were pinned for 80% and 79%
    of their outputs from the first step on; the verdict named only layer '1'."""
    from lossdoctor.checks.saturated_activation import LayerSaturation, _describe_pinning

    first = LayerSaturation("1", "sigmoid", 0.81, 0.80, 64)
    second = LayerSaturation("3", "sigmoid", 0.80, 0.79, 64)
    text = _describe_pinning(first, [first, second])
    assert text.startswith("The sigmoid layer '1' is pinned at 0 or 1 for 81% of its outputs")
    assert text.endswith("Also pinned: the sigmoid layer '3' (79% at the end).")
    assert "Also" not in _describe_pinning(first, [first])


def test_a_loss_that_became_nan_is_written_as_the_rest_of_the_report_writes_it():
    """nan_in_inputs: 'Loss became nan at epoch 0.' under 'NaN or infinite values'."""
    from lossdoctor.curves import judge

    assert judge([(0, float("nan")), (1, float("nan"))]).message == "loss became NaN at epoch 0"
    assert "became infinite at epoch 1" in judge([(0, 1.0), (1, float("inf"))]).message


def test_input_scales_are_named_as_the_verdict_names_them():
    """unnormalized_cnn_raw_pixels: the verdict spoke of 'channel 0', the figure of 'input
    feature' 0 and the fix of 'each feature's training mean'."""
    from lossdoctor.checks.unnormalized_inputs import _fix

    svg = figures.feature_scales([{"mean": 130.0, "std": 20.7, "max_abs": 252.0}], "channel")
    assert "input channel" in _labels(svg)
    assert "subtract each channel's training mean" in _fix("channel")
    doc = copy.deepcopy(sample_document())
    doc["causes"][0].update(id="unnormalized_inputs", figures=["feature_scales"], details={
        "features": [{"mean": 130.0, "std": 20.7, "max_abs": 252.0}], "unit": "channel"})
    assert "Input channel scales" in html.render(doc)


def test_a_huge_loss_in_a_verdict_is_written_as_the_summary_writes_it():
    """unscaled_targets_house_prices: the summary's 'best 4.93e+10' was '49,256,237,056' in the
    verdict."""
    from lossdoctor.checks._plain import plain_number

    assert plain_number(49_256_237_056.0) == number(49_256_237_056.0) == "4.93e+10"
    assert plain_number(119_995.0) == number(119_995.0) == "119,995"
    assert plain_number(0.6931) == "0.693"


def test_gradient_norms_scaled_by_unscaled_targets_are_said_to_come_from_them():
    """unscaled_targets_house_prices: gradient norms up to 1e7 under 'Gradients explode: reported
    nothing', with no word that targets in the hundreds of thousands make them so large."""
    doc = copy.deepcopy(sample_document())
    doc["causes"] = [{**doc["causes"][0], "id": "unscaled_targets"}]
    doc["checks"] = [{"name": "exploding_gradients", "status": "ran", "reason": "",
                      "causes": ["exploding_gradients"]}]
    assert html.judged_text(doc, "gradient_norms").endswith(
        'Anything unusual in it can come from "The regression targets are not scaled", found '
        'above.')
    assert "found above" not in html.judged_text(doc, "dead_units")
    doc["causes"][0]["id"] = "over_regularized"  # weights decayed: gradients down to 1e-15
    assert html.judged_text(doc, "gradient_norms").endswith(
        'Anything unusual in it can come from "Regularization is too strong", found above.')


def test_figures_left_out_for_a_wrong_loss_do_not_say_lower_is_not_better():
    """loss_mismatch_double_softmax: under a double softmax a lower loss is still better; what
    fails is comparing it with a correct setup's loss (its floor is 1.04, not 0)."""
    assert "lower is not better" not in html.WRONG_LOSS_FIGURES
    assert "do not compare" in html.WRONG_LOSS_FIGURES


def test_the_initial_constant_guess_says_it_is_the_training_one():
    """bad_init_mlp: '0.672 for a constant guess' in the verdict under the summary's 'constant
    guess (0.6875)', the validation one."""
    from lossdoctor.checks.bad_init import _verdict
    from lossdoctor.findings import Experiment

    evidence = {"initial_loss": 89.5, "default_init_loss": 0.675, "constant_guess_loss": 0.672,
                "largest_initial_output": 481.0, "largest_default_init_output": 1.98}
    text = _verdict(evidence, Experiment("re-init", 2.5, 0.45, 300), [])
    assert text.startswith("Your model starts with a training loss of 89.5")
    assert "0.672 for a constant guess on the training labels" in text


def test_long_parameter_names_stay_apart_on_a_phone():
    """optimizer_choice_sgd_transformer at 390 px: the in_proj_weight of encoder.layers.0 and of
    encoder.layers.1 were both labelled 'encoder.l...oj_weight'."""
    names = [f"encoder.layers.{i}.self_attn.{p}" for i in (0, 1)
             for p in ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")]
    with figures.narrow():
        labels = [figures._short(n) for n in names]
    assert len(set(labels)) == len(labels)
    assert "e.l.0.s.in_proj_weight" in labels or any(".0." in label for label in labels)
    assert figures._short("head.weight") == "head.weight"
    with figures.narrow():
        assert figures._short("features.denseblock4.denselayer16.conv2.weight").startswith(
            "f.d4.d16.")


def test_a_recurrent_model_is_told_why_its_gates_were_not_seen_as_sigmoid_or_tanh():
    """healthy_gru_trend: 'could not test "Activations are saturated": needs a sigmoid or tanh
    activation ... none was seen', on a GRU, built of sigmoid and tanh gates."""
    import pytest

    from lossdoctor.checks.saturated_activation import saturation_by_layer
    from lossdoctor.findings import Skip
    from lossdoctor.trace import LayerGradient, Trace

    def skip_reason(names):
        trace = Trace()
        trace.gradients = [LayerGradient(0, name, 1.0, 1.0) for name in names]
        with pytest.raises(Skip) as skipped:
            saturation_by_layer(trace)
        return str(skipped.value)

    assert "gates inside a recurrent layer are not watched" in skip_reason(
        ["gru.weight_ih_l0", "gru.weight_hh_l0", "head.weight"])
    assert "recurrent" not in skip_reason(["0.weight", "2.weight"])


def test_a_loss_below_its_floor_is_not_drawn_as_a_clean_descent():
    """label_range_transformer_signed_labels: the loss fell from 0 to -12 under the bare caption
    'Training loss per optimizer step and validation loss per pass.'"""
    doc = copy.deepcopy(sample_document())
    assert "no longer measures the fit" not in html._loss_caption(doc, False)
    doc["symptom"] = {"kind": "below_floor", "message": "validation loss -11.39, below 0"}
    assert "Below 0 this loss no longer measures the fit" in html._loss_caption(doc, False)


def test_the_zero_grad_verdict_writes_losses_as_its_experiment_line_does():
    """missing_zero_grad_gru_sensor: 'ends at 1.48e+03' above 'Validation loss 1,480 without the
    change'."""
    from types import SimpleNamespace

    from lossdoctor.checks.training_loop import _zero_grad_verdict
    from lossdoctor.findings import Experiment

    trace = SimpleNamespace(zero_grad_calls=0, steps=256, manual_grad_resets=0)
    text = _zero_grad_verdict(trace, Experiment("zero_grad", 1480.0, 0.112, 300))
    assert "like your loop ends at 1,480." in text
    text = _zero_grad_verdict(trace, Experiment("zero_grad", float("inf"), 0.112, 300))
    assert "like your loop blows up (inf or NaN)." in text


def test_curve_sentences_write_large_losses_as_the_summary_does():
    """unscaled_targets_cnn_brightness: 'Validation loss 885,511 -> 495,504' above 'Validation
    loss 4.955e+05 worse than a constant guess (9.758e+04)'."""
    from lossdoctor.curves import judge, loss_words

    assert loss_words(495_504.0) == "495,504" and loss_words(0.69158) == "0.6916"
    assert loss_words(4.926e10) == "4.926e+10"
    message = judge([(0, 885_511.0), (1, 700_000.0), (2, 600_000.0), (3, 495_504.0)]).message
    assert "e+05" not in message and "495,504" in message


def test_parameters_never_trained_are_said_to_have_no_gradient_row():
    """frozen_params_head_only: 'Gradient norm of each parameter' over fc2's rows alone, with
    fc1, never trained, missing without a word."""
    doc = copy.deepcopy(sample_document())
    doc["gradients"] = [{"name": "fc2.weight", "steps": [0], "norms": [0.5]}]
    doc["causes"] = [{**doc["causes"][0], "id": "frozen_params",
                      "details": {"untrained_parameters": {"fc1.weight": 640, "fc1.bias": 64}}}]
    assert html._untrained_rows_text(doc) == (
        " No row for fc1.weight and fc1.bias: never trained (found above).")
    doc["causes"] = []
    assert html._untrained_rows_text(doc) == ""


def test_a_module_name_cut_in_one_gradient_label_is_cut_in_every_label_it_leads():
    """healthy_transformer_majority at 1280 px: 'e.layers.0.self_attn.in_proj_weight' above
    'encoder.layers.0.linear1.weight', read as two modules 'e' and 'encoder'."""
    names = ["embed.weight", "encoder.layers.0.self_attn.in_proj_weight",
             "encoder.layers.0.linear1.weight", "head.weight"]
    labels = figures._short_labels(names)
    assert labels[0] == "embed.weight" and labels[-1] == "head.weight"
    assert labels[1].startswith("e.layers.0.") and labels[2] == "e.layers.0.linear1.weight"


def test_the_floor_of_a_softmax_applied_twice_is_drawn_under_the_training_curve():
    """loss_mismatch_double_softmax: a curve falling from 1.78 to 1.55 with no line at 1.04,
    the least it can reach, where the verdict names it; drawn as the constant guess is."""
    doc = copy.deepcopy(sample_document())
    assert "lowest loss" not in html._loss_caption(doc, False)
    doc["causes"][0]["evidence"]["loss_floor"] = 1.0394
    assert "Dotted: the lowest loss this set-up can reach" in html._loss_caption(doc, False)
    steps = [{"step": s, "loss": 1.8 - s / 400} for s in range(100)]
    svg = figures.loss_curves({"train_steps": steps, "validation": []}, None, 1.77, floor=1.0394)
    assert "lowest loss this set-up can reach 1.04" in _labels(svg)
