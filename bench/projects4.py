"""A fourth set of multi-file training projects (bench/projects4/), written apart from
lossdoctor in the layout of other well-known repositories (timm's train.py, an mmengine-style
Runner with hooks and registries whose model computes its own loss, fairseq's task / criterion /
trainer), each run healthy and with injected bugs under `lossdoctor run --json`, one at a time
(bench/projects.py runs them; same options). Opt-in: never part of the test command.

    python bench/projects4.py [--only PATTERN ...] [--out PATH] [--keep-reports DIR] [--plain]

The projects and their bugs (with the cause expected first) were written and committed before
lossdoctor was run on them: see bench/projects4/README.md for where each comes from, and the
results.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from projects import HEALTHY, Case, _p, main  # noqa: E402

ROOT = Path(__file__).resolve().parent / "projects4"
TIMM, MM, FS = "timm_train", "mmengine_runner", "fairseq_lm"
MM_CONFIG = "configs/mlp_tabular.py"

CASES: list[Case] = [
    # timm train.py: create_model from a registry, create_optimizer (no-decay groups),
    # CosineLRScheduler with warmup, train_one_epoch / validate, label smoothing for training
    Case(TIMM, "healthy", HEALTHY, "train.py"),
    Case(TIMM, "sgd_lr_30", "lr_too_high", "train.py", ("--lr", "30")),
    Case(TIMM, "zero_grad_removed", "missing_zero_grad", "train.py", (),
         (_p("train.py", ("        optimizer.zero_grad()\n", "")),)),
    Case(TIMM, "labels_not_sorted_with_images", "no_signal", "train.py", (),
         (_p("data.py", ("        self.targets = targets[order]\n",
                         "        self.targets = targets\n")),)),
    Case(TIMM, "validate_without_eval", "train_eval_mode", "train.py", ("--drop", "0.5"),
         (_p("train.py", ("    model.eval()\n", "")),)),
    Case(TIMM, "eval_loader_not_normalized", "train_val_shift", "train.py", (),
         (_p("data.py", ("    dataset.transform = ToTensorNormalize(mean, std)\n",
                         "    dataset.transform = ToTensorNormalize(\n"
                         "        mean if is_training else (0.0,),\n"
                         "        std if is_training else (1.0,))\n")),)),
    # mmengine-style Runner: registries, Config.fromfile + --cfg-options, forward(mode='loss')
    # returning a dict of losses, OptimWrapper with paramwise_cfg, hooks (one evaluates the
    # training split under no_grad beside the validation split)
    Case(MM, "healthy", HEALTHY, "train.py", (MM_CONFIG,)),
    Case(MM, "backbone_lr_mult_0", "frozen_params", "train.py",
         (MM_CONFIG, "--cfg-options",
          "optim_wrapper.paramwise_cfg.custom_keys={'backbone': {'lr_mult': 0.0}}")),
    Case(MM, "softmax_into_cross_entropy", "loss_mismatch", "train.py", (MM_CONFIG,),
         (_p("models.py", ("        cls_score = self(feats)\n",
                           "        cls_score = F.softmax(self(feats), dim=1)\n")),)),
    Case(MM, "milestones_counted_in_iterations", "lr_schedule", "train.py",
         (MM_CONFIG, "--cfg-options",
          "param_scheduler=[{'type': 'MultiStepLR', 'by_epoch': False, "
          "'milestones': [5, 7], 'gamma': 0.1}]")),
    Case(MM, "lr_1e-5", "lr_too_low", "train.py",
         (MM_CONFIG, "--cfg-options", "optim_wrapper.optimizer.lr=1e-5")),
    Case(MM, "weight_decay_0.5", "over_regularized", "train.py",
         (MM_CONFIG, "--cfg-options", "optim_wrapper.optimizer.weight_decay=0.5")),
    # fairseq: Dictionary, TokenBlockDataset, a task, a criterion returning (loss, sample_size,
    # logging_output), a Trainer dividing the summed gradients by the sample size, inverse_sqrt
    Case(FS, "healthy", HEALTHY, "train.py"),
    Case(FS, "valid_dictionary_rebuilt", "train_val_shift", "train.py", (),
         (_p("fairseq_lite/tasks.py",
             ("        tokens = torch.cat([self.dictionary.encode_line(line) for line in lines])\n",
              "        dictionary = (self.dictionary if split == \"train\"\n"
              "                      else Dictionary.build_dictionary(lines))\n"
              "        tokens = torch.cat([dictionary.encode_line(line) for line in lines])\n")),)),
    Case(FS, "dropout_0.7", "over_regularized", "train.py", ("--dropout", "0.7")),
    Case(FS, "warmup_updates_4000", "lr_schedule", "train.py", ("--warmup-updates", "4000")),
    Case(FS, "lr_0.5", "lr_too_high", "train.py", ("--lr", "0.5")),
]


if __name__ == "__main__":
    sys.exit(main(CASES, ROOT, __doc__))
