# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP032, B007  (the threads' own idioms kept)
"""kitzeslab/opensoundscape#351 (https://github.com/kitzeslab/opensoundscape/issues/351), the fix applied:
"Continuing training of CNN from loaded model may not be working". Resnet18Binary keeps its
optimizer settings in optimizer_params, one group for the feature extractor and one for the
classifier, each holding the network's parameters; the checkpoint saves that dict and
from_checkpoint() restores it onto the freshly built model. The maintainer's diagnosis: the
restored optimizer_params hold the parameters of the old object, so the optimizer built from
them updates tensors the loaded network no longer uses; the patch re-establishes the current
network's parameters in the restored optimizer_params. Here a small ResNet (basic blocks,
feature + classifier) on 1x32x32 spectrogram-like clips with or without a rising call; two
epochs, a checkpoint, then training resumed from it for eight epochs with validation."""

import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def make_clips(n, gen):
    labels = torch.randint(0, 2, (n,), generator=gen)
    clips = 0.6 * torch.randn(n, 1, 32, 32, generator=gen)
    for i in torch.nonzero(labels).flatten():
        start = int(torch.randint(0, 12, (1,), generator=gen))
        freq = int(torch.randint(8, 24, (1,), generator=gen))
        for t in range(start, start + 16):
            clips[i, 0, freq - (t - start) // 3, t] += 1.0
    return clips, labels


gen = torch.Generator().manual_seed(0)
train_set = TensorDataset(*make_clips(800, gen))
valid_set = TensorDataset(*make_clips(400, gen))


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


class ResNetArchitecture(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.feature = nn.Sequential(
            nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.classifier(self.feature(x))


class Resnet18Binary:
    def __init__(self, classes):
        self.classes = classes
        self.network = ResNetArchitecture(len(classes))
        self.loss_fn = nn.CrossEntropyLoss()
        self.optimizer_params = {
            "feature": {"params": list(self.network.feature.parameters()), "lr": 0.001,
                        "momentum": 0.9, "weight_decay": 0.0005},
            "classifier": {"params": list(self.network.classifier.parameters()), "lr": 0.01,
                           "momentum": 0.9, "weight_decay": 0.0005},
        }
        self.current_epoch = 0

    def _init_optimizer(self):
        return torch.optim.SGD([self.optimizer_params["feature"], self.optimizer_params["classifier"]],
                               lr=self.optimizer_params["classifier"]["lr"])

    def train(self, train_dataset, valid_dataset, epochs=1, batch_size=32):
        self.opt_net = self._init_optimizer()
        train_loader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True)
        valid_loader = DataLoader(valid_dataset, batch_size=batch_size, shuffle=False)
        for _ in range(epochs):
            self.network.train()
            total = 0.0
            for samples, labels in train_loader:
                logits = self.network(samples)
                loss = self.loss_fn(logits, labels)
                self.opt_net.zero_grad()
                loss.backward()
                self.opt_net.step()
                total += loss.item()
            self.network.eval()
            valid_loss, correct = 0.0, 0
            with torch.no_grad():
                for samples, labels in valid_loader:
                    logits = self.network(samples)
                    valid_loss += self.loss_fn(logits, labels).item()
                    correct += (logits.argmax(1) == labels).sum().item()
            print(f"Epoch {self.current_epoch}: train loss {total / len(train_loader):.4f} "
                  f"valid loss {valid_loss / len(valid_loader):.4f} "
                  f"valid accuracy {correct / len(valid_dataset):.3f}")
            self.current_epoch += 1

    def save(self, path):
        torch.save({"classes": self.classes, "epoch": self.current_epoch,
                    "model_state_dict": self.network.state_dict(),
                    "optimizer_params": self.optimizer_params}, path)

    @classmethod
    def from_checkpoint(cls, path):
        model_dict = torch.load(path, weights_only=False)
        model = cls(model_dict["classes"])
        model.network.load_state_dict(model_dict["model_state_dict"])
        model.optimizer_params = model_dict["optimizer_params"]
        model.optimizer_params["feature"]["params"] = list(model.network.feature.parameters())
        model.optimizer_params["classifier"]["params"] = list(model.network.classifier.parameters())
        model.current_epoch = model_dict["epoch"]
        return model


model = Resnet18Binary(classes=["absent", "present"])
model.train(train_set, valid_set, epochs=2)
checkpoint = io.BytesIO()
model.save(checkpoint)
checkpoint.seek(0)

model = Resnet18Binary.from_checkpoint(checkpoint)
model.train(train_set, valid_set, epochs=8)
