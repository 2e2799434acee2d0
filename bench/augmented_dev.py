"""Development cases (issue 11, session 35) for train_val_shift: healthy runs whose training
split alone is augmented, and the same runs with a real shift of the validation inputs.

    python bench/augmented_dev.py OUT SEEDS VARIANTS KINDS
    python bench/augmented_dev.py /tmp/aug 433900,433901 aug,tiny,shift img_crop_flip,tab_jitter

VARIANTS: aug (augmented, healthy), tiny (128 training images, 40 epochs: a replay learns them by
heart), mem (256 rows, 30 epochs), plain (no augmentation), shift (augmented, validation moved).
Then run `lossdoctor run --json REPORT train.py` in each folder.

Each script is standalone and seeded. Kinds:
  img_crop_flip  LeNet-like CNN on synthetic 32x32 RGB images, RandomCrop(32, padding=4) and a
                 horizontal flip written by hand in the Dataset's __getitem__, then Normalize
  img_noise      the same, fresh gaussian noise added to each training item
  img_erase      the same, a random rectangle erased (random erasing) in each training item
  tab_jitter     an MLP on tabular rows, each training item jittered by noise
  seq_jitter     a 1-D CNN on sequences, each training item shifted in time and jittered
  *_plain        the same base without any augmentation
  *_shift        the base with a real shift: the validation images brighter / columns offset
"""
import sys
from pathlib import Path

HEAD = '''import math, random
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset, DataLoader
SEED = {seed}
torch.manual_seed(SEED); np.random.seed(SEED); random.seed(SEED)
g = np.random.default_rng(SEED)
'''

IMAGES = '''
CLASSES = {classes}
def make(n):
    y = g.integers(0, CLASSES, n)
    x = g.normal(0.45, 0.12, (n, 3, 32, 32)).astype(np.float32)
    for i in range(n):
        c = int(y[i]); r = 6 + 4 * (c % 4); col = 6 + 5 * (c // 4)
        dr, dc = g.integers(-3, 4, 2)
        x[i, c % 3, r + dr:r + dr + 7, col + dc:col + dc + 7] += 0.45
    return np.clip(x, 0, 1), y
x_tr, y_tr = make({n_train})
x_va, y_va = make({n_val})
{val_shift}
MEAN = x_tr.mean(axis=(0, 2, 3)).reshape(3, 1, 1); STD = x_tr.std(axis=(0, 2, 3)).reshape(3, 1, 1)

def random_crop(img, pad=4):
    padded = np.pad(img, ((0, 0), (pad, pad), (pad, pad)))
    i, j = np.random.randint(0, 2 * pad + 1, 2)
    return padded[:, i:i + 32, j:j + 32]

def random_flip(img):
    return img[:, :, ::-1] if np.random.rand() < 0.5 else img

def random_erase(img):
    if np.random.rand() < 0.5:
        return img
    img = img.copy(); h, w = np.random.randint(6, 14, 2); i, j = np.random.randint(0, 32 - 14, 2)
    img[:, i:i + h, j:j + w] = np.random.rand()
    return img

def add_noise(img):
    return img + np.random.normal(0, {noise}, img.shape).astype(np.float32)

TRAIN_AUG = [{augs}]

class Images(Dataset):
    def __init__(self, x, y, train):
        self.x, self.y, self.train = x, y, train
    def __len__(self):
        return len(self.x)
    def __getitem__(self, i):
        img = self.x[i]
        if self.train:
            for aug in TRAIN_AUG:
                img = aug(img)
        img = (img - MEAN) / STD
        return torch.tensor(np.ascontiguousarray(img), dtype=torch.float32), int(self.y[i])

class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5); self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120); self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, CLASSES)
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

model = LeNet()
train_loader = DataLoader(Images(x_tr, y_tr, True), batch_size={batch}, shuffle=True)
val_loader = DataLoader(Images(x_va, y_va, False), batch_size=100, shuffle=False)
criterion = nn.CrossEntropyLoss()
optimizer = {optimizer}
'''

TABULAR = '''
D = {features}
W = g.normal(0, 1, (D, 3))
def make(n):
    x = g.normal(0, 1, (n, D)).astype(np.float32)
    h = np.tanh(x @ W)
    y = (h[:, 0] + h[:, 1] * h[:, 2] > 0).astype(np.int64) + (h[:, 0] > 0.8)
    return x, y
x_tr, y_tr = make({n_train})
x_va, y_va = make({n_val})
{val_shift}
CLASSES = 3

def jitter(row):
    return row + np.random.normal(0, {noise}, row.shape).astype(np.float32)

TRAIN_AUG = [{augs}]

class Rows(Dataset):
    def __init__(self, x, y, train):
        self.x, self.y, self.train = x, y, train
    def __len__(self):
        return len(self.x)
    def __getitem__(self, i):
        row = self.x[i]
        if self.train:
            for aug in TRAIN_AUG:
                row = aug(row)
        return torch.tensor(row, dtype=torch.float32), int(self.y[i])

model = nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                      nn.Linear(64, CLASSES))
train_loader = DataLoader(Rows(x_tr, y_tr, True), batch_size={batch}, shuffle=True)
val_loader = DataLoader(Rows(x_va, y_va, False), batch_size=256, shuffle=False)
criterion = nn.CrossEntropyLoss()
optimizer = {optimizer}
'''

SEQUENCES = '''
T = 64
def make(n):
    y = g.integers(0, 3, n)
    t = np.arange(T)
    freq = np.array([0.08, 0.16, 0.3])[y][:, None]
    phase = g.uniform(0, 2 * np.pi, (n, 1))
    x = np.sin(freq * t + phase) + g.normal(0, 0.4, (n, T))
    return x[:, None, :].astype(np.float32), y
x_tr, y_tr = make({n_train})
x_va, y_va = make({n_val})
{val_shift}
CLASSES = 3

def time_shift(seq):
    return np.roll(seq, np.random.randint(-8, 9), axis=-1)

def jitter(seq):
    return seq + np.random.normal(0, {noise}, seq.shape).astype(np.float32)

def scale(seq):
    return seq * np.random.uniform(0.8, 1.2)

TRAIN_AUG = [{augs}]

class Seqs(Dataset):
    def __init__(self, x, y, train):
        self.x, self.y, self.train = x, y, train
    def __len__(self):
        return len(self.x)
    def __getitem__(self, i):
        seq = self.x[i]
        if self.train:
            for aug in TRAIN_AUG:
                seq = aug(seq)
        return torch.tensor(np.ascontiguousarray(seq), dtype=torch.float32), int(self.y[i])

model = nn.Sequential(nn.Conv1d(1, 16, 7, padding=3), nn.ReLU(), nn.Conv1d(16, 16, 7, padding=3),
                      nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(16, CLASSES))
train_loader = DataLoader(Seqs(x_tr, y_tr, True), batch_size={batch}, shuffle=True)
val_loader = DataLoader(Seqs(x_va, y_va, False), batch_size=256, shuffle=False)
criterion = nn.CrossEntropyLoss()
optimizer = {optimizer}
'''

LOOP = '''
for epoch in range({epochs}):
    model.train(); total = 0.0; count = 0
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(yb); count += len(yb)
    model.eval(); vt = 0.0; vc = 0
    with torch.no_grad():
        for xb, yb in val_loader:
            vt += criterion(model(xb), yb).item() * len(yb); vc += len(yb)
    print(f"epoch {{epoch}} train_loss {{total / count:.4f}} val_loss {{vt / vc:.4f}}")
'''

AUGS = {
    "img_crop_flip": "random_crop, random_flip",
    "img_noise": "add_noise",
    "img_erase": "random_erase",
    "img_all": "random_crop, random_flip, random_erase",
    "tab_jitter": "jitter",
    "seq_jitter": "time_shift, jitter, scale",
}
SHIFTS = {
    "img": "x_va = np.clip(x_va * 1.6 + 0.25, 0, 2)",
    "tab": "x_va = x_va * 2.0 + 1.0",
    "seq": "x_va = x_va * 2.5 + 1.0",
}
BASES = {"img": IMAGES, "tab": TABULAR, "seq": SEQUENCES}


def script(kind: str, variant: str, seed: int) -> str:
    import random
    rng = random.Random(f"{kind}:{variant}:{seed}")
    family = kind.split("_")[0]
    opt = rng.choice(["torch.optim.Adam(model.parameters(), lr=1e-3)",
                      "torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)"])
    fields = dict(
        seed=seed, classes=rng.choice([4, 6, 8]), features=rng.choice([12, 20, 30]),
        n_train={"mem": 256, "tiny": 128}.get(variant) or rng.choice([600, 800, 1200]),
        n_val=rng.choice([200, 300]),
        batch=rng.choice([32, 64]), optimizer=opt,
        epochs={"mem": 30, "tiny": 40}.get(variant) or rng.choice([8, 10, 12]),
        noise=round(rng.uniform(0.1, 0.3), 2),
        augs="" if variant == "plain" else AUGS[kind],
        val_shift=SHIFTS[family] if variant == "shift" else "",
    )
    return HEAD.format(**fields) + BASES[family].format(**fields) + LOOP.format(**fields)


if __name__ == "__main__":
    out = Path(sys.argv[1])
    seeds = [int(s) for s in sys.argv[2].split(",")]
    variants = sys.argv[3].split(",")
    for kind in sys.argv[4].split(","):
        for seed in seeds:
            for variant in variants:
                folder = out / f"{kind}-{variant}-{seed}"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "train.py").write_text(script(kind, variant, seed))
