"""A sixth set of multi-file training projects (bench/projects6/), written apart from
lossdoctor in the layout of well-known repositories not used before: karpathy/minGPT
(mingpt/model.py, mingpt/trainer.py with its callbacks, the CfgNode config overridden from the
command line, projects/adder/adder.py), huggingface/accelerate's examples/cv_example.py
(Accelerator, a PetsDataset read from image files, OneCycleLR, gather_for_metrics) and
hfawaz/dl-4-tsc (Keras classifiers in classifiers/*.py behind create_classifier, utils/, run on
Keras 3 with the torch backend). Each is run healthy and with injected bugs under
`lossdoctor run --json`, one at a time (bench/projects.py runs them; same options). Opt-in:
never part of the test command.

    /work/venv-fw/bin/python bench/projects6.py [--only PATTERN ...] [--out PATH]
                                                [--keep-reports DIR] [--plain]

Two projects import accelerate and keras: run this file with a Python that has them (the runner
runs every case with the Python that runs it). The projects and their bugs (with the cause
expected first) were written and committed before lossdoctor was run on them: see
bench/projects6/README.md for where each comes from, and the results.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from projects import HEALTHY, Case, _p, main  # noqa: E402

ROOT = Path(__file__).resolve().parent / "projects6"
GPT, ACC, TSC = "mingpt_adder", "accelerate_pets", "dl4tsc_keras"
ADDER = "projects/adder/adder.py"
TSC_FCN = ("UCRArchive_2018", "FordA", "fcn", "_itr_0")

CASES: list[Case] = [
    # karpathy/minGPT: CfgNode config with --section.key=value overrides, GPT.configure_optimizers
    # (decay / no_decay groups), Trainer.run() with an infinite RandomSampler and callbacks
    Case(GPT, "healthy", HEALTHY, ADDER),
    Case(GPT, "sgd_in_configure_optimizers", "optimizer_choice", ADDER, (),
         (_p("mingpt/model.py",
             ("optimizer = torch.optim.AdamW(optim_groups, lr=train_config.learning_rate, "
              "betas=train_config.betas)",
              "optimizer = torch.optim.SGD(optim_groups, lr=train_config.learning_rate)")),)),
    Case(GPT, "normal_init_without_std", "bad_init", ADDER, (),
         (_p("mingpt/model.py",
             ("        if isinstance(module, nn.Linear):\n"
              "            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)\n",
              "        if isinstance(module, nn.Linear):\n"
              "            torch.nn.init.normal_(module.weight)\n"),
             ("        elif isinstance(module, nn.Embedding):\n"
              "            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)\n",
              "        elif isinstance(module, nn.Embedding):\n"
              "            torch.nn.init.normal_(module.weight)\n")),)),
    Case(GPT, "dropout_0.7", "over_regularized", ADDER,
         ("--model.embd_pdrop=0.7", "--model.resid_pdrop=0.7", "--model.attn_pdrop=0.7")),
    Case(GPT, "prompt_masked_with_minus_100", "label_range", ADDER, (),
         (_p(ADDER, ("        y[:ndigit*2-1] = -1 # we will only train in the output locations. "
                     "-1 will mask loss to zero\n",
                     "        y[:ndigit*2-1] = -100 # train in the output locations only\n")),)),
    # huggingface/accelerate examples/cv_example.py: Accelerator(cpu=...), PetsDataset labels
    # from file names, batch normalization by default_cfg mean/std, Adam at lr/25 + OneCycleLR,
    # accelerator.prepare / backward / gather_for_metrics
    Case(ACC, "healthy", HEALTHY, "cv_example.py", ("--cpu",)),
    Case(ACC, "sampler_weights_not_inverted", "class_imbalance", "cv_example.py", ("--cpu",),
         (_p("cv_example.py",
             ("    sample_weights = 1.0 / class_counts[train_labels]\n",
              "    sample_weights = class_counts[train_labels] / len(train_labels)\n")),)),
    Case(ACC, "train_mode_set_once", "train_eval_mode", "cv_example.py", ("--cpu",),
         (_p("cv_example.py",
             ("    # Now we train the model\n    for epoch in range(num_epochs):\n"
              "        model.train()\n",
              "    # Now we train the model\n    model.train()\n"
              "    for epoch in range(num_epochs):\n")),)),
    Case(ACC, "eval_loss_over_batches", "validation_path", "cv_example.py", ("--cpu",),
         (_p("cv_example.py",
             ("        eval_loss = eval_loss / num_elems\n",
              "        eval_loss = eval_loss / len(eval_dataloader)\n")),)),
    Case(ACC, "onecycle_steps_per_epoch_from_dataset", "lr_schedule", "cv_example.py", ("--cpu",),
         (_p("cv_example.py",
             ("epochs=num_epochs, steps_per_epoch=len(train_dataloader))",
              "epochs=num_epochs, steps_per_epoch=len(train_dataset))")),)),
    Case(ACC, "base_frozen_without_pretrained_weights", "frozen_params", "cv_example.py",
         ("--cpu",),
         (_p("cv_example.py",
             ("    # No pretrained weights here: the whole model trains (the pretrained example "
              "freezes the base model).\n",
              "    # Freezing the base model\n"
              "    for param in model.parameters():\n"
              "        param.requires_grad = False\n"
              "    for param in model.get_classifier().parameters():\n"
              "        param.requires_grad = True\n")),)),
    # hfawaz/dl-4-tsc: main.py <archive> <dataset> <classifier> <itr>, create_classifier,
    # classifiers/fcn.py (Conv1D-BN-ReLU x3, GAP, softmax; ReduceLROnPlateau, ModelCheckpoint),
    # one-hot labels, per-series z-normalization, run on Keras 3 with the torch backend
    Case(TSC, "healthy", HEALTHY, "main.py", TSC_FCN),
    Case(TSC, "exponential_decay_per_step", "lr_schedule", "main.py", TSC_FCN,
         (_p("classifiers/fcn.py",
             ("optimizer = keras.optimizers.Adam(),",
              "optimizer = keras.optimizers.Adam(learning_rate=keras.optimizers.schedules."
              "ExponentialDecay(0.001, decay_steps=1, decay_rate=0.9)),")),)),
    Case(TSC, "generator_shuffles_x_and_y_apart", "data_pipeline", "main.py", TSC_FCN,
         (_p("utils/generators.py",
             ("            self.rng.shuffle(self.indices)\n",
              "            self.rng.shuffle(self.x)\n            self.rng.shuffle(self.y)\n")),)),
]


if __name__ == "__main__":
    sys.exit(main(CASES, ROOT, __doc__))
