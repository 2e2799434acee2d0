"""How well the training-split test (capture/train_split.py) tells random windows of a text's
training part from windows of its held-out part, as nanoGPT's estimate_loss() draws them.

    python bench/train_split_text.py [TEXT ...]

Each text (default: the GPL-3 licence and vim's version8.txt, where the machine has them) is
split 90/10 by characters; 128 batches of 32 random windows of the training part stand for the
captured training sample; 20 batches of each part are then judged. Per window length it prints
the sample's repeat share, each part's mean short and long shares, and how many of the 20
batches the test calls the training data's (the share of a short sketch alone, as before
session 17, beside it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import torch

from lossdoctor.capture import train_split

TEXTS = (Path("/usr/share/common-licenses/GPL-3"), Path("/usr/share/vim/vim90/doc/version8.txt"))
WINDOWS = (8, 64, 256)
ROWS, SAMPLE_BATCHES, JUDGED = 32, 128, 20


def measure(ids: torch.Tensor, block: int, generator: torch.Generator) -> str:
    cut = int(0.9 * len(ids))
    parts = {"training": ids[:cut], "held out": ids[cut:]}

    def batch(data):
        starts = torch.randint(len(data) - block, (ROWS,), generator=generator).tolist()
        return torch.stack([data[i:i + block] for i in starts])

    sample = [SimpleNamespace(args=(batch(parts["training"]),), kwargs={}, target=None)
              for _ in range(SAMPLE_BATCHES)]
    training = train_split.training_hashes(sample)
    cells = [f"{block} | {training.repeat_share:.2f}"]
    for data in parts.values():
        signed = [train_split.signature((batch(data),), {})[0] for _ in range(JUDGED)]
        short = [train_split._share(s.short, training.short(0)) for s in signed]
        long = [train_split._share(s.long, training.long) for s in signed]
        now = sum(train_split.of_training_data([s], training) for s in signed)
        before = sum(x >= train_split.TRAIN_SHARE for x in short)
        cells.append(f"{sum(short) / JUDGED:.2f} | {sum(long) / JUDGED:.2f} | {now}/{JUDGED} | "
                     f"{before}/{JUDGED}")
    return " | ".join(cells)


def main(paths: list[Path]) -> None:
    print("| text | window | repeat share | training: short | long | called training | before "
          "| held out: short | long | called training | before |")
    print("| --- " * 11 + "|")
    for path in paths:
        text = path.read_text(encoding="latin-1")
        letters = sorted(set(text))
        ids = torch.tensor([letters.index(c) for c in text])
        for block in WINDOWS:
            generator = torch.Generator().manual_seed(0)
            print(f"| {path.name} | {measure(ids, block, generator)} |")


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or [p for p in TEXTS if p.exists()])
