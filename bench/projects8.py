"""An eighth set of multi-file training projects (bench/projects8/), written apart from
lossdoctor in the layout of well-known repositories not used before: tkipf/pygcn (pygcn/layers.py,
models.py, utils.py, train.py: a two-layer graph convolutional network trained full-batch on a
citation graph, its loss on the training nodes and its validation on others of an evaluation
forward) and kuangliu/pytorch-cifar (main.py, models/, utils.py: CIFAR-10 training with SGD,
momentum, weight decay, a cosine schedule and a progress bar). Each is run healthy and with
injected bugs under `lossdoctor run --json`, one at a time (bench/projects.py runs them; same
options). Opt-in: never part of the test command.

    /work/venv-fw/bin/python bench/projects8.py [--only PATTERN ...] [--out PATH]
                                                [--keep-reports DIR] [--plain]

Both run on torch alone (pygcn also on NumPy and SciPy); the set was measured with /work/venv-fw's
Python (the runner runs every case with the Python that runs it). The projects and their bugs
(with the cause expected first) were written and committed before lossdoctor was run on them:
see bench/projects8/README.md for where each comes from, and the results.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import projects  # noqa: E402
from projects import HEALTHY, Case, _p, main  # noqa: E402

ROOT = Path(__file__).resolve().parent / "projects8"
GCN, CIFAR = "pygcn", "pytorch_cifar"
#: The data each project's README has in place before training, written from fixed seeds.
projects.PREPARE[GCN] = ("data/cora/make_cora.py",)
projects.PREPARE[CIFAR] = ("data/make_cifar10.py",)


def gcn(name: str, expected: str, args: tuple[str, ...] = (), patches: tuple = ()) -> Case:
    """A pygcn run: `python -m pygcn.train` from the project's folder (the original is run as
    `python train.py` from inside the installed package's folder)."""
    return Case(GCN, name, expected, "-m", ("pygcn.train", *args), patches)


#: pytorch-cifar's Normalize, and the same statistics in 0-255 units after ToTensor's 0-1.
NORMALIZE = "transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),"
NORMALIZE_255 = "transforms.Normalize((125.3, 123.0, 113.9), (63.0, 62.1, 66.7)),"
#: The repository's default --lr 0.1 suits its BatchNorm networks; LeNet, without BatchNorm,
#: needs less (at 0.1 it stays at chance: the repository's issues #13 and the like).
LENET_LR = ("--lr", "0.02")

#: pyGAT's (Diego999/pyGAT, built on pygcn) dense adjacency in place of pygcn's sparse one.
DENSE_ADJ = _p("pygcn/utils.py", ("    adj = sparse_mx_to_torch_sparse_tensor(adj)\n",
                                  "    adj = torch.FloatTensor(np.array(adj.todense()))\n"))


def dense(case: Case) -> Case:
    """``case`` with pygcn's adjacency as a dense tensor, as pyGAT loads it."""
    patches = case.patches
    if any(file == DENSE_ADJ[0] for file, _ in patches):
        patches = tuple((file, edits + DENSE_ADJ[1]) if file == DENSE_ADJ[0] else (file, edits)
                        for file, edits in patches)
    else:
        patches = (*patches, DENSE_ADJ)
    return Case(case.project, f"dense_{case.name}", case.expected, case.script, case.args,
                patches)


CASES: list[Case] = [
    # tkipf/pygcn: load_data() builds a row-normalized feature matrix and a normalized sparse
    # adjacency with self-loops; GCN (two GraphConvolution layers, dropout, log_softmax) trained
    # full-batch with Adam and F.nll_loss on output[idx_train]; each epoch a model.eval()
    # forward scored on idx_val
    gcn("healthy", HEALTHY),
    gcn("log_softmax_removed", "loss_mismatch", (),
        (_p("pygcn/models.py", ("        return F.log_softmax(x, dim=1)\n",
                                 "        return x\n")),)),
    gcn("weight_decay_5e-2", "over_regularized", ("--weight_decay", "5e-2")),
    gcn("labels_in_id_order", "no_signal", (),
        (_p("pygcn/utils.py",
             ("    labels = encode_onehot(idx_features_labels[:, -1])\n",
              "    by_id = np.argsort(idx_features_labels[:, 0].astype(np.int64))\n"
              "    labels = encode_onehot(idx_features_labels[by_id, -1])\n")),)),
    gcn("validated_without_eval", "train_eval_mode", (),
        (_p("pygcn/train.py", ("        model.eval()\n        output = model(features, adj)\n",
                                "        output = model(features, adj)\n")),)),
    gcn("hidden_2", "underfit_capacity", ("--hidden", "2")),
    # kuangliu/pytorch-cifar: main.py builds CIFAR10 loaders with RandomCrop, flips and
    # Normalize, trains a model of models/ (LeNet here) with SGD(momentum=0.9,
    # weight_decay=5e-4) and CosineAnnealingLR, tests under no_grad each epoch, prints a
    # progress bar (utils.progress_bar) and checkpoints the best accuracy
    Case(CIFAR, "healthy", HEALTHY, "main.py", LENET_LR),
    Case(CIFAR, "repo_default_lr_0.1", "lr_too_high", "main.py"),
    Case(CIFAR, "normalize_in_255_units", "unnormalized_inputs", "main.py", LENET_LR,
         (_p("main.py", *[(f"{before}    transforms.ToTensor(),\n    {NORMALIZE}",
                            f"{before}    transforms.ToTensor(),\n    {NORMALIZE_255}")
                           for before in ("    transforms.RandomHorizontalFlip(),\n",
                                          "transform_test = transforms.Compose([\n")]),)),
    Case(CIFAR, "zero_grad_per_epoch", "missing_zero_grad", "main.py", LENET_LR,
         (_p("main.py",
             ("    total = 0\n    for batch_idx, (inputs, targets) in enumerate(trainloader):\n"
              "        inputs, targets = inputs.to(device), targets.to(device)\n"
              "        optimizer.zero_grad()\n",
              "    total = 0\n    optimizer.zero_grad()\n"
              "    for batch_idx, (inputs, targets) in enumerate(trainloader):\n"
              "        inputs, targets = inputs.to(device), targets.to(device)\n")),)),
    Case(CIFAR, "sigmoid_lenet", "vanishing_gradients", "main.py", LENET_LR,
         (_p("models/lenet.py", *[(f"F.relu(self.{layer}(", f"F.sigmoid(self.{layer}(")
                                  for layer in ("conv1", "conv2", "fc1", "fc2")]),)),
]

#: The same pygcn runs with a dense adjacency (added after the first measurement: lossdoctor's
#: capture stops at pygcn's sparse one, see the README), to measure what it reads past that.
CASES += [dense(case) for case in CASES if case.project == GCN]


if __name__ == "__main__":
    sys.exit(main(CASES, ROOT, __doc__))
