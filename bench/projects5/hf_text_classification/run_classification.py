"""Fine-tuning a small BERT for sentence classification with the Hugging Face Trainer, in the
manner of transformers' examples/pytorch/text-classification/run_glue.py (and run_clm.py's
`--config_overrides`). The model is built from a config (no pretrained weights) and the
tokenizer from the training text, so nothing is downloaded.

    python run_classification.py --output_dir out --do_train --do_eval [--learning_rate 1e-3 ...]
"""

import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
import transformers
from transformers import (
    AutoModelForSequenceClassification,
    BertConfig,
    DataCollatorWithPadding,
    EvalPrediction,
    HfArgumentParser,
    Trainer,
    TrainingArguments,
    set_seed,
)

from data import load_jsonl, write_jsonl
from tokenization import train_word_level_tokenizer

logger = logging.getLogger(__name__)


@dataclass
class ModelArguments:
    hidden_size: int = field(default=32, metadata={"help": "Width of the encoder."})
    num_hidden_layers: int = field(default=2)
    num_attention_heads: int = field(default=2)
    intermediate_size: int = field(default=64)
    config_overrides: Optional[str] = field(
        default=None,
        metadata={"help": "Override some existing default config settings when a model is "
                          "trained from scratch. Example: hidden_dropout_prob=0.2,"
                          "attention_probs_dropout_prob=0.2"})


@dataclass
class DataTrainingArguments:
    data_dir: str = field(default="data", metadata={"help": "Where train/validation.jsonl are."})
    max_seq_length: int = field(
        default=64,
        metadata={"help": "The maximum total input sequence length after tokenization. "
                          "Sequences longer than this will be truncated."})
    pad_to_max_length: bool = field(default=False)
    max_train_samples: Optional[int] = field(default=None)
    max_eval_samples: Optional[int] = field(default=None)


def columns_of(rows):
    """Rows as a dict of columns, the form `datasets.Dataset.map(batched=True)` hands over."""
    return {name: [row[name] for row in rows] for name in rows[0]}


def sort_by_length(columns):
    """Sorts the examples by sentence length (shorter padding in the first epochs' logs)."""
    order = sorted(range(len(columns["sentence"])),
                   key=lambda i: len(columns["sentence"][i].split()))
    return {name: [values[i] for i in order] for name, values in columns.items()}


class TokenizedDataset(torch.utils.data.Dataset):
    def __init__(self, features):
        self.features = features

    def __len__(self):
        return len(self.features["input_ids"])

    def __getitem__(self, index):
        return {name: values[index] for name, values in self.features.items()}


def main():
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TrainingArguments))
    model_args, data_args, training_args = parser.parse_args_into_dataclasses()

    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
                        datefmt="%m/%d/%Y %H:%M:%S", handlers=[logging.StreamHandler(sys.stdout)])
    transformers.utils.logging.set_verbosity_warning()
    set_seed(training_args.seed)

    if not os.path.exists(os.path.join(data_args.data_dir, "train.jsonl")):
        write_jsonl(data_args.data_dir)
    raw_datasets = {
        "train": columns_of(load_jsonl(os.path.join(data_args.data_dir, "train.jsonl"))),
        "validation": columns_of(load_jsonl(os.path.join(data_args.data_dir, "validation.jsonl"))),
    }
    label_list = sorted(set(raw_datasets["train"]["label"]))
    num_labels = len(label_list)
    label_to_id = {v: i for i, v in enumerate(label_list)}

    tokenizer = train_word_level_tokenizer(raw_datasets["train"]["sentence"])
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=model_args.hidden_size,
        num_hidden_layers=model_args.num_hidden_layers,
        num_attention_heads=model_args.num_attention_heads,
        intermediate_size=model_args.intermediate_size, max_position_embeddings=128,
        num_labels=num_labels, pad_token_id=tokenizer.pad_token_id,
        label2id=label_to_id, id2label={i: label for label, i in label_to_id.items()})
    if model_args.config_overrides is not None:
        logger.info(f"Overriding config: {model_args.config_overrides}")
        config.update_from_string(model_args.config_overrides)
    model = AutoModelForSequenceClassification.from_config(config)

    padding = "max_length" if data_args.pad_to_max_length else False

    def preprocess_function(examples, max_seq_length=data_args.max_seq_length):
        result = tokenizer(examples["sentence"], padding=padding, max_length=max_seq_length,
                           truncation=True, return_token_type_ids=False)
        result["label"] = [label_to_id[label] for label in examples["label"]]
        return result

    train_dataset = TokenizedDataset(preprocess_function(sort_by_length(raw_datasets["train"])))
    eval_dataset = TokenizedDataset(preprocess_function(raw_datasets["validation"]))

    def compute_metrics(p: EvalPrediction):
        preds = p.predictions[0] if isinstance(p.predictions, tuple) else p.predictions
        preds = np.argmax(preds, axis=1)
        return {"accuracy": (preds == p.label_ids).astype(np.float32).mean().item()}

    data_collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=None)

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset if training_args.do_train else None,
        eval_dataset=eval_dataset if training_args.do_eval else None,
        compute_metrics=compute_metrics,
        processing_class=tokenizer,
        data_collator=data_collator,
    )

    if training_args.do_train:
        train_result = trainer.train()
        metrics = train_result.metrics
        trainer.log_metrics("train", metrics)
    if training_args.do_eval:
        metrics = trainer.evaluate(eval_dataset=eval_dataset)
        trainer.log_metrics("eval", metrics)
        history = [log["eval_loss"] for log in trainer.state.log_history if "eval_loss" in log]
        print("eval_loss by epoch: " + " ".join(f"{loss:.4f}" for loss in history))


if __name__ == "__main__":
    main()
