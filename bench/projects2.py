"""A second set of multi-file training projects (bench/projects2/), written apart from
lossdoctor in the layout of other well-known repositories, each run healthy and with injected
bugs under `lossdoctor run --json`, one at a time (bench/projects.py runs them; same options).

    python bench/projects2.py [--only PATTERN ...] [--out PATH] [--keep-reports DIR] [--plain]

The projects and their bugs were written before lossdoctor was run on them (issue 11: the first
set, bench/projects/, has been tuned on). Each bug is a real one people report: see
bench/projects2/README.md for where each comes from, and the results.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from projects import HEALTHY, Case, _p, main  # noqa: E402

ROOT = Path(__file__).resolve().parent / "projects2"
GLUE, TIMM, FAIRSEQ, MMCV = "glue_style", "timm_style", "fairseq_style", "mmcv_style"
MMCV_CONFIG = "configs/tiny_resnet_shapes.py"

CASES: list[Case] = [
    # huggingface/transformers examples/pytorch/text-classification/run_glue.py, with a
    # hand-rolled Trainer: AdamW without decay on biases and LayerNorm, linear warmup schedule,
    # gradient accumulation, DataCollatorWithPadding
    Case(GLUE, "healthy", HEALTHY, "run_glue.py"),
    Case(GLUE, "labels_shifted_in_collate", "no_signal", "run_glue.py", (),
         (_p("data.py", ("        labels = [f[\"label\"] for f in features]\n",
                         "        labels = [f[\"label\"] for f in features]\n"
                         "        labels = labels[1:] + labels[:1]\n")),)),
    Case(GLUE, "freeze_filter_too_wide", "frozen_params", "run_glue.py", ("--freeze_embeddings",),
         (_p("run_glue.py", ("if name.startswith(\"bert.embeddings\"):",
                             "if name.startswith(\"bert\"):")),)),
    Case(GLUE, "schedule_length_in_epochs", "lr_schedule", "run_glue.py", (),
         (_p("trainer.py", ("self.create_scheduler(num_training_steps=max_steps)",
                            "self.create_scheduler(num_training_steps=self.args.num_train_epochs)"
                            )),)),
    Case(GLUE, "adam_l2_on_everything", "over_regularized", "run_glue.py",
         ("--weight_decay", "0.1"),
         (_p("trainer.py", ("self.optimizer = torch.optim.AdamW(groups, "
                            "lr=self.args.learning_rate,",
                            "self.optimizer = torch.optim.Adam(self.model.parameters(), "
                            "lr=self.args.learning_rate,\n"
                            "                                          "
                            "weight_decay=self.args.weight_decay,")),)),
    # huggingface/pytorch-image-models train.py: create_model registry and reset_classifier,
    # create_optimizer_v2 / create_scheduler_v2 (step(epoch) and step_update(num_updates)),
    # label smoothing, ModelEmaV2 validated after the model, AverageMeter, validate()
    Case(TIMM, "healthy", HEALTHY, "train.py"),
    Case(TIMM, "optimizer_before_reset_classifier", "frozen_params", "train.py", (),
         (_p("train.py",
             ("    if args.num_classes != model.num_classes:\n"
              "        model.reset_classifier(args.num_classes)\n", ""),
             ("weight_decay=args.weight_decay, momentum=args.momentum)\n",
              "weight_decay=args.weight_decay, momentum=args.momentum)\n"
              "    if args.num_classes != model.num_classes:\n"
              "        model.reset_classifier(args.num_classes)\n")),)),
    Case(TIMM, "epoch_schedule_stepped_per_batch", "lr_schedule", "train.py",
         ("--sched", "step", "--decay-epochs", "2"),
         (_p("train.py", ("lr_scheduler.step_update(num_updates=num_updates)",
                          "lr_scheduler.step(num_updates)")),)),
    Case(TIMM, "ema_never_updated", "validation_path", "train.py", (),
         (_p("train.py", ("        if model_ema is not None:\n"
                          "            model_ema.update(model)\n", "")),)),
    Case(TIMM, "validate_without_eval", "train_eval_mode", "train.py", ("--no-model-ema",),
         (_p("train.py", ("    model.eval()\n    with torch.no_grad():",
                          "    with torch.no_grad():")),)),
    Case(TIMM, "class_sorted_unshuffled", "data_pipeline", "train.py", (),
         (_p("timm_lite/data/loader.py", ("shuffle=is_training,", "shuffle=False,")),)),
    # facebookresearch/fairseq: registries for tasks, models and criterions, a summed
    # label-smoothed criterion whose gradients the Trainer divides by the sample size, Adam with
    # the inverse_sqrt schedule, length-bucketed batches shuffled each epoch
    Case(FAIRSEQ, "healthy", HEALTHY, "train.py"),
    Case(FAIRSEQ, "target_side_sorted", "no_signal", "train.py", (),
         (_p("fairseq_lite/tasks/translation.py",
             ("tgt = [self.tgt_dict.encode_line(t) for _, t in pairs]",
              "tgt = [self.tgt_dict.encode_line(t) for t in sorted(t for _, t in pairs)]")),)),
    Case(FAIRSEQ, "transformer_warmup_on_small_run", "lr_schedule", "train.py",
         ("--warmup-updates", "4000")),
    Case(FAIRSEQ, "label_smoothing_0.9", "over_regularized", "train.py",
         ("--label-smoothing", "0.9")),
    Case(FAIRSEQ, "fconv_nag_lr_with_adam", "lr_too_high", "train.py", ("--lr", "0.25")),
    # open-mmlab/mmcv + mmclassification: Python config files with _base_ and --cfg-options,
    # Registry/build_from_cfg, EpochBasedRunner with OptimizerHook, StepLrUpdaterHook, EvalHook
    Case(MMCV, "healthy", HEALTHY, "tools/train.py", (MMCV_CONFIG,)),
    Case(MMCV, "loss_summed_lr_for_mean", "lr_too_high", "tools/train.py",
         (MMCV_CONFIG, "--cfg-options", "model.head.loss.reduction=sum")),
    Case(MMCV, "all_stages_frozen", "frozen_params", "tools/train.py",
         (MMCV_CONFIG, "--cfg-options", "model.backbone.frozen_stages=3")),
    Case(MMCV, "eval_hook_without_eval", "train_eval_mode", "tools/train.py", (MMCV_CONFIG,),
         (_p("mmlite/runner/hooks.py", ("    model.eval()\n", "")),)),
    Case(MMCV, "lr_steps_read_as_iterations", "lr_schedule", "tools/train.py",
         (MMCV_CONFIG, "--cfg-options", "lr_config.by_epoch=False")),
]


if __name__ == "__main__":
    sys.exit(main(CASES, ROOT, __doc__))
