# lossdoctor-expect: train_eval_mode
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""ewrfcas/face_attribute_classification_pytorch#1
(https://github.com/ewrfcas/face_attribute_classification_pytorch/issues/1): "Droupout shouldn't
be here". AttClsModel.forward builds its dropout on the fly, `x = nn.Dropout(0.5)(x)`: a new
module, always in training mode, so model.eval() does not turn it off and every evaluation of
the 40 face attributes is made with half the features dropped at random (another comment:
"the model returns at test time different results! Took me an hour to figure it out"). The
author: "Thanks for the advice, I have fixed it" (a dropout registered in __init__). Here the
repository's model (backbone_forward over conv1/bn1/relu/maxpool/layer1-4/avgpool, the 40-way fc,
the loss computed inside forward when labels are given: BCEWithLogits per attribute weighted by
self.lambdas, and adaptive_update_weights on validation losses) with a small ResNet-style backbone
trained from scratch instead of the pretrained resnet (no downloads), on synthetic 32x32 "faces"
where each of the 40 attributes, when present, adds its own pattern; 1200 training and 300
validation images, Adam 1e-3, 8 epochs. Cause: a dropout that evaluation mode does not reach
(train_eval_mode). Fix: create nn.Dropout(0.5) in __init__ and use it in forward."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super(BasicBlock, self).__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + identity)


class SmallResNet(nn.Module):
    """The attributes backbone_forward reads from torchvision's resnet, at a CPU-sized width."""

    def __init__(self):
        super(SmallResNet, self).__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(2)
        self.layer1 = BasicBlock(16, 16)
        self.layer2 = BasicBlock(16, 32, 2)
        self.layer3 = BasicBlock(32, 64, 2)
        self.layer4 = BasicBlock(64, 64, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))


class AttClsModel(nn.Module):
    def __init__(self, k=2, device="cpu"):
        super(AttClsModel, self).__init__()
        self.backbone = SmallResNet()
        hidden_size = 64
        self.lambdas = torch.ones((40,), device=device)
        self.k = k
        self.val_loss = []  # max_len == 2*k
        self.fc = nn.Linear(hidden_size, 40)

    def backbone_forward(self, x):
        x = self.backbone.conv1(x)
        x = self.backbone.bn1(x)
        x = self.backbone.relu(x)
        x = self.backbone.maxpool(x)

        x = self.backbone.layer1(x)
        x = self.backbone.layer2(x)
        x = self.backbone.layer3(x)
        x = self.backbone.layer4(x)

        x = self.backbone.avgpool(x)

        return x

    def forward(self, input, labels=None):
        x = self.backbone_forward(input)
        x = torch.flatten(x, 1)
        x = nn.Dropout(0.5)(x)
        x = self.fc(x)

        if labels is None:
            return x
        else:
            # [bs, 40]
            cls_loss = nn.BCEWithLogitsLoss(reduction='none')(input=x, target=labels)
            cls_loss = torch.sum(cls_loss * self.lambdas.unsqueeze(0), dim=1)
            cls_loss = torch.mean(cls_loss)
            return cls_loss

    # these code should be run after eval()
    def adaptive_update_weights(self, val_input, val_labels, step, eps=1e-8):
        x = self.backbone_forward(val_input)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        val_loss = nn.BCEWithLogitsLoss(reduction='none')(input=x, target=val_labels)
        val_loss = torch.mean(val_loss, dim=0)  # [40,]
        self.val_loss.append(val_loss)
        self.val_loss = self.val_loss[-(2 * self.k):]
        if step % self.k == 0 and len(self.val_loss) == 2 * self.k:
            # [2k, 40]
            val_loss_list = torch.cat([vl.unsqueeze(0) for vl in self.val_loss], dim=0)
            pre_mean = torch.mean(val_loss_list[:self.k, :], dim=0)  # [40,]
            cur_mean = torch.mean(val_loss_list[self.k:, :], dim=0)
            trend = torch.abs(cur_mean - pre_mean) / (cur_mean + eps)
            norm_trend = trend / (torch.mean(trend) + eps)
            norm_loss = cur_mean / (torch.mean(cur_mean) + eps)
            self.lambdas = norm_trend * norm_loss
            self.lambdas = self.lambdas / (torch.mean(self.lambdas) + eps)


def make_faces(n, generator):
    patterns = torch.randn(40, 3, 8, 8, generator=torch.Generator().manual_seed(40))
    patterns = nn.functional.interpolate(patterns, size=(32, 32), mode="bilinear", align_corners=False)
    labels = (torch.rand(n, 40, generator=generator) < 0.3).float()
    images = torch.einsum("na,achw->nchw", labels, patterns) / 3.0
    images = images + 0.5 * torch.randn(n, 3, 32, 32, generator=generator)
    return TensorDataset(images, labels)


generator = torch.Generator().manual_seed(0)
train_loader = DataLoader(make_faces(1200, generator), batch_size=32, shuffle=True)
val_set = make_faces(300, generator)
val_loader = DataLoader(val_set, batch_size=100)
model = AttClsModel()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for epoch in range(8):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = model(images, labels)
        loss.backward()
        optimizer.step()
    model.eval()
    val_losses, correct = [], 0
    with torch.no_grad():
        for images, labels in val_loader:
            logits = model(images)
            val_losses.append(nn.BCEWithLogitsLoss()(logits, labels).item())
            correct += ((logits > 0).float() == labels).float().sum().item()
        model.adaptive_update_weights(val_set.tensors[0], val_set.tensors[1], epoch + 1)
    print("epoch %d train loss %.4f val loss %.4f val acc %.4f" % (
        epoch, loss.item(), sum(val_losses) / len(val_losses), correct / (len(val_set) * 40)))
