# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""attilanagy234/neural-punctuator#8 (https://github.com/attilanagy234/neural-punctuator/issues/8):
"Validation accuracy more than train". The poster, training the punctuation restorer on another
dataset: "I am getting validation accuracy greater than training and validation loss lesser than
train. Can you tell why?"; the maintainer: "validation loss can be lower than train, e.g. using
dropout during training. Best practice is to [select] the model with early stopping on validation
loss." Nothing is wrong: the model learns and the gap is the dropout (and the training loss being
taken over every subword position, the validation loss only over word ends). Here the
repository's shape (neural_punctuator/trainers/BertPunctuatorTrainer.py and
models/BertPunctuator.py): a BertPunctuator whose `base` encoder is a small transformer built from
a config dict (the repository loads a pretrained ALBERT/BERT; nothing is downloaded here), a
linear classifier with log_softmax, returning the predictions and a binary "any punctuation"
score; NLLLoss(weight=target_weights.clamp_max(1), reduction='none') with the repository's target
weights from the label frequencies; the training targets of non-word-final subwords (-1) set to 0
and the loss averaged over all positions; the validation loss over word-final positions only;
AdamW with separate learning rates for the base and the classifier, the repository's
LinearScheduler warmup, gradient clipping. Synthetic text: words of one to three subword ids,
four punctuation classes (none, comma, period, question) marked by the word's last subword."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(69)
np.random.seed(69)

CONFIG = {
    "model": {"num_classes": 4, "vocab_size": 300, "hidden": 96, "layers": 2, "heads": 4, "dropout": 0.3, "seq_len": 48},
    "trainer": {"base_learning_rate": 3e-4, "classifier_learning_rate": 1e-3, "warmup_steps": 30,
                "grad_clip": 1.5, "num_epochs": 10, "batch_size": 32},
}


class BertPunctuator(nn.Module):
    def __init__(self, config):
        super().__init__()
        m = config["model"]
        self.embed = nn.Embedding(m["vocab_size"], m["hidden"])
        self.pos = nn.Parameter(torch.randn(m["seq_len"], m["hidden"]) * 0.02)
        layer = nn.TransformerEncoderLayer(m["hidden"], m["heads"], 2 * m["hidden"], m["dropout"], batch_first=True)
        self.base = nn.TransformerEncoder(layer, m["layers"], enable_nested_tensor=False)
        self.dropout = nn.Dropout(m["dropout"])
        self.classifier = nn.Linear(m["hidden"], m["num_classes"])

    def forward(self, x):
        embedding = self.base(self.embed(x) + self.pos)
        output = self.classifier(self.dropout(embedding))
        output = F.log_softmax(output, dim=-1)
        binary_output = torch.logsumexp(output[..., 1:], dim=-1)
        return output, binary_output


class BertDataset(Dataset):
    """Subword sequences; targets only at word ends (-1 elsewhere): the punctuation after the word."""

    def __init__(self, n, seed, seq_len=48):
        rng = np.random.default_rng(seed)
        self.texts, self.targets = [], []
        for _ in range(n):
            tokens, targets = [], []
            while len(tokens) < seq_len:
                kind = int(rng.choice(4, p=[0.55, 0.2, 0.15, 0.1]))  # the word's last subword sets the mark after it
                length = int(rng.integers(1, 4))
                word = list(rng.integers(10, 290, length - 1)) + [int(rng.integers(10 + 70 * kind, 80 + 70 * kind))]
                tokens += word
                targets += [-1] * (length - 1) + [kind]
            self.texts.append(torch.tensor(tokens[:seq_len]))
            self.targets.append(torch.tensor(targets[:seq_len]))

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, i):
        return self.texts[i], self.targets[i]


def get_target_weights(targets, num_classes):
    targets = torch.cat(targets)
    targets = targets[targets != -1]
    counts = torch.bincount(targets, minlength=num_classes).float()
    return (counts.sum() / counts / num_classes).tolist()


class LinearScheduler:
    def __init__(self, optimizer, warmup_steps):
        self.optimizer, self.warmup_steps, self.step_num = optimizer, warmup_steps, 0
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.step()

    def step(self):
        self.step_num += 1
        scale = min(1.0, self.step_num / self.warmup_steps)
        for group, lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = lr * scale


class BertPunctuatorTrainer:
    def __init__(self, model, config):
        self._config = config
        self.device = torch.device("cpu")
        self.train_dataset, self.valid_dataset = BertDataset(1200, seed=1), BertDataset(300, seed=2)
        self.train_loader = DataLoader(self.train_dataset, batch_size=config["trainer"]["batch_size"], shuffle=True)
        self.valid_loader = DataLoader(self.valid_dataset, batch_size=config["trainer"]["batch_size"])
        self.model = model.to(self.device)
        self.model.train()
        num_classes = config["model"]["num_classes"]
        target_weights = torch.Tensor(get_target_weights(self.train_dataset.targets, num_classes)).clamp_max(1).to(self.device)
        self.criterion = nn.NLLLoss(weight=target_weights, reduction="none")
        optimizer_args = [
            {"params": [p for n, p in self.model.named_parameters() if not n.startswith("classifier")], "lr": config["trainer"]["base_learning_rate"]},
            {"params": self.model.classifier.parameters(), "lr": config["trainer"]["classifier_learning_rate"]},
        ]
        self.optimizer = torch.optim.AdamW(optimizer_args)
        self.sched = LinearScheduler(self.optimizer, config["trainer"]["warmup_steps"])

    def train(self):
        num_classes = self._config["model"]["num_classes"]
        for epoch_num in range(self._config["trainer"]["num_epochs"]):
            self.model.train()
            train_losses = []
            for data in self.train_loader:
                self.optimizer.zero_grad()
                text, targets = data
                preds, binary_preds = self.model(text.to(self.device))
                not_a_word_mask = (targets == -1).to(self.device)
                targets[not_a_word_mask] = 0
                losses = self.criterion(preds.reshape(-1, num_classes), targets.to(self.device).reshape(-1))
                loss = losses.mean()
                loss.backward()
                nn.utils.clip_grad_norm_(self.model.parameters(), self._config["trainer"]["grad_clip"])
                self.optimizer.step()
                self.sched.step()
                train_losses.append(loss.item())

            self.model.eval()
            valid_loss, correct, total = 0, 0, 0
            for data in self.valid_loader:
                text, targets = data
                with torch.no_grad():
                    preds, _ = self.model(text.to(self.device))
                word_mask = targets != -1
                preds = preds[word_mask]
                targets = targets[word_mask]
                loss = self.criterion(preds.view(-1, num_classes), targets.to(self.device).view(-1))
                valid_loss += loss.mean().item()
                correct += (preds.argmax(-1) == targets).sum().item()
                total += len(targets)
            valid_loss /= len(self.valid_loader)
            print("epoch %d train loss %.4f valid loss %.4f valid acc %.3f" % (epoch_num, np.mean(train_losses), valid_loss, correct / total))


if __name__ == "__main__":
    trainer = BertPunctuatorTrainer(BertPunctuator(CONFIG), CONFIG)
    trainer.train()
