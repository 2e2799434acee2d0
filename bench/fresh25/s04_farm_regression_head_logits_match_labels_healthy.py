# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""deepset-ai/FARM#229 (https://github.com/deepset-ai/FARM/issues/229), with the maintainer's
fix (#230) applied: RegressionHead.logits_to_loss compares the (batch, 1) logits with the
(batch, 1) `regression_label` without squeezing them, so each document's prediction is scored
against its own label. Otherwise s03 unchanged (FARM's AdaptiveModel with a small transformer
LanguageModel built from a config dict, dict batches, the per-sample loss from the heads, AdamW
with linear warmup and decay, gradient clipping, a dev Evaluator each epoch)."""

import math
import warnings

import torch
import torch.nn as nn
from torch.nn import MSELoss
from torch.utils.data import DataLoader, Dataset

warnings.filterwarnings("once", category=UserWarning)
torch.manual_seed(42)

LM_CONFIG = {"vocab_size": 200, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
             "intermediate_size": 128, "max_position_embeddings": 32, "hidden_dropout_prob": 0.1}


class LanguageModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        h = config["hidden_size"]
        self.word_embeddings = nn.Embedding(config["vocab_size"], h, padding_idx=0)
        self.position_embeddings = nn.Embedding(config["max_position_embeddings"], h)
        layer = nn.TransformerEncoderLayer(h, config["num_attention_heads"], config["intermediate_size"],
                                           config["hidden_dropout_prob"], batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, config["num_hidden_layers"], enable_nested_tensor=False)
        self.pooler = nn.Sequential(nn.Linear(h, h), nn.Tanh())

    def forward(self, input_ids, padding_mask, **kwargs):
        positions = torch.arange(input_ids.size(1)).unsqueeze(0)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)
        sequence_output = self.encoder(x, src_key_padding_mask=padding_mask == 0)
        pooled_output = self.pooler(sequence_output[:, 0])
        return sequence_output, pooled_output


class FeedForwardBlock(nn.Module):
    def __init__(self, layer_dims):
        super().__init__()
        layers = []
        for i in range(len(layer_dims) - 1):
            layers.append(nn.Linear(layer_dims[i], layer_dims[i + 1]))
            if i < len(layer_dims) - 2:
                layers.append(nn.ReLU())
        self.feed_forward = nn.Sequential(*layers)

    def forward(self, X):
        return self.feed_forward(X)


class RegressionHead(nn.Module):
    def __init__(self, layer_dims, task_name="regression"):
        super().__init__()
        self.layer_dims = layer_dims
        self.feed_forward = FeedForwardBlock(self.layer_dims)
        self.loss_fct = MSELoss(reduction="none")
        self.task_name = task_name
        self.label_tensor_name = "regression_label"

    def forward(self, x):
        return self.feed_forward(x)

    def logits_to_loss(self, logits, **kwargs):
        label_ids = kwargs.get(self.label_tensor_name)
        return self.loss_fct(logits, label_ids.float())

    def logits_to_preds(self, logits, **kwargs):
        return logits.detach().cpu().numpy()


class AdaptiveModel(nn.Module):
    def __init__(self, language_model, prediction_heads, embeds_dropout_prob=0.1):
        super().__init__()
        self.language_model = language_model
        self.prediction_heads = nn.ModuleList(prediction_heads)
        self.dropout = nn.Dropout(embeds_dropout_prob)

    def forward(self, **kwargs):
        sequence_output, pooled_output = self.language_model(**kwargs)
        output = self.dropout(pooled_output)
        return [head(output) for head in self.prediction_heads]

    def logits_to_loss(self, logits, global_step=None, **kwargs):
        all_losses = [head.logits_to_loss(logits=logits_for_one_head, **kwargs)
                      for head, logits_for_one_head in zip(self.prediction_heads, logits)]
        return sum(all_losses)


class RegressionDocs(Dataset):
    """Documents of 32 token ids; the target is how many "positive" tokens (ids 10-29) they hold."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        rate = torch.rand(n, 1, generator=g) * 0.5
        positive = torch.rand(n, 31, generator=g) < rate
        tokens = torch.where(positive, torch.randint(10, 30, (n, 31), generator=g), torch.randint(30, 200, (n, 31), generator=g))
        self.input_ids = torch.cat([torch.ones(n, 1, dtype=torch.long), tokens], dim=1)  # id 1 is [CLS]
        self.labels = positive.sum(dim=1, keepdim=True).float()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": self.input_ids[i], "padding_mask": torch.ones(32, dtype=torch.long),
                "regression_label": self.labels[i]}


def get_linear_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps):
    def lr_lambda(step):
        if step < num_warmup_steps:
            return float(step) / float(max(1, num_warmup_steps))
        return max(0.0, float(num_training_steps - step) / float(max(1, num_training_steps - num_warmup_steps)))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)


class Evaluator:
    def __init__(self, data_loader, device="cpu"):
        self.data_loader = data_loader
        self.device = device

    def eval(self, model):
        model.eval()
        losses, count = 0.0, 0
        for batch in self.data_loader:
            batch = {key: batch[key].to(self.device) for key in batch}
            with torch.no_grad():
                logits = model.forward(**batch)
                losses_per_head = model.logits_to_loss(logits=logits, **batch)
            losses += losses_per_head.mean().item() * len(batch["input_ids"])
            count += len(batch["input_ids"])
        return losses / count


class Trainer:
    def __init__(self, model, optimizer, data_loader, evaluator, epochs, lr_schedule, device="cpu", max_grad_norm=1.0):
        self.model, self.optimizer, self.data_loader = model, optimizer, data_loader
        self.evaluator, self.epochs, self.lr_schedule = evaluator, epochs, lr_schedule
        self.device, self.max_grad_norm, self.global_step = device, max_grad_norm, 0

    def train(self):
        for epoch in range(1, self.epochs + 1):
            self.model.train()
            running = []
            for step, batch in enumerate(self.data_loader):
                batch = {key: batch[key].to(self.device) for key in batch}
                logits = self.model.forward(**batch)
                per_sample_loss = self.model.logits_to_loss(logits=logits, global_step=self.global_step, **batch)
                loss = self.backward_propagate(per_sample_loss, step)
                running.append(loss.item())
                self.global_step += 1
            dev_loss = self.evaluator.eval(self.model)
            print("epoch %d  train loss %.3f  dev loss %.3f" % (epoch, sum(running) / len(running), dev_loss))

    def backward_propagate(self, loss, step):
        loss = loss.mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.lr_schedule.step()
        return loss


def main():
    batch_size, n_epochs = 32, 8
    train_loader = DataLoader(RegressionDocs(2048, seed=1), batch_size=batch_size, shuffle=True)
    dev_loader = DataLoader(RegressionDocs(512, seed=2), batch_size=batch_size)
    model = AdaptiveModel(LanguageModel(LM_CONFIG), [RegressionHead(layer_dims=[LM_CONFIG["hidden_size"], 1])],
                          embeds_dropout_prob=0.1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01)
    num_train_steps = math.ceil(len(train_loader)) * n_epochs
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * num_train_steps), num_train_steps)
    trainer = Trainer(model, optimizer, train_loader, Evaluator(dev_loader), n_epochs, schedule)
    trainer.train()


if __name__ == "__main__":
    main()
