"""A seventh set of multi-file training projects (bench/projects7/), written apart from
lossdoctor in the layout of well-known repositories not used before: pytorch/examples
word_language_model (data.py / model.py / main.py, an LSTM language model trained by a
hand-written SGD update with clip_grad_norm_ and the learning rate annealed by 4 when validation
does not improve) and pytorch/examples time_sequence_prediction (generate_sine_wave.py /
train.py, LSTMCells trained with LBFGS and a closure). Each is run healthy and with injected bugs
under `lossdoctor run --json`, one at a time (bench/projects.py runs them; same options).
Opt-in: never part of the test command.

    /work/venv-fw/bin/python bench/projects7.py [--only PATTERN ...] [--out PATH]
                                                [--keep-reports DIR] [--plain]

Both run on torch alone; the set was measured with /work/venv-fw's Python (the runner runs every
case with the Python that runs it). The projects and their bugs (with the cause expected first)
were written and committed before lossdoctor was run on them: see bench/projects7/README.md for
where each comes from, and the results.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import projects  # noqa: E402
from projects import HEALTHY, Case, _p, main  # noqa: E402

ROOT = Path(__file__).resolve().parent / "projects7"
WLM, TSP = "word_language_model", "time_sequence_prediction"
#: time_sequence_prediction's README runs `python generate_sine_wave.py` before `python train.py`.
projects.PREPARE[TSP] = ("generate_sine_wave.py",)

CASES: list[Case] = [
    # pytorch/examples word_language_model: batchify into columns, get_batch by bptt,
    # repackage_hidden, manual SGD `p.data.add_(p.grad, alpha=-lr)` after clip_grad_norm_,
    # lr /= 4 when the validation loss does not improve
    Case(WLM, "healthy", HEALTHY, "main.py"),
    Case(WLM, "clip_before_backward", "exploding_gradients", "main.py", (),
         (_p("main.py",
             ("        loss = criterion(output, targets)\n        loss.backward()\n\n"
              "        # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / "
              "LSTMs.\n        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)\n",
              "        # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / "
              "LSTMs.\n        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)\n"
              "        loss = criterion(output, targets)\n        loss.backward()\n")),)),
    Case(WLM, "anneal_every_epoch", "lr_schedule", "main.py", (),
         (_p("main.py",
             ("            best_val_loss = val_loss\n        else:\n"
              "            # Anneal the learning rate if no improvement has been seen in the "
              "validation dataset.\n            lr /= 4.0\n",
              "            best_val_loss = val_loss\n"
              "        # Anneal the learning rate\n        lr /= 4.0\n")),)),
    Case(WLM, "batchify_without_transpose", "data_pipeline", "main.py", (),
         (_p("main.py", ("    data = data.view(bsz, -1).t().contiguous()\n",
                         "    data = data.view(-1, bsz).contiguous()\n")),)),
    Case(WLM, "healthy_dropout_0.5", HEALTHY, "main.py", ("--dropout", "0.5")),
    Case(WLM, "evaluate_without_eval", "train_eval_mode", "main.py", ("--dropout", "0.5"),
         (_p("main.py",
             ("    # Turn on evaluation mode which disables dropout.\n    model.eval()\n", "")),)),
    Case(WLM, "large_model_dropout_0.65", "over_regularized", "main.py", ("--dropout", "0.65")),
    # pytorch/examples time_sequence_prediction: generate_sine_wave.py writes traindata.pt,
    # train.py fits two LSTMCells (double precision) with LBFGS and a closure, the first three
    # waves held out and predicted into the future under no_grad
    Case(TSP, "healthy", HEALTHY, "train.py"),
    Case(TSP, "sgd_instead_of_lbfgs", "optimizer_choice", "train.py", (),
         (_p("train.py", ("    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)\n",
                          "    optimizer = optim.SGD(seq.parameters(), lr=0.8)\n")),)),
    Case(TSP, "closure_without_zero_grad", "missing_zero_grad", "train.py", (),
         (_p("train.py", ("            optimizer.zero_grad()\n", "")),)),
    Case(TSP, "test_loss_on_the_forecast", "validation_path", "train.py", (),
         (_p("train.py", ("loss = criterion(pred[:, :-future], test_target)",
                          "loss = criterion(pred[:, future:], test_target)")),)),
]


if __name__ == "__main__":
    sys.exit(main(CASES, ROOT, __doc__))
