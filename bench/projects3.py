"""A third set of multi-file training projects (bench/projects3/), written apart from
lossdoctor in the layout of other well-known repositories, each run healthy and with injected
bugs under `lossdoctor run --json`, one at a time (bench/projects.py runs them; same options).

    python bench/projects3.py [--only PATTERN ...] [--out PATH] [--keep-reports DIR] [--plain]

The projects and their bugs were written before lossdoctor was run on them (issue 11: the first
two sets have been tuned on). Each bug is a real one people report: see bench/projects3/README.md
for where each comes from, and the results.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from projects import HEALTHY, Case, _p, main  # noqa: E402

ROOT = Path(__file__).resolve().parent / "projects3"
LLM, S2S, CLM, TAB = "llms_from_scratch_ch05", "pytorch_seq2seq", "accelerate_no_trainer", \
    "tabular_kfold"

CASES: list[Case] = [
    # rasbt/LLMs-from-scratch ch05 (gpt_train.py): GPTModel, GPTDatasetV1 sliding windows,
    # calc_loss_batch / calc_loss_loader, train_model_simple evaluating every eval_freq steps
    Case(LLM, "healthy", HEALTHY, "train.py"),
    Case(LLM, "optimizer_given_out_head_only", "frozen_params", "train.py", (),
         (_p("train.py", ("torch.optim.AdamW(model.parameters(),",
                          "torch.optim.AdamW(model.out_head.parameters(),")),)),
    Case(LLM, "drop_rate_0.9", "over_regularized", "train.py", ("--drop_rate", "0.9")),
    Case(LLM, "zero_grad_removed", "missing_zero_grad", "train.py", (),
         (_p("train.py", ("            optimizer.zero_grad()\n", "")),)),
    Case(LLM, "lr_0.05", "lr_too_high", "train.py", ("--learning_rate", "0.05")),
    # bentrevett/pytorch-seq2seq (2 - GRU encoder-decoder, with packed padded sources as in 4):
    # teacher forcing in train(), none in evaluate(), clip_grad_norm_, ignore_index=PAD_IDX
    Case(S2S, "healthy", HEALTHY, "train.py"),
    Case(S2S, "targets_not_sorted_with_sources", "no_signal", "train.py", (),
         (_p("data.py", ("    batch = sorted(batch, key=lambda pair: len(pair[0]), reverse=True)\n"
                         "    src_batch = [src for src, _ in batch]\n",
                         "    src_batch = sorted((src for src, _ in batch), key=len, "
                         "reverse=True)\n")),)),
    Case(S2S, "encoder_state_detached", "frozen_params", "train.py", (),
         (_p("models.py", ("        context = self.encoder(src, src_len)\n",
                           "        context = self.encoder(src, src_len).detach()\n")),)),
    Case(S2S, "evaluate_without_eval", "train_eval_mode", "train.py",
         ("--enc-dropout", "0.5", "--dec-dropout", "0.5"),
         (_p("train.py", ("    model.eval()\n", "")),)),
    Case(S2S, "lr_0.05", "lr_too_high", "train.py", ("--lr", "0.05")),
    # huggingface/transformers examples/pytorch/language-modeling/run_clm_no_trainer.py with
    # accelerate: model(**batch) -> outputs.loss (labels shifted in the model), group_texts,
    # AdamW with no-decay groups, get_scheduler with warmup, gradient accumulation
    Case(CLM, "healthy", HEALTHY, "run_clm_no_trainer.py"),
    Case(CLM, "warmup_longer_than_run", "lr_schedule", "run_clm_no_trainer.py",
         ("--num_warmup_steps", "2000")),
    Case(CLM, "scheduler_stepped_per_micro_batch", "lr_schedule", "run_clm_no_trainer.py",
         ("--gradient_accumulation_steps", "8"),
         (_p("run_clm_no_trainer.py",
             ("                    optimizer.step()\n                    lr_scheduler.step()\n",
              "                    optimizer.step()\n"),
             ("                accelerator.backward(loss)\n",
              "                accelerator.backward(loss)\n"
              "                lr_scheduler.step()\n")),)),
    Case(CLM, "fine_tuning_lr_from_scratch", "lr_too_low", "run_clm_no_trainer.py",
         ("--learning_rate", "5e-5")),
    Case(CLM, "config_overrides_dropout_0.9", "over_regularized", "run_clm_no_trainer.py",
         ("--config_overrides", "resid_pdrop=0.9,embd_pdrop=0.9,attn_pdrop=0.9")),
    # Kaggle tabular notebooks: CFG, K-fold, StandardScaler, a Dataset of dicts, train_fn /
    # valid_fn, EarlyStopping, ReduceLROnPlateau on the validation loss
    Case(TAB, "healthy", HEALTHY, "train.py"),
    Case(TAB, "dropna_on_features_only", "no_signal", "train.py", (),
         (_p("preprocess.py", ("    return X[keep], y[keep]\n", "    return X[keep], y\n")),)),
    Case(TAB, "valid_features_not_transformed", "train_val_shift", "train.py", (),
         (_p("train.py", ("        X_valid = scaler.transform(X_valid)\n", "")),)),
    Case(TAB, "features_not_scaled", "unnormalized_inputs", "train.py",
         ("--set", "scale_features=false")),
    Case(TAB, "target_not_scaled", "unscaled_targets", "train.py",
         ("--set", "scale_target=false")),
    Case(TAB, "plateau_mode_max_on_loss", "lr_schedule", "train.py",
         ("--set", "scheduler_mode=max")),
]


if __name__ == "__main__":
    sys.exit(main(CASES, ROOT, __doc__))
