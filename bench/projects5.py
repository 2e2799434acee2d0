"""A fifth set of multi-file training projects (bench/projects5/), written apart from
lossdoctor in the layout of well-known repositories not used before: a Hugging Face
`transformers` Trainer script (run_glue.py's form: HfArgumentParser, a BertConfig model built
`from_config`, a locally built tokenizer, DataCollatorWithPadding, compute_metrics), a
PyTorch Lightning project (LightningDataModule, LightningModule with a scheduler config dict,
the BaseFinetuning callback, ModelCheckpoint) and torchvision's references/classification
train.py. Each is run healthy and with injected bugs under `lossdoctor run --json`, one at a
time (bench/projects.py runs them; same options). Opt-in: never part of the test command.

    /work/venv-fw/bin/python bench/projects5.py [--only PATTERN ...] [--out PATH]
                                                [--keep-reports DIR] [--plain]

Two projects import transformers and lightning: run this file with a Python that has them (the
runner runs every case with the Python that runs it). The projects and their bugs (with the cause
expected first) were written and committed before lossdoctor was run on them: see
bench/projects5/README.md for where each comes from, and the results.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from projects import HEALTHY, Case, _p, main  # noqa: E402

ROOT = Path(__file__).resolve().parent / "projects5"
HF, LT, TV = "hf_text_classification", "lightning_image_classifier", "torchvision_references"
#: The arguments train.sh gives run_classification.py.
HF_ARGS = ("--output_dir", "out", "--do_train", "--do_eval",
           "--num_train_epochs", "6", "--per_device_train_batch_size", "32",
           "--per_device_eval_batch_size", "64", "--learning_rate", "3e-3",
           "--weight_decay", "0.01", "--warmup_steps", "0.1", "--lr_scheduler_type", "linear",
           "--eval_strategy", "epoch", "--logging_steps", "10", "--save_strategy", "no",
           "--report_to", "none", "--use_cpu", "--seed", "42", "--disable_tqdm", "true")
HF_SCRIPT = "run_classification.py"

CASES: list[Case] = [
    # transformers run_glue.py: HfArgumentParser over three dataclasses, BertConfig ->
    # AutoModelForSequenceClassification.from_config, DataCollatorWithPadding, Trainer
    Case(HF, "healthy", HEALTHY, HF_SCRIPT, HF_ARGS),
    Case(HF, "labels_not_sorted_with_sentences", "no_signal", HF_SCRIPT, HF_ARGS,
         (_p("run_classification.py",
             ("    return {name: [values[i] for i in order] "
              "for name, values in columns.items()}\n",
              "    return {**columns, "
              "\"sentence\": [columns[\"sentence\"][i] for i in order]}\n")),)),
    Case(HF, "learning_rate_0.05", "lr_too_high", HF_SCRIPT, (*HF_ARGS, "--learning_rate", "0.05")),
    Case(HF, "warmup_steps_5000", "lr_schedule", HF_SCRIPT, (*HF_ARGS, "--warmup_steps", "5000")),
    Case(HF, "encoder_frozen", "frozen_params", HF_SCRIPT, HF_ARGS,
         (_p("run_classification.py",
             ("    model = AutoModelForSequenceClassification.from_config(config)\n",
              "    model = AutoModelForSequenceClassification.from_config(config)\n"
              "    for param in model.bert.parameters():\n"
              "        param.requires_grad = False\n")),)),
    Case(HF, "dropout_0.8", "over_regularized", HF_SCRIPT,
         (*HF_ARGS, "--config_overrides",
          "hidden_dropout_prob=0.8,attention_probs_dropout_prob=0.8")),
    Case(HF, "eval_truncated_to_8_tokens", "train_val_shift", HF_SCRIPT, HF_ARGS,
         (_p("run_classification.py",
             ("    eval_dataset = "
              "TokenizedDataset(preprocess_function(raw_datasets[\"validation\"]))\n",
              "    eval_dataset = TokenizedDataset(\n"
              "        preprocess_function(raw_datasets[\"validation\"], max_seq_length=8))\n")),)),
    # Lightning: LightningDataModule (prepare_data / setup), LightningModule with a shared step
    # and configure_optimizers returning {"optimizer", "lr_scheduler": {...}}, BaseFinetuning
    Case(LT, "healthy", HEALTHY, "train.py"),
    Case(LT, "lr_1e-6", "lr_too_low", "train.py", ("--lr", "1e-6")),
    Case(LT, "steplr_interval_step", "lr_schedule", "train.py", (),
         (_p("src/model.py", ("\"interval\": \"epoch\"", "\"interval\": \"step\"")),)),
    Case(LT, "train_labels_not_permuted", "no_signal", "train.py", (),
         (_p("src/datamodule.py",
             ("train_images, train_labels = images[train_idx], labels[train_idx]",
              "train_images, train_labels = images[train_idx], labels[:n_train]")),)),
    Case(LT, "val_reshape_not_permute", "train_val_shift", "train.py", (),
         (_p("src/datamodule.py",
             ("        self.val_transform = Compose([ToTensor(), Normalize(mean, std)])\n",
              "        self.val_transform = Compose([\n"
              "            lambda img: "
              "torch.from_numpy(img).reshape(3, *img.shape[:2]).float() / 255.0,\n"
              "            Normalize(mean, std)])\n")),)),
    Case(LT, "nll_loss_on_logits", "loss_mismatch", "train.py", (),
         (_p("src/model.py",
             ("loss = F.cross_entropy(logits, y)", "loss = F.nll_loss(logits, y)")),)),
    Case(LT, "backbone_never_unfrozen", "frozen_params", "train.py", ("--unfreeze_at_epoch", "10")),
    Case(LT, "dropout_0.9", "over_regularized", "train.py", ("--dropout", "0.9")),
    # torchvision references/classification/train.py: get_args_parser, presets, set_weight_decay,
    # SequentialLR(LinearLR warmup, CosineAnnealingLR), train_one_epoch / evaluate, MetricLogger
    Case(TV, "healthy", HEALTHY, "train.py"),
    Case(TV, "sgd_at_an_adamw_lr", "lr_too_low", "train.py", ("--lr", "5e-4")),
    Case(TV, "train_mode_never_restored", "train_eval_mode", "train.py", (),
         (_p("train.py", ("    model.train()\n", "")),)),
    Case(TV, "eval_preset_not_scaled", "train_val_shift", "train.py", (),
         (_p("presets.py",
             ("    def __call__(self, img):\n"
              "        img = img.to(torch.float32) / 255.0  # ToDtype(torch.float, scale=True)\n",
              "    def __call__(self, img):\n"
              "        img = img.to(torch.float32)\n")),)),
    Case(TV, "weight_decay_0.5", "over_regularized", "train.py",
         ("--wd", "0.5", "--norm-weight-decay", "0.5")),
    Case(TV, "targets_shifted_by_one", "no_signal", "train.py", (),
         (_p("datasets.py", ("self.images[index], self.targets[index]",
                             "self.images[index], self.targets[index - 1]")),)),
]


if __name__ == "__main__":
    sys.exit(main(CASES, ROOT, __doc__))
