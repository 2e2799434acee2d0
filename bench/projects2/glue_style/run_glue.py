"""Fine-tuning a BERT-like sequence classifier on a GLUE-style task, in the manner of
transformers' examples/pytorch/text-classification/run_glue.py (with a hand-rolled Trainer)."""

import argparse
import dataclasses
import random
from dataclasses import dataclass

import numpy as np
import torch

from data import DataCollatorWithPadding, WordTokenizer, load_glue
from modeling_tiny_bert import BertForSequenceClassification, TinyBertConfig
from trainer import Trainer, TrainingArguments


@dataclass
class ModelArguments:
    freeze_embeddings: bool = False


@dataclass
class DataTrainingArguments:
    task_name: str = "sst2_synthetic"
    max_seq_length: int = 32


def parse_args():
    parser = argparse.ArgumentParser()
    for cls in (ModelArguments, DataTrainingArguments, TrainingArguments):
        for f in dataclasses.fields(cls):
            if f.type in (bool, "bool"):
                parser.add_argument(f"--{f.name}", action="store_true")
            else:
                kind = {"int": int, "float": float, "str": str}.get(f.type, f.type)
                parser.add_argument(f"--{f.name}", type=kind, default=f.default)
    ns = vars(parser.parse_args())
    return tuple(cls(**{f.name: ns[f.name] for f in dataclasses.fields(cls)})
                 for cls in (ModelArguments, DataTrainingArguments, TrainingArguments))


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def freeze_embeddings(model):
    for name, param in model.named_parameters():
        if name.startswith("bert.embeddings"):
            param.requires_grad = False


def compute_metrics(preds, labels):
    return {"eval_accuracy": (preds == labels).float().mean().item()}


def main():
    model_args, data_args, training_args = parse_args()
    set_seed(training_args.seed)
    tokenizer = WordTokenizer()
    train_dataset, eval_dataset = load_glue(data_args.task_name, tokenizer,
                                            data_args.max_seq_length, training_args.seed)
    config = TinyBertConfig(vocab_size=len(tokenizer), num_labels=2,
                            pad_token_id=tokenizer.pad_token_id)
    model = BertForSequenceClassification(config)
    if model_args.freeze_embeddings:
        freeze_embeddings(model)
    trainer = Trainer(model=model, args=training_args, train_dataset=train_dataset,
                      eval_dataset=eval_dataset, data_collator=DataCollatorWithPadding(tokenizer),
                      compute_metrics=compute_metrics)
    trainer.train()
    metrics = trainer.evaluate()
    print(f"***** eval metrics ***** {metrics}")


if __name__ == "__main__":
    main()
