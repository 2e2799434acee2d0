# lossdoctor-expect: lr_too_high
"""omoindrot/tensorflow-triplet-loss#6 (https://github.com/omoindrot/tensorflow-triplet-loss/issues/6):
three fully connected layers (each with a ReLU, as tf.layers.dense(..., activation=relu))
learn 64-d embeddings of 512-d video features in 0-1 (3,000 clusters
there) with the repository's batch-all triplet loss; "the triplet loss becomes the value of the
margin after several steps, and the embeddings of anchor, positive and negative are the same".
The answer: a loss stuck at exactly the margin means every embedding collapsed to one point;
reduce the learning rate until the training does not collapse. Written in PyTorch with the
repository's batch-all loss (mean over the positive triplets), plain SGD at 3.0: after the
first steps the loss is 0.5000, the margin, on training and validation alike, every epoch."""

import torch
import torch.nn as nn

torch.manual_seed(0)
N_CLUSTERS, PER_CLUSTER, DIM, MARGIN = 40, 24, 512, 0.5
prototypes = torch.rand(N_CLUSTERS, DIM)


def make(per_cluster):
    labels = torch.arange(N_CLUSTERS).repeat_interleave(per_cluster)
    feats = (prototypes[labels] + 0.25 * torch.randn(len(labels), DIM)).clamp(0, 1)
    return feats, labels


def pairwise_distances(embeddings):
    dot = embeddings @ embeddings.t()
    sq = dot.diagonal()
    dist = (sq[None, :] - 2.0 * dot + sq[:, None]).clamp(min=0.0)
    mask = (dist == 0.0).float()
    return (dist + mask * 1e-16).sqrt() * (1.0 - mask)


def batch_all_triplet_loss(labels, embeddings, margin):
    dist = pairwise_distances(embeddings)
    triplet_loss = dist[:, :, None] - dist[:, None, :] + margin
    same = labels[None, :] == labels[:, None]
    eye = torch.eye(len(labels), dtype=torch.bool)
    valid = (same & ~eye)[:, :, None] & (~same)[:, None, :]
    triplet_loss = (triplet_loss * valid.float()).clamp(min=0.0)
    num_positive = (triplet_loss > 1e-16).float().sum()
    return triplet_loss.sum() / (num_positive + 1e-16)


model = nn.Sequential(nn.Linear(DIM, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                      nn.Linear(128, 64), nn.ReLU())  # every dense layer with activation=relu
optimizer = torch.optim.SGD(model.parameters(), lr=3.0)
x_train, y_train = make(PER_CLUSTER)
x_val, y_val = make(6)
for epoch in range(15):
    model.train()
    perm = torch.randperm(len(x_train))
    total = 0.0
    for i in range(0, len(perm), 64):
        idx = perm[i:i + 64]
        loss = batch_all_triplet_loss(y_train[idx], model(x_train[idx]), MARGIN)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    model.eval()
    with torch.no_grad():
        emb = model(x_val)
        val_loss = batch_all_triplet_loss(y_val, emb, MARGIN).item()
        spread = pairwise_distances(emb).mean().item()
    print(f"epoch {epoch}: loss {total / len(perm):.4f}  val_loss {val_loss:.4f}  "
          f"mean embedding distance {spread:.4f}")
